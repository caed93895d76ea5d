#!/usr/bin/python3
"""Export small PyTorch CNNs to ONNX with reference outputs for tests/test_torch.c.

Run with /usr/bin/python3 (Debian's torch 1.13):
    /usr/bin/python3 tools/make_torch_fixtures.py [OUTDIR]   (default tests/data/torch)

For every fixture NAME it writes NAME.onnx and NAME.ref (format: tools/gadref.py)
holding, for batch sizes b = 1 and 3:
    x@b        input, b x C x H x W
    r@b        the fixed random weighting of the logits, b x K
    logits@b   logits (before any Softmax), b x K
    dx@b       dL/dx for L = sum(r * logits)
    grad@b/P   dL/dP for every parameter P, summed over the batch
    guided_dx@b  (residual models only) dL/dx with guided ReLUs, whose
               backward also drops negative gradients
and once per parameter:
    param/P    the parameter as gad should hold it after import (BN folded)
P is the ONNX initializer name gad keeps for the parameter. A parameter that
has no initializer of its own in the file (the bias a BatchNormalization fold
adds to a bias-less Conv, or the affine map of a BatchNormalization without a
Conv before it) is named "~" + a description; the C test finds those by value.

gad folds BatchNormalization into the preceding Conv, so gradients are
computed on an equivalently folded PyTorch model (in float64), where the folded
weight is a leaf: W' = W*g/sqrt(v+eps), b' = (b-m)*g/sqrt(v+eps) + beta.
"""
import copy
import os
import sys

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gadref  # noqa: E402




class GuidedReLU(torch.autograd.Function):
    """ReLU whose backward also drops negative gradients (guided backprop)."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return g * ((x > 0) & (g > 0)).to(g.dtype)


# ResSmall's ReLUs go through this, so the reference can switch them to guided.
_relu = F.relu


# ---- models -----------------------------------------------------------------
class ResSmall(nn.Module):
    """(a) residual CNN: BN, ReLU, MaxPool, residual Add, GAP, Flatten, Linear."""
    in_shape = (3, 32, 32)
    fold_pairs = [("conv1", "bn1"), ("conv2", "bn2"), ("conv3", "bn3"), ("conv4", "bn4")]
    lone_bn = []

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv3 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn3 = nn.BatchNorm2d(8)
        self.conv4 = nn.Conv2d(8, 16, 3, stride=2, padding=1, bias=True)
        self.bn4 = nn.BatchNorm2d(16)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.pool(_relu(self.bn1(self.conv1(x))))
        y = _relu(self.bn2(self.conv2(x)))
        y = self.bn3(self.conv3(y))
        x = _relu(x + y)
        x = _relu(self.bn4(self.conv4(x)))
        x = torch.flatten(self.gap(x), 1)
        return self.fc(x)


class GraySmall(nn.Module):
    """(b) gray CNN: conv stride/pad/dilation, LeakyRelu, AvgPool(ceil,
    count_include_pad=False), Sigmoid, ReLU6, depthwise conv, channel concat,
    a BatchNorm with no Conv before it, view(N, -1), Dropout, Linear."""
    in_shape = (1, 28, 28)
    fold_pairs = []
    lone_bn = ["bn"]

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 8, 3, padding=1)
        self.c2 = nn.Conv2d(8, 8, 3, stride=2, padding=2, dilation=2)
        self.pool = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False)
        self.dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.pw = nn.Conv2d(8, 4, 1)
        self.bn = nn.BatchNorm2d(12)
        self.drop = nn.Dropout(0.3)
        self.fc = nn.Linear(12 * 8 * 8, 10)

    def forward(self, x):
        x = F.leaky_relu(self.c1(x), 0.1)
        x = torch.sigmoid(self.c2(x))      # 14x14
        x = self.pool(x)                   # 8x8 (ceil mode)
        a = F.relu6(self.dw(x))
        b = F.relu(self.pw(x))
        x = self.bn(torch.cat([a, b], 1))
        x = x.view(x.size(0), -1)
        return self.fc(self.drop(x))


class SoftmaxNet(nn.Module):
    """(c) ends with Softmax; gad strips it, so logits are compared before it."""
    in_shape = (3, 16, 16)
    fold_pairs = []
    lone_bn = []

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(3, 6, 3)
        self.c2 = nn.Conv2d(6, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 7 * 7, 32)
        self.fc2 = nn.Linear(32, 5)

    def logits(self, x):
        x = F.max_pool2d(F.relu(self.c1(x)), 2)  # 14 -> 7
        x = F.relu(self.c2(x))
        x = torch.flatten(x, 1)
        return self.fc2(F.relu(self.fc1(x)))

    def forward(self, x):
        return F.softmax(self.logits(x), dim=1)


# ---- folding ------------------------------------------------------------------
def folded_copy(model):
    """A float64 copy whose forward gives the same logits with every BN folded
    away (into its Conv, or into a depthwise 1x1 Conv), and the Softmax gone.
    Returns (folded model, {folded param path: (origin conv weight path or None,
    description)})."""
    f = copy.deepcopy(model).double().eval()
    for conv_name, bn_name in model.fold_pairs:
        conv, bn = getattr(f, conv_name), getattr(f, bn_name)
        s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        with torch.no_grad():
            w = conv.weight * s.view(-1, 1, 1, 1)
            b = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
            b = (b - bn.running_mean) * s + bn.bias
        conv.weight = nn.Parameter(w.detach().clone())
        conv.bias = nn.Parameter(b.detach().clone())
        setattr(f, bn_name, nn.Identity())
    for bn_name in model.lone_bn:
        bn = getattr(f, bn_name)
        c = bn.num_features
        s = bn.weight / torch.sqrt(bn.running_var + bn.eps)
        dw = nn.Conv2d(c, c, 1, groups=c).double()
        with torch.no_grad():
            dw.weight.copy_(s.view(c, 1, 1, 1))
            dw.bias.copy_(bn.bias - bn.running_mean * s)
        setattr(f, bn_name, dw)
    if hasattr(f, "logits"):
        f.forward = f.logits
    return f


def onnx_param_names(onnx_path, model, folded):
    """Name every folded parameter as gad's importer will: by the initializer it
    comes from. A folded value equal to an initializer (PyTorch folded BN
    itself at export) takes that name; else the conv's own initializer name
    (gad keeps it for the folded weight); else "~path" (no initializer)."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(onnx_path)
    onnx.checker.check_model(m)
    inits = {t.name: numpy_helper.to_array(t).astype(np.float64) for t in m.graph.initializer}
    names = {}
    taken = set()
    for path, p in folded.named_parameters():
        v = p.detach().numpy()
        hit = None
        for n, a in inits.items():
            if n in taken or a.shape != v.shape:
                continue
            if np.max(np.abs(a - v)) <= 1e-5 * max(1e-6, np.max(np.abs(v))):
                hit = n
                break
        lone = path.split(".")[0] in model.lone_bn
        if hit is None and not lone and path in inits and inits[path].shape == v.shape:
            hit = path
        if hit is None:
            hit = "~" + path
        taken.add(hit)
        names[path] = hit
    return names


def reference(folded, x, r):
    """logits, dx and parameter gradients of L = sum(r * logits), in float64."""
    folded.zero_grad(set_to_none=True)
    x = x.clone().double().requires_grad_(True)
    logits = folded(x)
    (logits * r.double()).sum().backward()
    grads = {n: p.grad.detach().clone() for n, p in folded.named_parameters()}
    return logits.detach(), x.grad.detach(), grads


def make(name, model, opset, outdir, preserve_bn, seed, free_hw=False):
    gen = torch.Generator().manual_seed(seed)
    model.eval()
    x_all = torch.randn((3,) + model.in_shape, generator=gen)
    path = os.path.join(outdir, name + ".onnx")
    # PRESERVE keeps the BatchNormalization nodes in the file (gad must fold
    # them); the default EVAL mode lets PyTorch fold Conv+BN at export.
    training = torch.onnx.TrainingMode.PRESERVE if preserve_bn else torch.onnx.TrainingMode.EVAL
    dyn_in = {0: "N", 2: "H", 3: "W"} if free_hw else {0: "N"}
    torch.onnx.export(model, x_all[:1], path, opset_version=opset, training=training,
                      input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": dyn_in, "output": {0: "N"}})
    folded = folded_copy(model)
    names = onnx_param_names(path, model, folded)
    with torch.no_grad():
        out = model.double()(x_all.double())
        model.float()
        ref_logits = folded(x_all.double())
        if hasattr(model, "logits"):
            direct = F.softmax(ref_logits, dim=1)
        else:
            direct = ref_logits
        err = (out - direct).abs().max().item()
        assert err < 1e-9, "%s: folded model disagrees with the original (%g)" % (name, err)
    k = ref_logits.shape[1]
    r_all = torch.randn(3, k, generator=gen)
    tensors = []
    for pth, p in folded.named_parameters():
        tensors.append(("param/" + names[pth], p.detach().numpy()))
    for b in (1, 3):
        logits, dx, grads = reference(folded, x_all[:b], r_all[:b])
        tensors += [("x@%d" % b, x_all[:b].numpy()), ("r@%d" % b, r_all[:b].numpy()),
                    ("logits@%d" % b, logits.numpy()), ("dx@%d" % b, dx.numpy())]
        for pth, g in grads.items():
            tensors.append(("grad@%d/%s" % (b, names[pth]), g.numpy()))
        if isinstance(model, ResSmall):
            # guided backprop: every ReLU's backward also drops negative gradients
            global _relu
            _relu = GuidedReLU.apply
            _, gdx, _ = reference(folded, x_all[:b], r_all[:b])
            _relu = F.relu
            tensors.append(("guided_dx@%d" % b, gdx.numpy()))
    gadref.write(os.path.join(outdir, name + ".ref"), tensors)
    print("%-16s opset %2d  %s  params: %s" % (name, opset, "BN kept" if preserve_bn else "BN folded by torch",
                                              ", ".join(names.values())))


def main():
    torch.set_num_threads(2)
    torch.manual_seed(0)
    here = os.path.dirname(os.path.abspath(__file__))
    outdir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "data", "torch")
    os.makedirs(outdir, exist_ok=True)
    specs = [
        ("res_op13", ResSmall, 13, True, 1, False),
        ("res_op9", ResSmall, 9, False, 1, False),
        # free H and W in the file: gad needs gad_model_set_input_size
        ("res_freehw_op13", ResSmall, 13, True, 1, True),
        ("gray_op13", GraySmall, 13, True, 2, False),
        ("softmax_op13", SoftmaxNet, 13, True, 3, False),
        ("softmax_op17", SoftmaxNet, 17, True, 3, False),
    ]
    for name, cls, opset, preserve, seed, free_hw in specs:
        torch.manual_seed(seed)  # same seed -> same weights across opsets
        model = cls()
        gadref.randomize_bn(model, torch.Generator().manual_seed(100 + seed), scale=0.2)
        make(name, model, opset, outdir, preserve, seed, free_hw)


if __name__ == "__main__":
    main()
