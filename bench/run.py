#!/usr/bin/python3
"""The benchmark suite: one command, gad against the PyTorch reference in the
same run, written to bench/RESULTS.md and bench/RESULTS.json.

    /usr/bin/python3 bench/run.py [--build build-bench] [--quick]

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
- FLOP model: one IG step costs 3 x the forward FLOPs (forward, plus about
  twice that for the backward to the input), so achieved GFLOP/s =
  3 x forward FLOPs (`gad info --json`) x steps x images/s / 1e9; the two extra
  forwards per image (F(x), F(baseline)) are not counted.
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

    def gad_ig(self, model, folder, steps, threads, batch, repeats, tag):
        images = pngs(folder)
        out = os.path.join(self.work, "out", tag)
        os.makedirs(os.path.dirname(out), exist_ok=True)
        argv = [self.gad, "attribute", "--model", model, "--method", "ig", "--steps", str(steps),
                "--quadrature", self.args.quadrature, "--threads", str(threads), "--batch", str(batch),
                "--out", out, folder]
        wall, rss, _, walls = best_of(repeats, argv)
        load = self.load_time(model, images[0], threads)
        secs = max(wall - load, 1e-9)
        rows = [json.loads(l) for l in open(os.path.join(out, "results.jsonl"))]
        ips = len(images) / secs
        return {"images_per_s": ips, "wall_s": wall, "walls_s": walls, "load_s": load,
                "images_per_s_raw": len(images) / wall, "peak_rss_mb": rss,
                "median_rel_delta": float(np.median([r["rel_delta"] for r in rows])),
                "gflops": 3 * self.info(model) * steps * ips / 1e9, "command": cmdline(argv)}

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
                "gflops": 3 * self.info(model) * steps * ips / 1e9, "command": cmdline(argv)}

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
        best["command"] = cmdline(argv)
        self.res["cases"]["sgemm"] = best
        self.peak = best["gflops_n"]
        self.log("sgemm: %.1f GFLOP/s on 1 thread, %.1f on %d" % (best["gflops_1"], best["gflops_n"], self.nproc))

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
        # capped by the points an image needs): run every step count with
        # --batch 8, the smallest step count, so only the steps change
        rows = []
        for s in (8, 50, 256):
            g = self.gad_ig(model, folder, s, self.nproc, 8, 1, "mem-%d" % s)
            p = self.torch_ig(model, folder, s, self.nproc, 1)
            rows.append({"steps": s, "gad_mb": g["peak_rss_mb"], "pytorch_mb": p["peak_rss_mb"],
                         "ratio": g["peak_rss_mb"] / p["peak_rss_mb"],
                         "gad_command": g["command"], "pytorch_command": p["command"]})
        self.res["cases"]["memory"] = {"model": rel(model), "images": 1, "threads": self.nproc,
                                       "batch": 8, "internal_batch": self.args.internal_batch,
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
                              "flop_model": "3 x forward FLOPs per IG step"}
        t0 = time.perf_counter()
        self.res["machine"]["loadavg_start"] = os.getloadavg()
        self.sgemm()
        self.simd()
        self.ig_pair("demo", DEMO, demo, a.repeats)
        self.ig_pair("resnet18", r18, rgb, a.repeats)
        self.ig_pair("vgg16", vgg, vggf, a.heavy_repeats)
        self.threads(r18, rgb)
        self.batches(r18, rgb)
        self.memory(r18, one)
        self.fit(fitdata)
        # One thread each: the comparison least disturbed by other work on the cores.
        self.ig_pair("demo", DEMO, demo, a.repeats, threads=1)
        self.ig_pair("resnet18", r18, rgb, a.repeats, threads=1)
        self.fit(fitdata, threads=1)
        self.sgemm(again=True)
        for k, x in self.res["cases"].items():
            if k.startswith("ig50_"):
                x["gad_share_of_sgemm"] = x["gad"]["gflops"] / self.peak
                x["pytorch_share_of_sgemm"] = x["pytorch"]["gflops"] / self.peak
        self.res["suite_seconds"] = time.perf_counter() - t0
        self.res["machine"]["loadavg_end"] = os.getloadavg()
        with open(os.path.join(HERE, "RESULTS.json"), "w") as f:
            json.dump(self.res, f, indent=1)
        with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
            f.write(report(self.res))
        self.log("wrote bench/RESULTS.md and bench/RESULTS.json (%.0f s)" % self.res["suite_seconds"])


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
    sm = c.get("simd")
    if sm:
        worst = min(sm["kernels"], key=lambda k: k["ratio"])
        out.append(("every SIMD kernel >= 80 % of memcpy GB/s", "worst %s %.2f" % (worst["kernel"], worst["ratio"]),
                    worst["ratio"] >= 0.8))
    return out


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
    w("- FLOP model: an IG step costs 3 x the forward FLOPs (`gad info --json`, a multiply-add = 2 FLOPs): one "
      "forward plus about 2x for the backward to the input. GFLOP/s = 3 x FLOPs x steps x images/s; the two "
      "extra forwards per image (F(x), F(x')) are not counted. Share = that over the sgemm GFLOP/s on all cores.")
    w("- Peak resident memory: `/usr/bin/time -f %M` of the whole process, both engines.\n")
    s = c["sgemm"]
    w("## Machine peak: oneDNN sgemm\n")
    w("| threads | GFLOP/s | command |\n|---|---|---|")
    w("| 1 | %.1f | `%s` |" % (s["gflops_1"], s["command"]))
    w("| %d | %.1f | (same run) |\n" % (s["threads"], s["gflops_n"]))
    w("Best of %d runs of the command at the start and at the end of the suite; the IG shares below are "
      "against the %d-thread figure.\n" % (2 * r["method"]["repeats"], s["threads"]))
    w("## IG-50 throughput, gad vs PyTorch\n")
    w("| model | images | threads | gad img/s | PyTorch img/s | ratio | gad GFLOP/s (share of sgemm) | "
      "PyTorch GFLOP/s (share) | gad / PyTorch median rel. completeness delta |")
    w("|---|---|---|---|---|---|---|---|---|")
    ig_keys = [k for k in ("ig50_demo", "ig50_resnet18", "ig50_vgg16", "ig50_demo_1thread",
                           "ig50_resnet18_1thread") if k in c]
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
    t = c["thread_scaling"]
    w("## gad thread scaling (%s, %d images, IG-50)\n" % (t["model"], t["images"]))
    w("| threads | img/s | speed-up | GFLOP/s | command |\n|---|---|---|---|---|")
    for x in t["rows"]:
        w("| %d | %.3f | %.2f | %.1f | `%s` |" % (x["threads"], x["images_per_s"], x["speedup"], x["gflops"], x["command"]))
    b = c["batch_sweep"]
    w("\n## gad images/s against --batch (%s, %d images, IG-50, %d threads)\n" % (b["model"], b["images"], b["threads"]))
    w("| --batch | img/s | peak RSS MB | command |\n|---|---|---|---|")
    for x in b["rows"]:
        w("| %d | %.3f | %.0f | `%s` |" % (x["batch"], x["images_per_s"], x["peak_rss_mb"], x["command"]))
    mm = c["memory"]
    w("\n## Peak resident memory against steps (%s, 1 image, %d threads)\n" % (mm["model"], mm["threads"]))
    w("| steps | gad MB | PyTorch MB | gad / PyTorch | gad command | PyTorch command |\n|---|---|---|---|---|---|")
    for x in mm["rows"]:
        w("| %d | %.0f | %.0f | %.2f | `%s` | `%s` |" % (x["steps"], x["gad_mb"], x["pytorch_mb"], x["ratio"],
                                                      x["gad_command"], x["pytorch_command"]))
    w("\ngad's memory grows %.1f %% from 8 to 256 steps.\n" % (100 * mm["gad_growth_8_to_256"]))
    sm = c["simd"]
    w("## SIMD kernels against memcpy (%s table, %d MB arrays, 1 thread)\n" % (sm["isa"], sm["array_mb"]))
    w("Bytes = what the kernel must read plus write; memcpy copies the same number of bytes. Command: `%s`\n"
      % sm["command"])
    w("| kernel | GB/s | memcpy GB/s | ratio | bytes counted |\n|---|---|---|---|---|")
    for k in sm["kernels"]:
        w("| %s | %.1f | %.1f | %.2f | %s |" % (k["kernel"], k["gb_s"], k["memcpy_gb_s"], k["ratio"], k["bytes_model"]))
    f = c["fit"]
    w("\n## GAD fit: one epoch (demo model, Shirt vs T-shirt/top, %d images: %d train, %d held out)\n"
      % (f["images"], f["train"], f["holdout"]))
    w("One distance level, Adam lr 1e-3, batch 32, MSE to the distanced targets. gad's epoch is fit.json's level "
      "seconds (training pass plus held-out loss and the train/held-out fidelity passes); PyTorch's is the "
      "training pass plus the held-out loss. The whole command also loads the images and computes the "
      "reference logits (and, for PyTorch, imports torch).\n")
    w("| threads | gad s/epoch | PyTorch s/epoch | PyTorch / gad | gad wall s | PyTorch wall s | PyTorch / gad |")
    w("|---|---|---|---|---|---|---|")
    fits = [c[k] for k in ("fit", "fit_1thread") if k in c]
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
    ap.add_argument("--only", help="testing: render RESULTS.md again from RESULTS.json")
    args = ap.parse_args()
    if args.only:
        res = json.load(open(args.only))
        open(os.path.join(HERE, "RESULTS.md"), "w").write(report(res))
        return
    if args.quick:
        args.repeats, args.heavy_repeats, args.demo_images, args.vgg_images = 1, 1, 32, 1
        args.batches = [4, 16]
    if not os.path.exists(os.path.join(args.build, "bench", "sgemm")):
        sys.exit("run.py: %s has no bench helpers; build it with -DGAD_BUILD_BENCH=ON" % args.build)
    Suite(args).main()


if __name__ == "__main__":
    main()
