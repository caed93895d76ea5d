#!/usr/bin/python3
"""PyTorch twin of one GAD support-model fit (gad fit), the peer for the
"seconds an epoch" figure.

Same steps as gad_fit (include/gad/fit.h) for one distance level: load the
classifier from the ONNX file (bench/onnx_torch.py: same layers, same
weights), reference logits a(x) of every image of the pair, gap std s of
a_p - a_q, targets t = a with t[c] += d/2, t[o] -= d/2 (d = lambda s, c the
predicted class of the pair), a copy of the model fine-tuned with Adam
(lr 1e-3) on mini-batches of 32 to the MSE (mean over images and logits),
shuffled, with a held-out share evaluated after every epoch.

    /usr/bin/python3 bench/fit_torch.py --model M.onnx --data DIR --pair 6,0 --threads 2

DIR holds DIR/<class index or name>/*.png as written by bench/run.py; the
folder names sorted give the class indices unless they are integers.
Prints one JSON line: seconds an epoch (training pass + held-out pass),
reference-logit time, and the losses.
"""
import argparse
import copy
import json
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from onnx_torch import OnnxModule, read_png  # noqa: E402


def load_folder(root, pair, channels):
    xs, ys = [], []
    for cls in pair:
        d = os.path.join(root, str(cls))
        for name in sorted(os.listdir(d)):
            xs.append(read_png(os.path.join(d, name), channels))
            ys.append(cls)
    return torch.stack(xs), torch.tensor(ys)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--data", required=True)
    ap.add_argument("--pair", default="6,0")
    ap.add_argument("--level", type=float, default=1.0)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--holdout", type=float, default=0.1)
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    p, q = (int(v) for v in args.pair.split(","))
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    f = OnnxModule(args.model).eval()
    t_load = time.perf_counter()
    x, _ = load_folder(args.data, (p, q), f.input_shape[0])
    t_load = time.perf_counter() - t_load

    t0 = time.perf_counter()
    with torch.no_grad():
        a = torch.cat([f(x[i:i + 256]) for i in range(0, len(x), 256)])
    gap = a[:, p] - a[:, q]
    s = float(gap.std())
    c = torch.where(gap >= 0, torch.tensor(p), torch.tensor(q))
    o = torch.where(gap >= 0, torch.tensor(q), torch.tensor(p))
    d = args.level * s
    t = a.clone()
    idx = torch.arange(len(x))
    t[idx, c] += d / 2
    t[idx, o] -= d / 2
    t_ref = time.perf_counter() - t0

    perm = torch.randperm(len(x))
    n_hold = int(round(args.holdout * len(x)))
    hold, train = perm[:n_hold], perm[n_hold:]
    g = copy.deepcopy(f).train()  # the graph has no dropout or BN left: train() changes nothing
    opt = torch.optim.Adam(g.parameters(), lr=args.lr)
    loss_fn = torch.nn.MSELoss()
    epochs = []
    for _ in range(args.epochs):
        te = time.perf_counter()
        order = train[torch.randperm(len(train))]
        total, nb = 0.0, 0
        for i in range(0, len(order), args.batch):
            b = order[i:i + args.batch]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(g(x[b]), t[b])
            loss.backward()
            opt.step()
            total += float(loss)
            nb += 1
        with torch.no_grad():
            yh = torch.cat([g(x[hold[i:i + 256]]) for i in range(0, len(hold), 256)])
            hold_mse = float(loss_fn(yh, t[hold]))
        epochs.append({"seconds": time.perf_counter() - te, "train_mse": total / max(nb, 1),
                       "holdout_mse": hold_mse})
    print(json.dumps({
        "engine": "pytorch", "torch": torch.__version__, "model": args.model, "images": len(x),
        "train": len(train), "holdout": n_hold, "batch": args.batch, "threads": args.threads,
        "gap_std": s, "load_seconds": t_load, "reference_seconds": t_ref,
        "epoch_seconds": min(e["seconds"] for e in epochs), "epochs": epochs,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0,
    }))


if __name__ == "__main__":
    main()
