#!/usr/bin/python3
"""The benchmark suite: one command, gad against the PyTorch reference in the
same run, written to bench/RESULTS.md and bench/RESULTS.json.

    /usr/bin/python3 bench/run.py [--build build-bench] [--quick] [--cases LIST]

--cases runs some cases only (names in CASES below; the sgemm yardstick
always runs) and writes bench/work/RESULTS-cases.{md,json} instead, so a
partial run never replaces the full results.

Needs a Release build with the bench helpers (GAD_BUILD_BENCH=ON):
    cmake -S . -B build-bench -DCMAKE_BUILD_TYPE=Release && cmake --build build-bench -j
and the exported models (made on demand by tools/export_bench_models.py into
bench/models/). Inputs are written to bench/work/ (ignored by git) so that
every command printed in the results can be rerun as is.

Method (also written into RESULTS.md):
- Timings are the best of --repeats runs (3; the vgg16 pair runs --heavy-repeats
  times) because the machine is shared and noisy.
- gad images/s = images / (wall time of `gad attribute` - wall time of
  `gad predict` on one image, which is process start + model load + one
  forward). PyTorch images/s = images / time of the IG loop in bench/ig_torch.py
  (model loading and one warm-up gradient chunk excluded).
- FLOP model: one IG step costs 2 x the forward FLOPs: the forward, plus
  the backward to the input only, whose convolutions (backward-data) and
  inner products do the forward's multiply-adds once more; no weight
  gradients are computed (neither engine needs them for IG: PyTorch's
  parameters are frozen in bench/ig_torch.py). Achieved GFLOP/s =
  2 x forward FLOPs (`gad info --json`) x steps x images/s / 1e9; the two
  extra forwards per image (F(x), F(baseline)) are not counted.
- Peak resident memory: /usr/bin/time -f %M of the whole process, for both.
"""
import argparse
import gzip
import json
import os
import platform
import shlex
import struct
import subprocess
import sys
import tempfile
import time

import numpy as np

# An IG step = forward + backward to the input (see the docstring).
STEP_FLOPS = 2
CASES = ("simd", "ig_demo", "ig_resnet18", "ig_vgg16", "threads", "batches", "memory", "fit",
         "ig_demo_1thread", "ig_resnet18_1thread", "fit_1thread", "bf16", "tolerance", "convrate")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
PY = "/usr/bin/python3"
FASHION = "/usr/share/datasets/fashion-mnist"
DEMO = os.path.join(ROOT, "tools", "demo", "fashion_cnn.onnx")
LABELS = os.path.join(ROOT, "tools", "demo", "labels.txt")


def rel(p):
    return os.path.relpath(p, ROOT)


def cmdline(argv):
    return shlex.join([rel(a) if os.path.isabs(a) and a.startswith(ROOT) else a for a in argv])


def run(argv, env=None):
    """Wall time, peak RSS (MB) and stdout of one process."""
    with tempfile.NamedTemporaryFile("r", suffix=".time") as tf:
        full = ["/usr/bin/time", "-f", "%M", "-o", tf.name] + argv
        t0 = time.perf_counter()
        p = subprocess.run(full, cwd=ROOT, capture_output=True, text=True,
                           env=dict(os.environ, **(env or {})))
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError("failed (%d): %s\n%s" % (p.returncode, cmdline(argv), p.stderr[-2000:]))
        kb = float(open(tf.name).read().strip().splitlines()[-1])
    return wall, kb / 1024.0, p.stdout


def best_of(n, argv):
    runs = [run(argv) for _ in range(n)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2], [r[0] for r in runs]


def read_idx(name):
    with gzip.open(os.path.join(FASHION, name), "rb") as f:
        raw = f.read()
    nd = raw[3]
    dims = struct.unpack(">" + "I" * nd, raw[4:4 + 4 * nd])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * nd).reshape(dims)


def read_float_tiff(path):
    """The float TIFFs gad writes (uncompressed, contiguous, strips) as an
    H x W x C array; enough of TIFF for them, no external package."""
    b = open(path, "rb").read()
    e = "<" if b[:2] == b"II" else ">"
    off = struct.unpack(e + "I", b[4:8])[0]
    tags = {}
    for i in range(struct.unpack(e + "H", b[off:off + 2])[0]):
        ent = off + 2 + 12 * i
        tag, typ, cnt = struct.unpack(e + "HHI", b[ent:ent + 8])
        fmt, size = {3: ("H", 2), 4: ("I", 4)}.get(typ, ("I", 4))
        at = ent + 8 if cnt * size <= 4 else struct.unpack(e + "I", b[ent + 8:ent + 12])[0]
        tags[tag] = struct.unpack(e + fmt * cnt, b[at:at + cnt * size])
    if tags.get(259, (1,))[0] != 1 or tags.get(339, (3,))[0] != 3 or tags.get(258, (32,))[0] != 32:
        raise ValueError("%s: not an uncompressed 32-bit float TIFF" % path)
    w, h, c = tags[256][0], tags[257][0], tags.get(277, (1,))[0]
    data = b"".join(b[o:o + k] for o, k in zip(tags[273], tags[279]))
    return np.frombuffer(data, dtype=e + "f4", count=w * h * c).reshape(h, w, c)


def pngs(folder):
    return sorted(os.path.join(folder, f) for f in os.listdir(folder) if f.endswith(".png"))


def fresh(folder):
    os.makedirs(folder, exist_ok=True)
    for f in pngs(folder):
        os.remove(f)
    return folder


def write_inputs(work, n_rgb, n_vgg, n_demo):
    """Folders of PNGs both engines read: the suite passes folders, so the
    printed commands stay short and can be rerun."""
    from PIL import Image
    rng = np.random.default_rng(0)
    noise = [rng.integers(0, 256, (224, 224, 3), dtype=np.uint8) for _ in range(max(n_rgb, n_vgg, 1))]
    sets = []
    for name, n in (("rgb224", n_rgb), ("rgb224-vgg", n_vgg), ("rgb224-one", 1)):
        d = fresh(os.path.join(work, name))
        for i in range(n):
            Image.fromarray(noise[i]).save(os.path.join(d, "noise%02d.png" % i))
        sets.append(d)
    demo = fresh(os.path.join(work, "fashion28"))
    xt = read_idx("t10k-images-idx3-ubyte.gz")
    for i in range(n_demo):
        Image.fromarray(xt[i]).save(os.path.join(demo, "t10k-%05d.png" % i))
    fit = os.path.join(work, "fit")
    # The GAD pair of the demo: Shirt (6) vs T-shirt/top (0), training set,
    # folders named by class index (gad fit --labels maps them).
    x, y = read_idx("train-images-idx3-ubyte.gz"), read_idx("train-labels-idx1-ubyte.gz")
    for c in (6, 0):
        d = os.path.join(fit, str(c))
        os.makedirs(d, exist_ok=True)
        if len(os.listdir(d)) != int((y == c).sum()):
            for i in np.nonzero(y == c)[0]:
                Image.fromarray(x[i]).save(os.path.join(d, "%05d.png" % i))
    return sets[0], sets[1], sets[2], demo, fit


class Suite:
    def __init__(self, args):
        self.args = args
        self.build = os.path.abspath(args.build)
        self.gad = os.path.join(self.build, "gad")
        self.nproc = os.cpu_count()
        self.work = os.path.join(HERE, "work")
        self.res = {"machine": {}, "method": {}, "cases": {}}
        self.flops = {}
        self.load = {}
        partial = set(args.cases) != set(CASES)
        self.out = os.path.join(self.work, "RESULTS-cases") if partial else os.path.join(HERE, "RESULTS")
        os.makedirs(self.work, exist_ok=True)

    def log(self, msg):
        # The load average shows how much other work shared the cores.
        print("[%s load %.1f] %s" % (time.strftime("%H:%M:%S"), os.getloadavg()[0], msg), flush=True)

    def info(self, model):
        if model not in self.flops:
            _, _, out = run([self.gad, "info", "--model", model, "--json"])
            self.flops[model] = json.loads(out)["flops"]
        return self.flops[model]

    def load_time(self, model, image, threads):
        key = (model, threads)
        if key not in self.load:
            argv = [self.gad, "predict", "--model", model, "--threads", str(threads), image]
            self.load[key] = best_of(self.args.repeats, argv)[0]
        return self.load[key]

    def gad_ig(self, model, folder, steps, threads, batch, repeats, tag, extra=()):
        images = pngs(folder)
        out = os.path.join(self.work, "out", tag)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        argv = [self.gad, "attribute", "--model", model, "--method", "ig", "--steps", str(steps),
                "--quadrature", self.args.quadrature, "--threads", str(threads), "--batch", str(batch),
                *extra, "--out", out, folder]
        wall, rss, _, walls = best_of(repeats, argv)
        load = self.load_time(model, images[0], threads)
        secs = max(wall - load, 1e-9)
        rows = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
        ips = len(images) / secs
        return {"out": out, "rel_deltas": [r["rel_delta"] for r in rows],"images_per_s": ips, "wall_s": wall, "walls_s": walls, "load_s": load,
                "images_per_s_raw": len(images) / wall, "peak_rss_mb": rss,
                "median_rel_delta": float(np.median([r["rel_delta"] for r in rows])),
                "gflops": STEP_FLOPS * self.info(model) * steps * ips / 1e9, "command": cmdline(argv)}

    def torch_ig(self, model, folder, steps, threads, repeats):
        argv = [PY, os.path.join(HERE, "ig_torch.py"), "--model", model, "--steps", str(steps),
                "--quadrature", self.args.quadrature, "--internal-batch", str(self.args.internal_batch),
                "--threads", str(threads), folder]
        runs = [run(argv) for _ in range(repeats)]
        outs = [json.loads(r[2]) for r in runs]
        best = max(outs, key=lambda o: o["images_per_s"])
        ips = best["images_per_s"]
        return {"images_per_s": ips, "seconds": best["seconds"], "all_seconds": [o["seconds"] for o in outs],
                "peak_rss_mb": max(r[1] for r in runs), "median_rel_delta": best["median_rel_delta"],
                "gflops": STEP_FLOPS * self.info(model) * steps * ips / 1e9, "command": cmdline(argv)}

    # ---- cases --------------------------------------------------------------
    def sgemm(self, again=False):
        """Measured at the start and again at the end of the suite, keeping
        the best, so that a busy spell on the shared cores does not lower the
        yardstick (which would flatter the IG shares)."""
        argv = [os.path.join(self.build, "bench", "sgemm"), str(self.args.gemm_n), "5"]
        best = self.res["cases"].get("sgemm") if again else None
        for _ in range(self.args.repeats):
            o = json.loads(run(argv)[2])
            if best is None:
                best = o
            best["gflops_1"] = max(best["gflops_1"], o["gflops_1"])
            best["gflops_n"] = max(best["gflops_n"], o["gflops_n"])
            if "bf16_gflops_1" in best:
                best["bf16_gflops_1"] = max(best["bf16_gflops_1"], o["bf16_gflops_1"])
                best["bf16_gflops_n"] = max(best["bf16_gflops_n"], o["bf16_gflops_n"])
        best["command"] = cmdline(argv)
        self.res["cases"]["sgemm"] = best
        self.peak = best["gflops_n"]
        self.log("sgemm: %.1f GFLOP/s on 1 thread, %.1f on %d; bf16 matmul %s"
                 % (best["gflops_1"], best["gflops_n"], self.nproc,
                    "%.1f and %.1f (%s)" % (best["bf16_gflops_1"], best["bf16_gflops_n"], best["bf16_impl"])
                    if "bf16_gflops_1" in best else best.get("bf16_unsupported", "not measured")))

    def simd(self):
        argv = [os.path.join(self.build, "bench", "simd_bench"), "64", "10"]
        best = None
        for _ in range(self.args.repeats):
            o = json.loads(run(argv)[2])
            if best is None:
                best = o
            else:
                for b, k in zip(best["kernels"], o["kernels"]):
                    b["gb_s"] = max(b["gb_s"], k["gb_s"])
                    b["memcpy_gb_s"] = max(b["memcpy_gb_s"], k["memcpy_gb_s"])
        for k in best["kernels"]:
            k["ratio"] = k["gb_s"] / k["memcpy_gb_s"]
        best["command"] = cmdline(argv)
        self.res["cases"]["simd"] = best
        self.log("simd: " + ", ".join("%s %.2f" % (k["kernel"], k["ratio"]) for k in best["kernels"]))

    def ig_pair(self, name, model, folder, repeats, threads=None):
        t = threads or self.nproc
        images = pngs(folder)
        g = self.gad_ig(model, folder, 50, t, self.args.batch, repeats, "ig-" + name)
        p = self.torch_ig(model, folder, 50, t, repeats)
        case = {"model": rel(model), "images": len(images), "steps": 50, "threads": t,
                "quadrature": self.args.quadrature, "forward_flops": self.info(model),
                "gad": g, "pytorch": p, "ratio": g["images_per_s"] / p["images_per_s"],
                "gad_share_of_sgemm": g["gflops"] / self.peak, "pytorch_share_of_sgemm": p["gflops"] / self.peak,
                "repeats": repeats}
        key = "ig50_" + name + ("_%dthread" % t if threads else "")
        self.res["cases"][key] = case
        self.log("IG-50 %s, %d thread(s): gad %.3f img/s (%.1f GFLOP/s), pytorch %.3f img/s (%.1f GFLOP/s), ratio %.2f"
                 % (name, t, g["images_per_s"], g["gflops"], p["images_per_s"], p["gflops"], case["ratio"]))

    def threads(self, model, folder):
        images = pngs(folder)
        rows = []
        for t in range(1, self.nproc + 1):
            g = self.gad_ig(model, folder, 50, t, self.args.batch, self.args.repeats, "threads-%d" % t)
            rows.append({"threads": t, "images_per_s": g["images_per_s"], "gflops": g["gflops"],
                         "command": g["command"]})
        for r in rows:
            r["speedup"] = r["images_per_s"] / rows[0]["images_per_s"]
        self.res["cases"]["thread_scaling"] = {"model": rel(model), "images": len(images), "steps": 50, "rows": rows}
        self.log("threads: " + ", ".join("%d: %.3f img/s (x%.2f)" % (r["threads"], r["images_per_s"], r["speedup"])
                                         for r in rows))

    def batches(self, model, folder):
        images = pngs(folder)
        rows = []
        for b in self.args.batches:
            g = self.gad_ig(model, folder, 50, self.nproc, b, self.args.repeats, "batch-%d" % b)
            rows.append({"batch": b, "images_per_s": g["images_per_s"], "peak_rss_mb": g["peak_rss_mb"],
                         "command": g["command"]})
        self.res["cases"]["batch_sweep"] = {"model": rel(model), "images": len(images), "steps": 50,
                                            "threads": self.nproc, "rows": rows}
        self.log("batch: " + ", ".join("%d: %.3f img/s" % (r["batch"], r["images_per_s"]) for r in rows))

    def memory(self, model, folder):
        # gad's memory is set by the points a plan runs at once (--batch,
        # capped by the points an image needs): the automatic --batch (the
        # suite's default, --batch 0) runs resnet18 one point at a time for
        # every step count, the configuration the IG pairs time; an explicit
        # --batch above 8 would be capped at 8 for the 8-step run only
        batch = self.args.batch if self.args.batch <= 8 else 8
        rows = []
        for s in (8, 50, 256):
            g = self.gad_ig(model, folder, s, self.nproc, batch, 1, "mem-%d" % s)
            p = self.torch_ig(model, folder, s, self.nproc, 1)
            rows.append({"steps": s, "gad_mb": g["peak_rss_mb"], "pytorch_mb": p["peak_rss_mb"],
                         "ratio": g["peak_rss_mb"] / p["peak_rss_mb"],
                         "gad_command": g["command"], "pytorch_command": p["command"]})
        self.res["cases"]["memory"] = {"model": rel(model), "images": 1, "threads": self.nproc,
                                       "batch": batch, "internal_batch": self.args.internal_batch,
                                       "rows": rows, "gad_growth_8_to_256": rows[-1]["gad_mb"] / rows[0]["gad_mb"] - 1}
        self.log("memory: " + ", ".join("%d steps gad %.0f MB pytorch %.0f MB" % (r["steps"], r["gad_mb"], r["pytorch_mb"])
                                        for r in rows))

    def fit(self, data, threads=None):
        t = threads or self.nproc
        out = os.path.join(self.work, "out", "fit-%d" % t)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        g_argv = [self.gad, "fit", "--model", DEMO, "--data", data, "--labels", LABELS, "--pair", "6,0",
                  "--levels", "1", "--epochs", "1", "--batch", "32", "--lr", "1e-3", "--optimizer", "adam",
                  "--min-fidelity", "0", "--threads", str(t), "--quiet", "--out", out]
        p_argv = [PY, os.path.join(HERE, "fit_torch.py"), "--model", DEMO, "--data", data, "--pair", "6,0",
                  "--level", "1", "--epochs", "1", "--batch", "32", "--lr", "1e-3", "--threads", str(t)]
        gs, ps = [], []
        for _ in range(self.args.repeats):
            wall, rss, _ = run(g_argv)
            fj = json.load(open(os.path.join(out, "fit.json")))
            gs.append({"epoch_s": fj["levels"][0]["seconds"], "total_s": fj["seconds"], "wall_s": wall, "rss": rss})
            wall, rss, o = run(p_argv)
            o = json.loads(o)
            ps.append({"epoch_s": o["epoch_seconds"], "total_s": o["load_seconds"] + o["reference_seconds"]
                       + o["epoch_seconds"], "wall_s": wall, "rss": rss})
        g = {k: min(x[k] for x in gs) for k in gs[0]}
        p = {k: min(x[k] for x in ps) for k in ps[0]}
        g["command"], p["command"] = cmdline(g_argv), cmdline(p_argv)
        self.res["cases"]["fit" + ("_%dthread" % t if threads else "")] = {
                                    "threads": t, "images": fj["images"], "train": fj["train"], "holdout": fj["holdout"],
                                    "gad": g, "pytorch": p, "ratio_epoch": p["epoch_s"] / g["epoch_s"],
                                    "ratio_wall": p["wall_s"] / g["wall_s"]}
        self.log("fit, %d thread(s): gad %.2f s/epoch, pytorch %.2f s/epoch" % (t, g["epoch_s"], p["epoch_s"]))

    def bf16(self, model, folder):
        """--precision bf16 against gad f32 and the PyTorch f32 reference,
        back to back on the same images and threads, and its attribution
        error against gad f32 (the raw .attr.tiff of each image)."""
        t, reps = self.nproc, self.args.repeats
        case = {"model": rel(model), "images": len(pngs(folder)), "steps": 50, "threads": t}
        probe = [self.gad, "attribute", "--model", model, "--precision", "bf16", "--steps", "1", "--threads", "1",
                 "--out", os.path.join(self.work, "out", "bf16-probe"), pngs(folder)[0]]
        p = subprocess.run(probe, cwd=ROOT, capture_output=True, text=True)
        if p.returncode != 0:
            case["unsupported"] = p.stderr.strip().splitlines()[-1] if p.stderr.strip() else "exit %d" % p.returncode
            self.res["cases"]["bf16"] = case
            self.log("bf16: refused: " + case["unsupported"])
            return
        g32 = self.gad_ig(model, folder, 50, t, self.args.batch, reps, "bf16-f32")
        g16 = self.gad_ig(model, folder, 50, t, self.args.batch, reps, "bf16-bf16", extra=("--precision", "bf16"))
        pt = self.torch_ig(model, folder, 50, t, reps)
        errs = []
        for img in pngs(folder):
            stem = os.path.splitext(os.path.basename(img))[0] + ".attr.tiff"
            a32 = read_float_tiff(os.path.join(g32["out"], stem)).astype(np.float64)
            a16 = read_float_tiff(os.path.join(g16["out"], stem)).astype(np.float64)
            errs.append(float(np.linalg.norm(a16 - a32) / max(np.linalg.norm(a32), 1e-30)))
        case.update({"gad_f32": g32, "gad_bf16": g16, "pytorch": pt, "rel_l2": errs,
                     "worst_rel_l2": max(errs),
                     "ratio_pytorch": g16["images_per_s"] / pt["images_per_s"],
                     "ratio_f32": g16["images_per_s"] / g32["images_per_s"],
                     "median_rel_delta_f32": float(np.median(g32["rel_deltas"])),
                     "median_rel_delta_bf16": float(np.median(g16["rel_deltas"]))})
        self.res["cases"]["bf16"] = case
        self.log("bf16: %.3f img/s vs gad f32 %.3f, pytorch %.3f (x%.2f); rel L2 worst %.4f"
                 % (g16["images_per_s"], g32["images_per_s"], pt["images_per_s"], case["ratio_pytorch"],
                    case["worst_rel_l2"]))

    def convrate(self, r18):
        """oneDNN convolution rates at resnet18's layer shapes (bench/convrate.c):
        f32 direct / Winograd / auto and bf16, forward and backward-data, mb 1
        and 25, 1 thread and all cores. resnet18's convolution layers (FLOPs,
        output shape from `gad info --json`) are kept to weight them."""
        argv = [os.path.join(self.build, "bench", "convrate"), "2" if self.args.quick else "5"]
        case = json.loads(run(argv)[2])
        case["command"] = cmdline(argv)
        _, _, out = run([self.gad, "info", "--model", r18, "--json"])
        info = json.loads(out)
        case["model"] = rel(r18)
        case["forward_flops"] = info["flops"]
        case["model_convs"] = [{"name": l["name"], "output": l["output"], "flops": l["flops"]}
                               for l in info["layers"] if l["op"] == "Conv"]
        self.res["cases"]["convrate"] = case
        self.log("convrate: isa %s, amx_bf16 %s, %d rows" % (case["isa"], case["cpuinfo_amx_bf16"], len(case["rows"])))

    def tolerance(self, r18, rgb, demo):
        """--tolerance 0.01 (adaptive IG) against fixed 50-point Gauss-Legendre:
        mean steps, median and worst relative completeness delta, images/s,
        and, since completeness only checks the attribution's sum, each
        run's attribution against a fine reference (fixed GL-256, run once):
        median relative L2 over the images. Both at gad's automatic --batch
        (1 for the adaptive rule, which adds one point at a time), all
        cores."""
        bundled = os.path.join(ROOT, "tools", "demo", "images")
        case = {"tolerance": 0.01, "threads": self.nproc, "models": []}
        for name, model, folders, repeats in (("demo", DEMO, [bundled, demo], self.args.repeats),
                                              ("resnet18", r18, [rgb], self.args.heavy_repeats)):
            n_img = sum(len(pngs(f)) for f in folders)
            load = self.load_time(model, pngs(folders[0])[0], self.nproc)
            row = {"model": rel(model), "images": n_img, "folders": [rel(f) for f in folders]}
            for tag, flags in (("ref256", ["--steps", "256", "--quadrature", "gausslegendre"]),
                               ("fixed50", ["--steps", "50", "--quadrature", "gausslegendre"]),
                               ("tolerance", ["--tolerance", "0.01"])):
                out = os.path.join(self.work, "out", "tol-%s-%s" % (name, tag))
                os.makedirs(os.path.dirname(out), exist_ok=True)
                argv = [self.gad, "attribute", "--model", model, "--method", "ig", *flags,
                        "--threads", str(self.nproc), "--out", out, *folders]
                wall = best_of(1 if tag == "ref256" else repeats, argv)[0]
                rows = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
                rd = [abs(r["rel_delta"]) for r in rows]
                row[tag] = {"mean_steps": float(np.mean([r["steps"] for r in rows])),
                            "median_rel_delta": float(np.median(rd)), "worst_rel_delta": float(max(rd)),
                            "images_per_s": n_img / max(wall - load, 1e-9), "command": cmdline(argv),
                            "out": out}
                if tag != "ref256":
                    errs = []
                    for r in rows:
                        stem = os.path.splitext(os.path.basename(r["image"]))[0] + ".attr.tiff"
                        ref = read_float_tiff(os.path.join(row["ref256"]["out"], stem)).astype(np.float64)
                        got = read_float_tiff(os.path.join(out, stem)).astype(np.float64)
                        errs.append(float(np.linalg.norm(got - ref) / max(np.linalg.norm(ref), 1e-30)))
                    row[tag]["median_rel_l2_vs_ref"] = float(np.median(errs))
            f, t = row["fixed50"], row["tolerance"]
            row["steps_ratio"] = f["mean_steps"] / t["mean_steps"]
            row["speed_ratio"] = t["images_per_s"] / f["images_per_s"]
            case["models"].append(row)
            self.log("tolerance 0.01, %s: %.1f steps (fixed 50), median rel delta %.2e (fixed %.2e), %.2f img/s "
                     "(fixed %.2f)" % (name, t["mean_steps"], t["median_rel_delta"], f["median_rel_delta"],
                                       t["images_per_s"], f["images_per_s"]))
        self.res["cases"]["tolerance"] = case

    def main(self):
        a = self.args
        models = os.path.join(HERE, "models")
        r18, vgg = os.path.join(models, "resnet18.onnx"), os.path.join(models, "vgg16.onnx")
        if not (os.path.exists(r18) and os.path.exists(vgg)):
            self.log("exporting the models")
            subprocess.run([PY, os.path.join(ROOT, "tools", "export_bench_models.py"), models], check=True)
        rgb, vggf, one, demo, fitdata = write_inputs(self.work, a.images, a.vgg_images, a.demo_images)
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        import torch
        self.res["machine"] = {"cpu": cpu, "nproc": self.nproc, "kernel": platform.release(),
                               "torch": torch.__version__, "date": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime())}
        self.res["method"] = {"repeats": a.repeats, "heavy_repeats": a.heavy_repeats, "quadrature": a.quadrature,
                              "internal_batch": a.internal_batch, "gad_batch": a.batch,
                              "flop_model": "%d x forward FLOPs per IG step" % STEP_FLOPS,
                              "cases": list(a.cases)}
        t0 = time.perf_counter()
        self.res["machine"]["loadavg_start"] = os.getloadavg()
        self.sgemm()
        steps = [("simd", lambda: self.simd()),
                 ("ig_demo", lambda: self.ig_pair("demo", DEMO, demo, a.repeats)),
                 ("ig_resnet18", lambda: self.ig_pair("resnet18", r18, rgb, a.repeats)),
                 ("ig_vgg16", lambda: self.ig_pair("vgg16", vgg, vggf, a.heavy_repeats)),
                 ("bf16", lambda: self.bf16(r18, rgb)),
                 ("convrate", lambda: self.convrate(r18)),
                 ("threads", lambda: self.threads(r18, rgb)),
                 ("batches", lambda: self.batches(r18, rgb)),
                 ("memory", lambda: self.memory(r18, one)),
                 ("fit", lambda: self.fit(fitdata)),
                 # One thread each: the comparison least disturbed by other work on the cores.
                 ("ig_demo_1thread", lambda: self.ig_pair("demo", DEMO, demo, a.repeats, threads=1)),
                 ("ig_resnet18_1thread", lambda: self.ig_pair("resnet18", r18, rgb, a.repeats, threads=1)),
                 ("fit_1thread", lambda: self.fit(fitdata, threads=1)),
                 ("tolerance", lambda: self.tolerance(r18, rgb, demo))]
        for name, fn in steps:
            if name in a.cases:
                fn()
        self.sgemm(again=True)
        for k, x in self.res["cases"].items():
            if k.startswith("ig50_"):
                x["gad_share_of_sgemm"] = x["gad"]["gflops"] / self.peak
                x["pytorch_share_of_sgemm"] = x["pytorch"]["gflops"] / self.peak
        self.res["suite_seconds"] = time.perf_counter() - t0
        self.res["machine"]["loadavg_end"] = os.getloadavg()
        with open(self.out + ".json", "w") as f:
            json.dump(self.res, f, indent=1)
        with open(self.out + ".md", "w") as f:
            f.write(report(self.res))
        self.log("wrote %s.md and %s.json (%.0f s)" % (rel(self.out), rel(self.out), self.res["suite_seconds"]))


def targets(c):
    """The issue's fp32 targets that this suite measures, read off this run."""
    out = []
    r18 = c.get("ig50_resnet18")
    if r18:
        out.append(("resnet18 IG-50 >= 1.5x PyTorch images/s", "%.2fx" % r18["ratio"], r18["ratio"] >= 1.5))
        out.append(("resnet18 IG-50 >= 70 % of sgemm GFLOP/s", "%.0f %%" % (100 * r18["gad_share_of_sgemm"]),
                    r18["gad_share_of_sgemm"] >= 0.7))
    mem = c.get("memory")
    if mem:
        row = [x for x in mem["rows"] if x["steps"] == 50][0]
        out.append(("resnet18 peak RSS <= 1/3 of PyTorch's (50 steps)", "%.2f" % row["ratio"], row["ratio"] <= 1 / 3))
        g = mem["gad_growth_8_to_256"]
        out.append(("memory flat in steps (within 10 %, 8 to 256)", "%+.0f %%" % (100 * g), abs(g) <= 0.10))
    th = c.get("thread_scaling")
    if th and len(th["rows"]) > 1:
        sp = th["rows"][1]["speedup"]
        out.append(("2-thread speed-up >= 1.9x on a batch of images", "%.2fx" % sp, sp >= 1.9))
    bf = c.get("bf16")
    if bf and "unsupported" not in bf:
        out.append(("--precision bf16 >= 4x PyTorch f32 images/s", "%.2fx" % bf["ratio_pytorch"],
                    bf["ratio_pytorch"] >= 4))
        out.append(("--precision bf16 attribution error <= 2 % rel. L2 vs f32", "worst %.2f %%"
                    % (100 * bf["worst_rel_l2"]), bf["worst_rel_l2"] <= 0.02))
    tol = c.get("tolerance")
    for x in (tol or {}).get("models", []):
        ok = x["steps_ratio"] >= 2 and x["tolerance"]["median_rel_delta"] <= x["fixed50"]["median_rel_delta"]
        out.append(("--tolerance 0.01 (%s): >= 2x fewer steps than fixed 50, median completeness delta no worse"
                    % x["model"], "%.1fx fewer, median %.2g vs %.2g%s" % (x["steps_ratio"],
                    x["tolerance"]["median_rel_delta"], x["fixed50"]["median_rel_delta"],
                    " (the attribution itself: %.2g rel. L2 from GL-256's, fixed 50: %.2g)"
                    % (x["tolerance"]["median_rel_l2_vs_ref"], x["fixed50"]["median_rel_l2_vs_ref"])
                    if "median_rel_l2_vs_ref" in x["tolerance"] else ""), ok))
    sm = c.get("simd")
    if sm:
        worst = min(sm["kernels"], key=lambda k: k["ratio"])
        out.append(("every SIMD kernel >= 80 % of memcpy GB/s", "worst %s %.2f" % (worst["kernel"], worst["ratio"]),
                    worst["ratio"] >= 0.8))
    return out


CONV_VARIANTS = ("f32_direct", "f32_winograd", "f32_auto", "bf16")


def conv_table(cv):
    """{(shape, mb, direction, variant, threads): row} of a convrate case."""
    return {(x["shape"], x["mb"], x["direction"], x["variant"], x["threads"]): x for x in cv["rows"]}


def conv_layers(cv):
    """resnet18's convolution layers, each with the convrate shape whose rates
    stand for it (the one with its output size) and whether it is that shape
    (FLOPs within 1 %; the stride-2 3x3 and 1x1 downsample layers of a stage
    are not, and are charged the stage's direct rates: no Winograd for them)."""
    shapes = {}
    for x in cv["rows"]:
        shapes[(x["oc"], x["hw"] // x["stride"])] = (x["shape"], 2.0 * x["macs"] / x["mb"])
    out = []
    for l in cv["model_convs"]:
        s = shapes.get((l["output"][0], l["output"][1]))
        if s:
            out.append({"flops": l["flops"], "shape": s[0], "exact": abs(l["flops"] - s[1]) <= 0.01 * s[1]})
    return out


def bf16_ceilings(c):
    """Upper bounds on an all-bf16 engine's speed over the PyTorch f32 reference
    on resnet18 IG (same FLOPs, this run's figures), or None without the data.
    Generous on purpose: n-thread rates are max(measured, n x the 1-thread
    rate), the conv bound takes each layer's best batch (1 or 25) and charges
    nothing for non-convolution layers."""
    cv, s = c.get("convrate"), c.get("sgemm", {})
    src = c.get("bf16") if "pytorch" in c.get("bf16", {}) else c.get("ig50_resnet18")
    if not cv or not src or "bf16_gflops_1" not in s:
        return None
    n = cv["threads"]
    pt = src["pytorch"]["gflops"]
    gemm = max(s["bf16_gflops_n"], n * s["bf16_gflops_1"])
    t = conv_table(cv)

    def rate(shape, direction):
        best = 0.0
        for mb in (1, 25):
            one, many = t.get((shape, mb, direction, "bf16", 1)), t.get((shape, mb, direction, "bf16", n))
            if one and many and "gflops" in one and "gflops" in many:
                best = max(best, many["gflops"], n * one["gflops"])
        return best

    # the fastest bf16 convolution measured, as if every FLOP ran at its rate
    peak = max([rate(sh, d) for sh in {x["shape"] for x in cv["rows"]} for d in ("forward_training", "backward_data")]
               or [0.0])
    layers = conv_layers(cv)
    rates = [(l["flops"], rate(l["shape"], "forward_training"), rate(l["shape"], "backward_data")) for l in layers]
    # no bf16 convolution on this CPU (or a layer without a shape): no conv bound
    secs = sum(f / a + f / b for f, a, b in rates) if rates and all(a and b for _, a, b in rates) else None
    pt_secs = STEP_FLOPS * cv["forward_flops"] / pt
    return {"pytorch_gflops": pt, "threads": n, "gemm_gflops": gemm, "gemm_ceiling": gemm / pt,
            "conv_ceiling": pt_secs / secs if secs else None, "peak_gflops": peak, "peak_ceiling": peak / pt,
            "conv_share": sum(l["flops"] for l in layers) / cv["forward_flops"]}


def ceiling_lines(c, w):
    b = bf16_ceilings(c)
    if not b:
        return
    w("**bf16 ceilings on this CPU** = bf16 GFLOP/s / PyTorch f32 GFLOP/s on resnet18 from this run (%.1f), same "
      "FLOPs; %d-thread rates taken as max(measured, %d x the 1-thread rate):\n"
      % (b["pytorch_gflops"], b["threads"], b["threads"]))
    w("- bf16 peak (%d threads, gemm) %.1f GFLOP/s: **%.2f**." % (b["threads"], b["gemm_gflops"], b["gemm_ceiling"]))
    if b["conv_ceiling"]:
        w("- bf16 convolutions at resnet18's layer rates (convrate), weighted by its convolution FLOPs (%.1f %% of "
          "its FLOPs; forward and backward-data each at the better of mb 1 / mb 25; other layers free): **%.2f**."
          % (100 * b["conv_share"], b["conv_ceiling"]))
    if b["peak_gflops"]:
        w("- the fastest bf16 convolution measured (%.1f GFLOP/s) doing every FLOP: **%.2f**. An engine would have to "
          "run bf16 faster than any kernel measured here to exceed %.2f times the PyTorch reference with the same "
          "FLOPs." % (b["peak_gflops"], b["peak_ceiling"], b["peak_ceiling"]))
    w("\nPyTorch's figure comes from this run's shared cores: a busy spell lowers it and raises these bounds (see "
      "the load averages at the top).\n")


def winograd_gain(c, threads):
    """The f32 time per IG step (forward + backward-data, mb 1, THREADS
    threads) of resnet18's stride-1 3x3 convolutions, the only ones oneDNN's
    Winograd covers: direct, and with Winograd where it measured faster
    (which shape/direction pairs); None without the data."""
    cv = c.get("convrate")
    if not cv:
        return None
    t = conv_table(cv)
    direct = wino = flops = 0.0
    wins = set()
    for l in conv_layers(cv):
        if not l["exact"] or l["shape"].startswith("conv1"):
            continue
        flops += l["flops"]
        for d in ("forward_training", "backward_data"):
            r = t.get((l["shape"], 1, d, "f32_direct", threads), {}).get("gflops")
            if not r:
                return None
            wr = t.get((l["shape"], 1, d, "f32_winograd", threads), {}).get("gflops") or 0.0
            if wr > r:
                wins.add("%s %s" % (l["shape"], d.replace("_training", "")))
            direct += l["flops"] / r / 1e9
            wino += l["flops"] / max(r, wr) / 1e9
    return {"direct_s": direct, "winograd_s": wino, "share": flops / cv["forward_flops"], "wins": sorted(wins)}


def convrate_section(c, w):
    cv = c["convrate"]
    t = conv_table(cv)
    n = cv["threads"]
    w("## What bf16 and Winograd can give on this CPU\n")
    w("oneDNN's effective ISA: `%s`; /proc/cpuinfo lists avx512_bf16: %s, amx_bf16: %s. Without AMX, bf16 runs "
      "on AVX512_BF16 dot products (vdpbf16ps), at most 2 multiply-adds per f32 FMA slot.\n"
      % (cv["isa"], cv["cpuinfo_avx512_bf16"], cv["cpuinfo_amx_bf16"]))
    s = c.get("sgemm", {})
    if "bf16_gflops_1" in s:
        w("GEMM (N = %d): bf16 matmul / f32 sgemm = %.2fx on 1 thread, %.2fx on %d.\n"
          % (s["n"], s["bf16_gflops_1"] / s["gflops_1"], s["bf16_gflops_n"] / s["gflops_n"], s["threads"]))
    w("oneDNN convolutions at resnet18's shapes, GFLOP/s = 2 x direct multiply-adds / s (Winograd's too, so "
      "it can pass the FMA peak), the fastest of single timed runs (at least %d and %g s of them, after a "
      "warm-up), memory format `any`. bf16 = bf16 src/weights/diff_dst, f32 accumulation, output type (f32 or "
      "bf16) the faster accepted. Command: `%s`\n" % (cv["repeats"], cv.get("min_total_s", 0), cv["command"]))
    w("| threads | mb | shape | direction | f32 direct | f32 Winograd | f32 auto | bf16 (out) | bf16 / f32 direct "
      "| bf16 / best f32 |")
    w("|---|---|---|---|---|---|---|---|---|---|")
    shapes = list(dict.fromkeys(x["shape"] for x in cv["rows"]))
    impls = {}
    for th in (1, n) if n > 1 else (1,):
        for mb in (1, 25):
            for sh in shapes:
                for d in ("forward_training", "backward_data"):
                    row = {v: t.get((sh, mb, d, v, th), {}) for v in CONV_VARIANTS}
                    for v, x in row.items():
                        if "impl" in x:
                            impls.setdefault(v, set()).add(x["impl"])
                    cell = lambda x: "%.1f" % x["gflops"] if "gflops" in x else "unsupported (%s)" % x.get(
                        "unsupported", "not run")
                    bf, f32 = row["bf16"].get("gflops"), row["f32_direct"].get("gflops")
                    best = max([row[v]["gflops"] for v in CONV_VARIANTS[:3] if "gflops" in row[v]] or [0])
                    w("| %d | %d | %s | %s | %s | %s | %s | %s%s | %s | %s |" % (
                        th, mb, sh, d.replace("_training", ""), cell(row["f32_direct"]), cell(row["f32_winograd"]),
                        cell(row["f32_auto"]), cell(row["bf16"]),
                        " (%s)" % row["bf16"]["out_type"] if bf else "",
                        "%.2f" % (bf / f32) if bf and f32 else "-", "%.2f" % (bf / best) if bf and best else "-"))
    w("")
    w("Implementations: " + "; ".join("%s `%s`" % (v, "`, `".join(sorted(impls[v]))) for v in CONV_VARIANTS
                                      if v in impls) + ".\n")
    g = winograd_gain(c, 1)
    if g:
        w("- Winograd for f32 IG (one point at a time per thread: mb 1, 1 thread): resnet18's stride-1 3x3 "
          "convolutions (%.0f %% of its FLOPs) take %.1f ms per IG step (forward + backward-data) at these direct "
          "rates, %.1f ms with Winograd where it measured faster (%s): %.1f ms less. gad uses Winograd for 3x3 "
          "stride-1 convolutions with outputs of 28 x 28 or more and channels in multiples of 16 (the 56 x 56 and "
          "28 x 28 stages here; src/net/dnnl.c, wants_winograd), so the IG figures above include that gain."
          % (100 * g["share"], 1e3 * g["direct_s"], 1e3 * g["winograd_s"], ", ".join(g["wins"]) or "nowhere",
             1e3 * (g["direct_s"] - g["winograd_s"])))
    w("")
    if not c.get("bf16") or "unsupported" in c["bf16"]:
        ceiling_lines(c, w)


def report(r):
    c, m = r["cases"], r["machine"]
    L = []
    w = L.append
    w("# gad benchmark results\n")
    w("Generated by `/usr/bin/python3 bench/run.py` on %s: %s, %d cores, PyTorch %s (Debian)."
      % (m["date"], m["cpu"], m["nproc"], m["torch"]))
    w("Suite time %.0f s. Load average (1/5/15 min) at the start %s, at the end %s: other work shared the "
      "cores during the run, so absolute figures are pessimistic and ratios noisy.\n"
      % (r["suite_seconds"], "/".join("%.1f" % v for v in m["loadavg_start"]),
         "/".join("%.1f" % v for v in m["loadavg_end"])))
    w("## Against the targets of issue 6 (this run)\n")
    w("| target | measured | met |\n|---|---|---|")
    for name, value, ok in targets(c):
        w("| %s | %s | %s |" % (name, value, "yes" if ok else "**no**"))
    w("")
    w("## Method\n")
    w("- Every timing is the best of %d runs (the vgg16 pair: %d) on a shared machine; expect noise."
      % (r["method"]["repeats"], r["method"]["heavy_repeats"]))
    w("- Same tensors for both engines: PNG files in bench/work/ (224x224 seeded uniform noise for resnet18/vgg16, "
      "the first Fashion-MNIST test images for the demo model), read as 8-bit pixels / 255.")
    w("- IG: %s quadrature, black (zero) baseline, target = arg-max class; PyTorch evaluates %d points per "
      "autograd call (Captum's internal_batch_size), gad `--batch %d`. Same model file: PyTorch runs the ONNX "
      "graph through bench/onnx_torch.py (torch.nn.functional ops, same weights, BatchNorm folded as in the file)."
      % (r["method"]["quadrature"], r["method"]["internal_batch"], r["method"]["gad_batch"]))
    w("- gad images/s = images / (wall time of `gad attribute` - wall time of `gad predict` on one image, i.e. "
      "process start, model load and one forward). PyTorch images/s = images / time of the IG loop (model load "
      "and one warm-up gradient chunk excluded).")
    w("- FLOP model: an IG step costs %d x the forward FLOPs (`gad info --json`, a multiply-add = 2 FLOPs): the "
      "forward plus the backward to the input only (backward-data convolutions and inner products repeat the "
      "forward's multiply-adds; no weight gradients). GFLOP/s = %d x FLOPs x steps x images/s; the two extra "
      "forwards per image (F(x), F(x')) are not counted. Share = that over the sgemm GFLOP/s on all cores. "
      "Both engines are charged the same count, so gad's figure is an effective rate: its Winograd convolutions "
      "and its first layer run once an image (not once a point) do fewer multiply-adds than counted, and its "
      "share of sgemm can pass what direct kernels reach."
      % (STEP_FLOPS, STEP_FLOPS))
    w("- Peak resident memory: `/usr/bin/time -f %M` of the whole process, both engines.\n")
    s = c["sgemm"]
    w("## Machine peak: oneDNN sgemm\n")
    if "bf16_gflops_1" in s:
        w("| threads | f32 sgemm GFLOP/s | bf16 GFLOP/s | bf16 / f32 | command |\n|---|---|---|---|---|")
        w("| 1 | %.1f | %.1f | %.2f | `%s` |" % (s["gflops_1"], s["bf16_gflops_1"], s["bf16_gflops_1"] / s["gflops_1"],
                                               s["command"]))
        w("| %d | %.1f | %.1f | %.2f | (same run) |\n" % (s["threads"], s["gflops_n"], s["bf16_gflops_n"],
                                                       s["bf16_gflops_n"] / s["gflops_n"]))
        w("bf16 = the same N x N product with bf16 A and B, f32 C, through oneDNN's matmul primitive (`%s`; "
          "oneDNN 2.6 has no public bf16 gemm call).\n" % s.get("bf16_impl", "?"))
    else:
        w("| threads | GFLOP/s | command |\n|---|---|---|")
        w("| 1 | %.1f | `%s` |" % (s["gflops_1"], s["command"]))
        w("| %d | %.1f | (same run) |\n" % (s["threads"], s["gflops_n"]))
    w("Best of %d runs of the command at the start and at the end of the suite; the IG shares below are "
      "against the %d-thread figure.\n" % (2 * r["method"]["repeats"], s["threads"]))
    ig_keys = [k for k in ("ig50_demo", "ig50_resnet18", "ig50_vgg16", "ig50_demo_1thread",
                           "ig50_resnet18_1thread") if k in c]
    if ig_keys:
        w("## IG-50 throughput, gad vs PyTorch\n")
        w("| model | images | threads | gad img/s | PyTorch img/s | ratio | gad GFLOP/s (share of sgemm) | "
          "PyTorch GFLOP/s (share) | gad / PyTorch median rel. completeness delta |")
        w("|---|---|---|---|---|---|---|---|---|")
        for k in ig_keys:
            x = c[k]
            w("| %s | %d | %d | %.3f | %.3f | **%.2f** | %.1f (%.0f %%) | %.1f (%.0f %%) | %.2g / %.2g |"
              % (x["model"], x["images"], x["threads"], x["gad"]["images_per_s"], x["pytorch"]["images_per_s"],
                 x["ratio"], x["gad"]["gflops"], 100 * x["gad_share_of_sgemm"], x["pytorch"]["gflops"],
                 100 * x["pytorch_share_of_sgemm"], x["gad"]["median_rel_delta"], x["pytorch"]["median_rel_delta"]))
        w("")
        for k in ig_keys:
            x = c[k]
            w("- %s, %d thread(s) (best of %d): gad `%s`  \n  PyTorch `%s`" % (x["model"], x["threads"], x["repeats"], x["gad"]["command"],
                                                               x["pytorch"]["command"]))
        w("")
    bf = c.get("bf16")
    if bf:
        w("## --precision bf16 (%s, %d images, IG-50, %d threads)\n" % (bf["model"], bf["images"], bf["threads"]))
        if "unsupported" in bf:
            w("Not measured: gad refused it on this machine: %s\n" % bf["unsupported"])
        else:
            w("The backward passes of convolutions and inner products in bf16 (f32 accumulation), the forward in "
              "f32; every point's input gradient summed in f32. Error = ||bf16 - f32|| / ||f32|| of gad's raw "
              "attributions (.attr.tiff), per image.\n")
            w("| run | img/s | vs PyTorch f32 | median rel. completeness delta | command |\n|---|---|---|---|---|")
            for name, x in (("gad bf16", bf["gad_bf16"]), ("gad f32", bf["gad_f32"]), ("PyTorch f32", bf["pytorch"])):
                w("| %s | %.3f | %.2f | %.2g | `%s` |" % (name, x["images_per_s"],
                                                        x["images_per_s"] / bf["pytorch"]["images_per_s"],
                                                        x["median_rel_delta"], x["command"]))
            w("\nbf16 / f32 speed %.2fx; attribution error against gad f32: %s (worst %.4f).\n"
              % (bf["ratio_f32"], ", ".join("%.4f" % e for e in bf["rel_l2"]), bf["worst_rel_l2"]))
            ceiling_lines(c, w)
    if c.get("convrate"):
        convrate_section(c, w)
    t = c.get("thread_scaling")
    if t:
        w("## gad thread scaling (%s, %d images, IG-50)\n" % (t["model"], t["images"]))
        w("| threads | img/s | speed-up | GFLOP/s | command |\n|---|---|---|---|---|")
        for x in t["rows"]:
            w("| %d | %.3f | %.2f | %.1f | `%s` |" % (x["threads"], x["images_per_s"], x["speedup"], x["gflops"],
                                                    x["command"]))
        w("")
    b = c.get("batch_sweep")
    if b:
        w("## gad images/s against --batch (%s, %d images, IG-50, %d threads)\n" % (b["model"], b["images"], b["threads"]))
        w("| --batch | img/s | peak RSS MB | command |\n|---|---|---|---|")
        for x in b["rows"]:
            w("| %d | %.3f | %.0f | `%s` |" % (x["batch"], x["images_per_s"], x["peak_rss_mb"], x["command"]))
        w("")
    mm = c.get("memory")
    if mm:
        w("## Peak resident memory against steps (%s, 1 image, %d threads, gad --batch %s)\n"
          % (mm["model"], mm["threads"], mm.get("batch", 8)))
        w("| steps | gad MB | PyTorch MB | gad / PyTorch | gad command | PyTorch command |\n|---|---|---|---|---|---|")
        for x in mm["rows"]:
            w("| %d | %.0f | %.0f | %.2f | `%s` | `%s` |" % (x["steps"], x["gad_mb"], x["pytorch_mb"], x["ratio"],
                                                          x["gad_command"], x["pytorch_command"]))
        w("\ngad's memory grows %.1f %% from 8 to 256 steps.\n" % (100 * mm["gad_growth_8_to_256"]))
    tol = c.get("tolerance")
    if tol:
        w("## --tolerance %g (adaptive IG) against fixed 50-point Gauss-Legendre (%d threads)\n"
          % (tol["tolerance"], tol["threads"]))
        w("Per image, adaptive bisection: gradients at alpha = 1/2 and 1 first (none at alpha = 0), then the "
          "interval whose exact error (trapezoid, or right-point rule on the first, minus the F difference) is "
          "largest is halved, one point at a time, until the completeness delta is within T/10 of |F(x) - F(x')| "
          "(see include/gad/attr.h); steps = gradient evaluations spent. Both at gad's automatic --batch. "
          "Completeness only checks the attribution's sum, so the last column compares each attribution with "
          "fixed GL-256's (median relative L2 over the images).\n")
        w("| model | images | run | mean steps | median rel. delta | worst rel. delta | img/s | "
          "median rel. L2 vs GL-256 | command |")
        w("|---|---|---|---|---|---|---|---|---|")
        for x in tol["models"]:
            for tag, label in (("fixed50", "fixed GL-50"), ("tolerance", "--tolerance %g" % tol["tolerance"])):
                y = x[tag]
                l2 = y.get("median_rel_l2_vs_ref")
                w("| %s | %d | %s | %.1f | %.2g | %.2g | %.2f | %s | `%s` |" % (x["model"], x["images"], label,
                  y["mean_steps"], y["median_rel_delta"], y["worst_rel_delta"], y["images_per_s"],
                  "%.2g" % l2 if l2 is not None else "-", y["command"]))
        w("")
        for x in tol["models"]:
            w("- %s: %.2fx fewer steps, %.2fx the images/s of fixed GL-50." % (x["model"], x["steps_ratio"],
                                                                              x["speed_ratio"]))
        w("")
    sm = c.get("simd")
    if sm:
        w("## SIMD kernels against memcpy (%s table, %d MB arrays, 1 thread)\n" % (sm["isa"], sm["array_mb"]))
        w("Bytes = what the kernel must read plus write; memcpy copies the same number of bytes. Command: `%s`\n"
          % sm["command"])
        w("| kernel | GB/s | memcpy GB/s | ratio | bytes counted |\n|---|---|---|---|---|")
        for k in sm["kernels"]:
            w("| %s | %.1f | %.1f | %.2f | %s |" % (k["kernel"], k["gb_s"], k["memcpy_gb_s"], k["ratio"],
                                                  k["bytes_model"]))
        w("")
    fits = [c[k] for k in ("fit", "fit_1thread") if k in c]
    if not fits:
        return "\n".join(L) + "\n"
    f = fits[0]
    w("## GAD fit: one epoch (demo model, Shirt vs T-shirt/top, %d images: %d train, %d held out)\n"
      % (f["images"], f["train"], f["holdout"]))
    w("One distance level, Adam lr 1e-3, batch 32, MSE to the distanced targets. gad's epoch is fit.json's level "
      "seconds (training pass plus held-out loss and the train/held-out fidelity passes); PyTorch's is the "
      "training pass plus the held-out loss. The whole command also loads the images and computes the "
      "reference logits (and, for PyTorch, imports torch).\n")
    w("| threads | gad s/epoch | PyTorch s/epoch | PyTorch / gad | gad wall s | PyTorch wall s | PyTorch / gad |")
    w("|---|---|---|---|---|---|---|")
    for f in fits:
        w("| %d | %.2f | %.2f | **%.2f** | %.2f | %.2f | %.2f |" % (
            f["threads"], f["gad"]["epoch_s"], f["pytorch"]["epoch_s"], f["ratio_epoch"],
            f["gad"]["wall_s"], f["pytorch"]["wall_s"], f["ratio_wall"]))
    w("")
    for f in fits:
        w("- %d thread(s): gad `%s`  \n  PyTorch `%s`" % (f["threads"], f["gad"]["command"], f["pytorch"]["command"]))
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(ROOT, "build-bench"))
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--heavy-repeats", type=int, default=1, help="repeats of the vgg16 IG pair")
    ap.add_argument("--images", type=int, default=2, help="224x224 images for resnet18 (and the sweeps)")
    ap.add_argument("--vgg-images", type=int, default=2)
    ap.add_argument("--demo-images", type=int, default=256)
    ap.add_argument("--quadrature", default="gausslegendre")
    ap.add_argument("--internal-batch", type=int, default=25)
    ap.add_argument("--batch", type=int, default=0, help="gad --batch for the IG pairs (0 = gad's automatic choice)")
    ap.add_argument("--batches", type=lambda s: [int(v) for v in s.split(",")], default=[1, 4, 8, 16, 32])
    ap.add_argument("--gemm-n", type=int, default=3072)
    ap.add_argument("--quick", action="store_true", help="1 repeat, fewer images (a smoke test)")
    ap.add_argument("--only", help="testing: render X.md again from X.json (e.g. bench/RESULTS.json)")
    ap.add_argument("--cases", type=lambda v: [c for c in v.split(",") if c], default=list(CASES),
                    help="comma-separated subset of: " + ",".join(CASES))
    args = ap.parse_args()
    if args.only:
        res = json.load(open(args.only))
        open(os.path.splitext(args.only)[0] + ".md", "w").write(report(res))
        return
    if args.quick:
        args.repeats, args.heavy_repeats, args.demo_images, args.vgg_images = 1, 1, 32, 1
        args.batches = [4, 16]
    unknown = [c for c in args.cases if c not in CASES]
    if unknown:
        sys.exit("run.py: unknown case(s) %s; known: %s" % (",".join(unknown), ",".join(CASES)))
    if not os.path.exists(os.path.join(args.build, "bench", "sgemm")):
        sys.exit("run.py: %s has no bench helpers; build it with -DGAD_BUILD_BENCH=ON" % args.build)
    Suite(args).main()


if __name__ == "__main__":
    main()
