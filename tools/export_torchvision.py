#!/usr/bin/python3
"""Export torchvision architectures (random seeded weights: no downloads) to
ONNX with a float64 PyTorch reference, for the "torch" suite's big-model test.

    /usr/bin/python3 tools/export_torchvision.py OUTDIR [NAME...]

Writes OUTDIR/NAME.onnx and OUTDIR/NAME.ref (format: tools/gadref.py) with
x@1, r@1, logits@1 and dx@1 (dL/dx for L = sum(r * logits)).

vgg11_bn is cut to fit a 32x32 input: its AdaptiveAvgPool2d((7, 7)) would have
to upsample a 1x1 map (not expressible as ONNX pooling) and its 25088x4096
classifier alone is 400 MB, so the pool becomes a global average and the
classifier 512 -> 64 -> K. Everything else is the stock architecture.
"""
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gadref  # noqa: E402

K = 10
MODELS = {
    "resnet18": (lambda: torchvision.models.resnet18(num_classes=K), 64),
    "mobilenet_v2": (lambda: torchvision.models.mobilenet_v2(num_classes=K), 64),
    "squeezenet1_1": (lambda: torchvision.models.squeezenet1_1(num_classes=K), 64),
    "vgg11_bn": (None, 32),
}


def vgg11_bn_small():
    m = torchvision.models.vgg11_bn(num_classes=K)
    m.avgpool = nn.AdaptiveAvgPool2d(1)
    m.classifier = nn.Sequential(nn.Linear(512, 64), nn.ReLU(True), nn.Dropout(), nn.Linear(64, K))
    return m




def export(name, outdir):
    ctor, size = MODELS[name]
    torch.manual_seed(0)
    model = vgg11_bn_small() if name == "vgg11_bn" else ctor()
    gen = torch.Generator().manual_seed(1)
    gadref.randomize_bn(model, gen)
    model.eval()
    x = torch.randn(1, 3, size, size, generator=gen)
    r = torch.randn(1, K, generator=gen)
    path = os.path.join(outdir, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"], output_names=["output"])
    md = model.double()
    xd = x.double().requires_grad_(True)
    logits = md(xd)
    (logits * r.double()).sum().backward()
    gadref.write(os.path.join(outdir, name + ".ref"),
                 [("x@1", x.numpy()), ("r@1", r.numpy()),
                  ("logits@1", logits.detach().numpy()), ("dx@1", xd.grad.numpy())])


def main():
    torch.set_num_threads(2)
    if len(sys.argv) < 2:
        sys.exit("usage: export_torchvision.py OUTDIR [NAME...]")
    outdir = sys.argv[1]
    os.makedirs(outdir, exist_ok=True)
    for name in sys.argv[2:] or list(MODELS):
        export(name, outdir)
        print(name)


if __name__ == "__main__":
    main()
