#!/usr/bin/python3
"""Reference attributions for tests/test_attr.c, computed with PyTorch autograd
in float64 following Captum's definitions (IntegratedGradients, Saliency,
InputXGradient, GuidedBackprop), on two small CNNs exported to ONNX.

    /usr/bin/python3 tools/make_attr_fixtures.py [OUTDIR]   (default tests/data/attr)

Writes NAME.onnx and NAME.ref (format: tools/gadref.py) with
    x                 inputs, 2 x C x H x W (model space)
    logits            F(x), 2 x K
    ig/RULE/N         IG with the black (all-zero) baseline, target = arg-max class,
                      RULE in gausslegendre|left|right|middle|trapezoid, N points
    ig_contrast/P,Q   IG (gausslegendre, 20 points) of logit P minus logit Q
    saliency, gradient, ixg, guided   target = arg-max class
Quadratures: Gauss-Legendre from numpy.polynomial.legendre.leggauss mapped to
[0, 1] and the Riemann left/right/middle rules exactly as Captum builds them;
the trapezoid uses true trapezoid weights (1/(n-1), halved at the ends), not
Captum's (1/n, halved at the ends, which sum to 1 - 1/n).
"""
import os
import sys

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gadref  # noqa: E402


class Gray(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.b1, self.r1 = nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU()
        self.p1 = nn.MaxPool2d(2)
        self.c2, self.r2 = nn.Conv2d(8, 16, 3, padding=1), nn.ReLU()
        self.p2 = nn.AvgPool2d(2)
        self.fc = nn.Linear(16 * 5 * 5, 5)

    def forward(self, x):
        x = self.p1(self.r1(self.b1(self.c1(x))))
        x = self.p2(self.r2(self.c2(x)))
        return self.fc(torch.flatten(x, 1))


class Rgb(nn.Module):
    def __init__(self):
        super().__init__()
        self.c1, self.r1 = nn.Conv2d(3, 8, 3, padding=1), nn.ReLU()
        self.c2, self.b2, self.r2 = nn.Conv2d(8, 8, 3, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU()
        self.c3 = nn.Conv2d(8, 8, 3, padding=1)
        self.r3 = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        x = self.r1(self.c1(x))
        x = self.r3(x + self.c3(self.r2(self.b2(self.c2(x)))))
        x = self.pool(x).mean(dim=(2, 3))
        return self.fc(x)


def rule(name, n):
    if name == "gausslegendre":
        x, w = np.polynomial.legendre.leggauss(n)
        return 0.5 * (x + 1), 0.5 * w
    if name == "trapezoid":
        a = np.linspace(0, 1, n)
        w = np.full(n, 1.0 / (n - 1))
        w[0] /= 2
        w[-1] /= 2
        return a, w
    off = {"left": 0.0, "right": 1.0, "middle": 0.5}[name]
    return (np.arange(n) + off) / n, np.full(n, 1.0 / n)


def grad_of(model, x, p, q=None):
    x = x.clone().requires_grad_(True)
    out = model(x)
    f = out[:, p] - (out[:, q] if q is not None else 0)
    (g,) = torch.autograd.grad(f.sum(), x)
    return g


def ig(model, x, base, p, q, rname, n):
    alphas, weights = rule(rname, n)
    acc = torch.zeros_like(x)
    for a, w in zip(alphas, weights):
        acc += w * grad_of(model, base + a * (x - base), p, q)
    return (x - base) * acc


def guided(model, x, p):
    hooks = [m.register_full_backward_hook(lambda mod, gi, go: (torch.relu(gi[0]),))
             for m in model.modules() if isinstance(m, nn.ReLU)]
    g = grad_of(model, x, p)
    for h in hooks:
        h.remove()
    return g


def make(name, model, shape, outdir, gen):
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.3, 0.3, generator=gen)
            m.running_var.uniform_(0.5, 1.5, generator=gen)
            m.weight.data.uniform_(0.5, 1.5, generator=gen)
            m.bias.data.uniform_(-0.2, 0.2, generator=gen)
    model.eval()
    torch.onnx.export(model, torch.zeros(1, *shape), os.path.join(outdir, name + ".onnx"),
                      input_names=["x"], output_names=["logits"], opset_version=13,
                      dynamic_axes={"x": {0: "n"}, "logits": {0: "n"}})
    md = model.double()
    xs = torch.rand(2, *shape, generator=gen, dtype=torch.float64) * 2 - 0.5
    xs = xs.float().double()  # exactly representable in float32, as gad reads it
    tensors = [("x", xs)]
    with torch.no_grad():
        logits = md(xs)
    tensors.append(("logits", logits))
    preds = logits.argmax(1).tolist()
    per = {k: [] for k in ["saliency", "gradient", "ixg", "guided"]}
    igs = {}
    for i, p in enumerate(preds):
        x = xs[i:i + 1]
        base = torch.zeros_like(x)
        for rname in ["gausslegendre", "left", "right", "middle", "trapezoid"]:
            for n in ([8, 20, 64] if rname == "gausslegendre" else [20]):
                igs.setdefault(f"ig/{rname}/{n}", []).append(ig(md, x, base, p, None, rname, n))
        q = (p + 1) % logits.shape[1]
        igs.setdefault(f"ig_contrast/{p},{q}@{i}", []).append(ig(md, x, base, p, q, "gausslegendre", 20))
        g = grad_of(md, x, p)
        per["saliency"].append(g.abs())
        per["gradient"].append(g)
        per["ixg"].append(x * g)
        per["guided"].append(guided(md, x, p))
    for k, v in igs.items():
        tensors.append((k, torch.cat(v)))
    for k, v in per.items():
        tensors.append((k, torch.cat(v)))
    gadref.write(os.path.join(outdir, name + ".ref"), [(k, v.numpy()) for k, v in tensors])
    print(name, "preds", preds)


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "attr")
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    gen = torch.Generator().manual_seed(1234)
    torch.manual_seed(1234)
    make("attr_gray", Gray(), (1, 20, 20), outdir, gen)
    make("attr_rgb", Rgb(), (3, 16, 16), outdir, gen)


if __name__ == "__main__":
    main()
