#!/usr/bin/python3
"""PyTorch autograd Integrated Gradients, the peer gad is measured against.

Captum's algorithm, written here so that the benchmark needs only Debian's
python3-torch: for each image, target = arg-max class of F(x), baseline x' =
zeros (black), points x' + a_k (x - x') with the quadrature's nodes a_k and
weights w_k on [0, 1], gradients of F_target evaluated `--internal-batch`
points at a time (Captum's internal_batch_size), attribution
(x - x') * sum_k w_k grad_k.

    /usr/bin/python3 bench/ig_torch.py --model M.onnx --steps 50 --threads 2 IMAGE.png...

Run one configuration per process: the peak resident memory (getrusage
ru_maxrss) is the process's. Prints one JSON line.
"""
import argparse
import json
import os
import resource
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_torch import OnnxModule, read_png  # noqa: E402


def quadrature(name, n):
    """Nodes and weights on [0, 1], as Captum's approximation_methods."""
    if name == "gausslegendre":
        x, w = np.polynomial.legendre.leggauss(n)
        return list(0.5 * (x + 1)), list(0.5 * w)
    if name == "left":
        return [k / n for k in range(n)], [1.0 / n] * n
    if name == "right":
        return [(k + 1) / n for k in range(n)], [1.0 / n] * n
    if name == "middle":
        return [(k + 0.5) / n for k in range(n)], [1.0 / n] * n
    if name == "trapezoid":
        if n < 2:
            raise ValueError("trapezoid needs at least 2 steps")
        w = [1.0 / (n - 1)] * n
        w[0] = w[-1] = 0.5 / (n - 1)
        return list(np.linspace(0, 1, n)), w
    raise ValueError("unknown quadrature " + name)


def ig_one(model, x, alphas, weights, internal_batch):
    base = torch.zeros_like(x)
    with torch.no_grad():
        logits = model(x[None])
        target = int(logits.argmax(1))
        f_x = float(logits[0, target])
        f_b = float(model(base[None])[0, target])
    total = torch.zeros_like(x)
    for s in range(0, len(alphas), internal_batch):
        a = torch.tensor(alphas[s:s + internal_batch], dtype=torch.float32).view(-1, 1, 1, 1)
        w = torch.tensor(weights[s:s + internal_batch], dtype=torch.float32).view(-1, 1, 1, 1)
        pts = (base + a * (x - base)).requires_grad_(True)
        out = model(pts)[:, target].sum()
        (g,) = torch.autograd.grad(out, pts)
        total += (w * g).sum(0)
    attr = (x - base) * total
    delta = float(attr.sum()) - (f_x - f_b)
    return target, delta, abs(delta) / max(abs(f_x - f_b), 1e-30)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--steps", type=int, default=50)
    ap.add_argument("--quadrature", default="gausslegendre",
                    choices=["gausslegendre", "left", "right", "middle", "trapezoid"])
    ap.add_argument("--internal-batch", type=int, default=25)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--warmup", type=int, default=1,
                    help="untimed gradient chunks before timing (PyTorch's first-call cost)")
    ap.add_argument("images", nargs="+", help="PNG files or folders of them")
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = OnnxModule(args.model).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    channels = model.input_shape[0]
    paths = []
    for p in args.images:  # folders expand to their PNG files, sorted (as gad does)
        paths += sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(".png")) if os.path.isdir(p) else [p]
    xs = [read_png(p, channels) for p in paths]
    alphas, weights = quadrature(args.quadrature, args.steps)

    for _ in range(args.warmup):
        # One chunk's forward and backward: PyTorch's first-call costs.
        pts = xs[0][None].repeat(min(args.internal_batch, args.steps), 1, 1, 1).requires_grad_(True)
        torch.autograd.grad(model(pts)[:, 0].sum(), pts)
    t0 = time.perf_counter()
    deltas = []
    for x in xs:
        _, _, rel = ig_one(model, x, alphas, weights, args.internal_batch)
        deltas.append(rel)
    secs = time.perf_counter() - t0
    print(json.dumps({
        "engine": "pytorch", "torch": torch.__version__, "model": args.model,
        "images": len(xs), "steps": args.steps, "quadrature": args.quadrature,
        "internal_batch": args.internal_batch, "threads": args.threads,
        "seconds": secs, "images_per_s": len(xs) / secs,
        "median_rel_delta": float(np.median(deltas)),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == "__main__":
    main()
