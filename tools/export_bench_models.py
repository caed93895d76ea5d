#!/usr/bin/python3
"""Export the benchmark models: torchvision resnet18 and vgg16 with 2 classes,
seeded random weights and randomised BatchNorm statistics, eval mode, input
1x3x224x224 with a free batch dimension.

    /usr/bin/python3 tools/export_bench_models.py [OUTDIR]   (default bench/models)

Random weights are enough: the benchmark measures time, memory and FLOPs,
none of which depends on the weights' values. The files are large (vgg16 is
about 530 MB), so OUTDIR must stay out of git (bench/models/ is ignored).
"""
import os
import sys

import torch
import torch.nn as nn
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gadref  # noqa: E402

NUM_CLASSES = 2
SIZE = 224
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(os.path.dirname(HERE), "bench", "models")
MODELS = {
    "resnet18": lambda: torchvision.models.resnet18(num_classes=NUM_CLASSES),
    "vgg16": lambda: torchvision.models.vgg16(num_classes=NUM_CLASSES),
}




def build(name):
    torch.manual_seed(0)
    model = MODELS[name]()
    gadref.randomize_bn(model, torch.Generator().manual_seed(1))
    return model.eval()


def export(name, outdir):
    model = build(name)
    x = torch.zeros(1, 3, SIZE, SIZE)
    path = os.path.join(outdir, name + ".onnx")
    torch.onnx.export(model, x, path, opset_version=13, input_names=["input"],
                      output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}})
    return path


def main():
    outdir = sys.argv[1] if len(sys.argv) > 1 else DEFAULT_OUT
    os.makedirs(outdir, exist_ok=True)
    torch.set_num_threads(2)
    for name in MODELS:
        print(export(name, outdir))


if __name__ == "__main__":
    main()
