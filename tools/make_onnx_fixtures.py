#!/usr/bin/python3
"""Generate the small ONNX fixtures under tests/data/onnx/ for tests/test_onnx.c.

Run with Debian's interpreter (it sees python3-torch and python3-onnx):
    /usr/bin/python3 tools/make_onnx_fixtures.py [OUTDIR]

Besides the .onnx files it writes expect.txt, the reference the C tests compare
against: for each model the gad layer list (op and per-image output shape
recorded with PyTorch forward hooks), PyTorch's parameter count and the count
gad must report once BatchNormalization is folded (folding replaces gamma and
beta by one bias per output channel, and a Conv without bias gains one), and
the number of logits. tiny_fold.bin holds the first Conv's weights and bias
after folding its BatchNormalization, computed here independently in float64.

`--torchvision DIR` instead exports torchvision architectures (random
weights) for the load test; those files are large and never committed.
"""
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
torch.set_num_threads(2)
PRESERVE = torch.onnx.TrainingMode.PRESERVE  # keeps BatchNormalization in the file


def randomize_bn(m):
    """Non-trivial running statistics so folding is actually tested."""
    for mod in m.modules():
        if isinstance(mod, nn.BatchNorm2d):
            with torch.no_grad():
                mod.weight.uniform_(0.5, 1.5)
                mod.bias.uniform_(-0.5, 0.5)
                mod.running_mean.uniform_(-0.5, 0.5)
                mod.running_var.uniform_(0.5, 2.0)


class Tiny(nn.Module):
    """conv-bn-relu-pool twice, dropout, gemm."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.pool1 = nn.MaxPool2d(2)
        self.conv2 = nn.Conv2d(8, 16, 3, stride=2, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.relu2 = nn.ReLU()
        self.pool2 = nn.AvgPool2d(2)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(16 * 2 * 2, 10)

    def forward(self, x):
        x = self.pool1(self.relu1(self.bn1(self.conv1(x))))
        x = self.pool2(self.relu2(self.bn2(self.conv2(x))))
        x = torch.flatten(x, 1)
        return self.fc(self.drop(x))

    # module whose output shape each gad layer has, with the gad op name
    def layers(self):
        return [(self.bn1, "Conv"), (self.relu1, "Relu"), (self.pool1, "MaxPool"),
                (self.bn2, "Conv"), (self.relu2, "Relu"), (self.pool2, "AveragePool"),
                ("flatten", "Flatten"), (self.fc, "Gemm")]


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv0 = nn.Conv2d(3, 8, 3, padding=1)
        self.relu0 = nn.ReLU()
        self.conv1 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(8)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv2d(8, 8, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(8)
        self.add = Add()
        self.relu2 = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        x = self.relu0(self.conv0(x))
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        x = self.relu2(self.add(x, y))
        x = torch.flatten(self.gap(x), 1)
        return self.fc(x)

    def layers(self):
        return [(self.conv0, "Conv"), (self.relu0, "Relu"), (self.bn1, "Conv"),
                (self.relu1, "Relu"), (self.bn2, "Conv"), (self.add, "Add"),
                (self.relu2, "Relu"), (self.gap, "GlobalAveragePool"),
                ("flatten", "Flatten"), (self.fc, "Gemm")]


class Add(nn.Module):
    def forward(self, a, b):
        return a + b


class View(nn.Module):
    """x.view(x.size(0), -1): Shape/Gather/Unsqueeze/Concat feeding Reshape."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.relu = nn.ReLU()
        self.pool = nn.MaxPool2d(2)
        self.fc = nn.Linear(4 * 3 * 3, 3)
        self.view = Flat()

    def forward(self, x):
        x = self.pool(self.relu(self.conv(x)))
        return self.fc(self.view(x))

    def layers(self):
        return [(self.conv, "Conv"), (self.relu, "Relu"), (self.pool, "MaxPool"),
                (self.view, "Flatten"), (self.fc, "Gemm")]


class Flat(nn.Module):
    def forward(self, x):
        return x.view(x.size(0), -1)


class Scale(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.s = nn.Parameter(torch.rand(1, c, 1, 1) + 0.5)

    def forward(self, x):
        return x * self.s


class Half(nn.Module):
    def forward(self, x):
        return x * 0.5


class Cat(nn.Module):
    def forward(self, a, b):
        return torch.cat([a, b], 1)


class Ops(nn.Module):
    """ReLU6 (Clip), LeakyReLU, Sigmoid, concat, mul by scalar and per-channel
    constants, a BatchNorm that follows no Conv, ceil-mode average pooling."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.relu6 = nn.ReLU6()
        self.conv2 = nn.Conv2d(3, 4, 1)
        self.leaky = nn.LeakyReLU(0.2)
        self.cat = Cat()
        self.sig = nn.Sigmoid()
        self.halve = Half()
        self.scale = Scale(10)
        self.bn = nn.BatchNorm2d(10)
        self.pool = nn.AvgPool2d(3, stride=2, ceil_mode=True, count_include_pad=False)
        self.fc = nn.Linear(10 * 4 * 4, 7)

    def forward(self, x):
        a = self.relu6(self.conv1(x))
        b = self.leaky(self.conv2(x))
        y = self.sig(self.cat(a, b))
        y = self.bn(self.scale(self.halve(y)))
        y = self.pool(y)
        return self.fc(torch.flatten(y, 1))

    def layers(self):
        return [(self.conv1, "Conv"), (self.relu6, "Clip"), (self.conv2, "Conv"),
                (self.leaky, "LeakyRelu"), (self.cat, "Concat"), (self.sig, "Sigmoid"),
                (self.halve, "Mul"), (self.scale, "Conv"), (self.bn, "Conv"),
                (self.pool, "AveragePool"), ("flatten", "Flatten"), (self.fc, "Gemm")]


class MatMulAdd(nn.Module):
    """Explicit x @ W + b (MatMul + Add) and a trailing Softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.w = nn.Parameter(torch.randn(3, 4))
        self.b = nn.Parameter(torch.randn(4))
        self.mm = MM(self.w, self.b)
        self.soft = nn.Softmax(dim=1)

    def forward(self, x):
        x = torch.flatten(self.gap(self.conv(x)), 1)
        return self.soft(self.mm(x))

    def layers(self):
        return [(self.conv, "Conv"), (self.gap, "GlobalAveragePool"),
                ("flatten", "Flatten"), (self.mm, "Gemm")]


class MM(nn.Module):
    def __init__(self, w, b):
        super().__init__()
        self._wb = (w, b)

    def forward(self, x):
        return x @ self._wb[0] + self._wb[1]


class FreeHW(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 5, 3, stride=2, padding=1)
        self.relu = nn.ReLU()
        self.gap = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(5, 4)

    def forward(self, x):
        x = self.gap(self.relu(self.conv(x)))
        return self.fc(torch.flatten(x, 1))

    def layers(self):
        return [(self.conv, "Conv"), (self.relu, "Relu"), (self.gap, "GlobalAveragePool"),
                ("flatten", "Flatten"), (self.fc, "Gemm")]


class Tanh(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 2, 3)
        self.fc = nn.Linear(2 * 4 * 4, 2)

    def forward(self, x):
        return self.fc(torch.flatten(torch.tanh(self.conv(x)), 1))


def record_shapes(model, x):
    """Per-image output shape of every module listed by model.layers()."""
    shapes = {}
    hooks = []
    for mod, _ in model.layers():
        if isinstance(mod, nn.Module):
            hooks.append(mod.register_forward_hook(
                lambda m, i, o: shapes.__setitem__(id(m), tuple(o.shape[1:]))))
    with torch.no_grad():
        out = model(x)
    for h in hooks:
        h.remove()
    res, last = [], None
    for mod, op in model.layers():
        if mod == "flatten":
            n = 1
            for d in last:
                n *= d
            s = (n,)
        else:
            s = shapes[id(mod)]
        res.append((op, s))
        last = s
    return res, out


def count_folded(model):
    """Parameter count after gad folds every BN into its Conv (or keeps it as a
    depthwise 1x1 conv: C weights + C biases, the same as gamma + beta)."""
    n = sum(p.numel() for p in model.parameters())
    mods = list(model.named_modules())
    prev = None
    for name, m in mods:
        if isinstance(m, nn.BatchNorm2d) and isinstance(prev, nn.Conv2d):
            n -= 2 * m.num_features  # gamma, beta gone
            n += m.num_features       # folded bias
            if prev.bias is not None:
                n -= prev.bias.numel()  # the Conv's bias is replaced, not added
        if not isinstance(m, (nn.Sequential,)) and name:
            prev = m
    return n


def export(model, x, path, opset, dynamic=None, names=("input", "logits")):
    model.eval()
    torch.onnx.export(model, x, path, opset_version=opset, training=PRESERVE,
                      input_names=[names[0]], output_names=[names[1]],
                      dynamic_axes=dynamic, do_constant_folding=True)


def main(out):
    os.makedirs(out, exist_ok=True)
    lines = []

    def add(tag, model, x, opsets, dynamic=None, classes=None, folded=None):
        model.eval()
        layers, y = record_shapes(model, x)
        for op in opsets:
            fn = f"{tag}{op}.onnx"
            export(model, x, os.path.join(out, fn), op, dynamic)
            lines.append(f"model {fn}")
            lines.append(f"input {x.shape[1]} {x.shape[2]} {x.shape[3]}")
            lines.append(f"classes {y.shape[1]}")
            lines.append(f"params_torch {sum(p.numel() for p in model.parameters())}")
            lines.append(f"params_gad {folded if folded is not None else count_folded(model)}")
            lines.append(f"layers {len(layers)}")
            for i, (opn, s) in enumerate(layers):
                lines.append(f"layer {i} {opn} {len(s)} " + " ".join(str(d) for d in s))
            lines.append("end")

    tiny = Tiny()
    randomize_bn(tiny)
    add("tiny", tiny, torch.randn(1, 3, 16, 16), [9, 11, 13, 17])

    res = Residual()
    randomize_bn(res)
    add("residual", res, torch.randn(1, 3, 8, 8), [13])

    add("view", View(), torch.randn(1, 1, 8, 8), [9, 13],
        dynamic={"input": {0: "N"}, "logits": {0: "N"}})

    ops = Ops()
    randomize_bn(ops)
    # Scale's [1,C,1,1] becomes depthwise weights (C), BN stays depthwise
    # (C weights + C biases): same count as PyTorch.
    add("ops", ops, torch.randn(1, 3, 8, 8), [9, 11, 13, 17],
        folded=sum(p.numel() for p in ops.parameters()))

    add("matmul", MatMulAdd(), torch.randn(1, 2, 5, 5), [13])

    add("freehw", FreeHW(), torch.randn(1, 3, 12, 12), [13],
        dynamic={"input": {0: "N", 2: "H", 3: "W"}, "logits": {0: "N"}})

    export(Tanh(), torch.randn(1, 1, 6, 6), os.path.join(out, "tanh13.onnx"), 13)

    with open(os.path.join(out, "expect.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")

    # BN folded into tiny.conv1, in float64, as the reference for the importer.
    with torch.no_grad():
        bn, w = tiny.bn1, tiny.conv1.weight.double()
        s = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
        wf = w * s.view(-1, 1, 1, 1)
        bf = (0 - bn.running_mean.double()) * s + bn.bias.double()
    torch.cat([wf.flatten(), bf]).float().numpy().astype("<f4").tofile(
        os.path.join(out, "tiny_fold.bin"))

    make_bad(out)
    make_handmade(out)


def make_handmade(out):
    """Graphs PyTorch does not emit, written node by node with onnx.helper.
    Weights follow simple formulas the C tests recompute: w[k] = (k % 7 - 3) / 8."""
    import numpy as np
    import onnx
    from onnx import TensorProto as TP, helper as H, numpy_helper as NH

    def vals(*shape):
        n = int(np.prod(shape))
        return ((np.arange(n) % 7 - 3) / 8.0).astype(np.float32).reshape(shape)

    def save(name, nodes, inits, inputs, outputs, opset=13):
        g = H.make_graph(nodes, name, inputs, outputs, inits)
        m = H.make_model(g, opset_imports=[H.make_opsetid("", opset)], producer_name="handmade")
        onnx.save(m, os.path.join(out, name + ".onnx"))

    X = H.make_tensor_value_info("x", TP.FLOAT, ["N", 2, 4, 4])
    Y = H.make_tensor_value_info("y", TP.FLOAT, ["N", 5])

    # Gemm with transB=0, alpha, beta, C [1,5]; Flatten; Identity; no node names.
    B = NH.from_array(vals(32, 5), "B")
    C = NH.from_array(vals(1, 5) + 1, "C")
    save("hand_gemm", [
        H.make_node("Flatten", ["x"], ["f"]),
        H.make_node("Gemm", ["f", "B", "C"], ["g"], alpha=2.0, beta=0.5),
        H.make_node("Identity", ["g"], ["y"])], [B, C], [X], [Y])

    # SAME_UPPER conv (weights in float_data), Clip(0, none) -> Relu,
    # per-channel Add -> depthwise conv, Dropout, Reshape by an int64_data
    # shape [1, -1], Gemm transB=1, Softmax at the end.
    W = H.make_tensor("W", TP.FLOAT, [3, 2, 2, 2], vals(3, 2, 2, 2).flatten().tolist())
    zero = NH.from_array(np.array(0, np.float32), "zero")
    bias = NH.from_array(vals(3, 1, 1) + 2, "chan")
    shp = H.make_tensor("shp", TP.INT64, [2], [1, -1])
    F = NH.from_array(vals(5, 48), "F")
    save("hand_misc", [
        H.make_node("Conv", ["x", "W"], ["c"], name="conv", auto_pad="SAME_UPPER"),
        H.make_node("Clip", ["c", "zero"], ["r"], name="clip"),
        H.make_node("Add", ["chan", "r"], ["a"], name="addc"),
        H.make_node("Dropout", ["a"], ["d", "mask"], name="drop"),
        H.make_node("Reshape", ["d", "shp"], ["v"], name="view"),
        H.make_node("Gemm", ["v", "F"], ["l"], name="fc", transB=1),
        H.make_node("Softmax", ["l"], ["y"], name="soft", axis=1)],
        [W, zero, bias, shp, F], [X], [Y])

    # Reshape to its own shape [-1, 2, 4, 4] is an alias
    same = H.make_tensor("same", TP.INT64, [4], [-1, 2, 4, 4])
    save("hand_same_reshape", [
        H.make_node("Relu", ["x"], ["r"], name="relu"),
        H.make_node("Reshape", ["r", "same"], ["s"], name="same_view"),
        H.make_node("GlobalAveragePool", ["s"], ["p"], name="gap"),
        H.make_node("Flatten", ["p"], ["y"], name="flat")],
        [same], [X], [H.make_tensor_value_info("y", TP.FLOAT, ["N", 2])])

    # ... and to another 4-D shape is refused once shapes are known
    other = H.make_tensor("other", TP.INT64, [4], [0, 4, 2, 4])
    save("bad_reshape", [
        H.make_node("Relu", ["x"], ["r"], name="relu"),
        H.make_node("Reshape", ["r", "other"], ["s"], name="odd_view"),
        H.make_node("GlobalAveragePool", ["s"], ["p"], name="gap"),
        H.make_node("Flatten", ["p"], ["y"], name="flat")],
        [other], [X], [H.make_tensor_value_info("y", TP.FLOAT, ["N", 4])])

    # MaxPool whose Indices output is what the graph returns
    save("bad_indices", [
        H.make_node("MaxPool", ["x"], ["p", "idx"], name="pool", kernel_shape=[2, 2])],
        [], [X], [H.make_tensor_value_info("idx", TP.INT64, ["N", 2, 2, 2])])

    # two image inputs
    X2 = H.make_tensor_value_info("x2", TP.FLOAT, ["N", 2, 4, 4])
    save("bad_two_inputs", [H.make_node("Add", ["x", "x2"], ["y"], name="add")], [], [X, X2],
         [H.make_tensor_value_info("y", TP.FLOAT, ["N", 2, 4, 4])])

    # Softmax in the middle
    save("bad_softmax_mid", [
        H.make_node("Flatten", ["x"], ["f"], name="flat"),
        H.make_node("Softmax", ["f"], ["s"], name="mid_soft", axis=1),
        H.make_node("Relu", ["s"], ["y"], name="relu")], [], [X],
        [H.make_tensor_value_info("y", TP.FLOAT, ["N", 32])])

    # SAME_UPPER with stride 2 depends on the input size: refused
    save("bad_autopad", [
        H.make_node("Conv", ["x", "W"], ["y"], name="sconv", auto_pad="SAME_UPPER", strides=[2, 2])],
        [W], [X], [H.make_tensor_value_info("y", TP.FLOAT, ["N", 3, 2, 2])])

    # channel mismatch found by shape inference: 3 input channels, weight wants 5
    W5 = NH.from_array(vals(4, 5, 1, 1), "W5")
    save("bad_shape", [H.make_node("Conv", ["x3", "W5"], ["y"], name="mismatch")], [W5],
         [H.make_tensor_value_info("x3", TP.FLOAT, [4, 3, 4, 4])],
         [H.make_tensor_value_info("y", TP.FLOAT, [4, 4, 4, 4])])

    # fixed batch of 4: Reshape to [4, -1] is still a per-image flatten
    four = H.make_tensor("four", TP.INT64, [2], [4, -1])
    save("hand_batch4", [
        H.make_node("Reshape", ["x4", "four"], ["f"], name="view4"),
        H.make_node("Gemm", ["f", "B"], ["y"], name="fc")], [four, B],
        [H.make_tensor_value_info("x4", TP.FLOAT, [4, 2, 4, 4])],
        [H.make_tensor_value_info("y", TP.FLOAT, [4, 5])])

    # Clip(0, +inf) from initializers is a ReLU; two outputs are refused
    inf = NH.from_array(np.array(np.inf, np.float32), "inf")
    save("hand_clipinf", [
        H.make_node("Clip", ["x", "zero", "inf"], ["r"], name="clip"),
        H.make_node("GlobalAveragePool", ["r"], ["p"], name="gap"),
        H.make_node("Flatten", ["p"], ["y"], name="flat")],
        [zero, inf], [X], [H.make_tensor_value_info("y", TP.FLOAT, ["N", 2])])
    save("bad_two_outputs", [
        H.make_node("Relu", ["x"], ["y"], name="relu"),
        H.make_node("Sigmoid", ["x"], ["y2"], name="sig")], [], [X],
        [H.make_tensor_value_info("y", TP.FLOAT, ["N", 2, 4, 4]),
         H.make_tensor_value_info("y2", TP.FLOAT, ["N", 2, 4, 4])])

    # explicit zero Pads absorbed by Conv and by AveragePool(count_include_pad=1);
    # before MaxPool (which pads with -inf) a zero Pad is refused
    pads = H.make_tensor("pads", TP.INT64, [8], [0, 0, 1, 1, 0, 0, 1, 1])
    save("hand_pad", [
        H.make_node("Pad", ["x", "pads"], ["p1"], name="pad1"),
        H.make_node("Conv", ["p1", "W"], ["c"], name="conv"),
        H.make_node("Pad", ["c", "pads"], ["p2"], name="pad2"),
        H.make_node("AveragePool", ["p2"], ["a"], name="avg", kernel_shape=[2, 2], count_include_pad=1),
        H.make_node("GlobalAveragePool", ["a"], ["g"], name="gap"),
        H.make_node("Flatten", ["g"], ["y"], name="flat")],
        [pads, W], [X], [H.make_tensor_value_info("y", TP.FLOAT, ["N", 3])], opset=11)
    save("bad_pad_maxpool", [
        H.make_node("Pad", ["x", "pads"], ["p1"], name="pad1"),
        H.make_node("MaxPool", ["p1"], ["y"], name="mpool", kernel_shape=[2, 2])],
        [pads], [X], [H.make_tensor_value_info("y", TP.FLOAT, ["N", 2, 5, 5])], opset=11)

    # 3-D input
    save("bad_rank", [H.make_node("Relu", ["x"], ["y"], name="relu")], [],
         [H.make_tensor_value_info("x", TP.FLOAT, ["N", 2, 4])],
         [H.make_tensor_value_info("y", TP.FLOAT, ["N", 2, 4])])


def make_bad(out):
    """Corrupt copies of tiny13.onnx edited with the onnx package."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(os.path.join(out, "tiny13.onnx"))
    init = [t for t in m.graph.initializer if t.data_type == onnx.TensorProto.FLOAT
            and len(t.dims) == 4][0]
    init.raw_data = init.raw_data[:-4]  # one float short of its dims
    onnx.save(m, os.path.join(out, "bad_size.onnx"))

    m = onnx.load(os.path.join(out, "tiny13.onnx"))
    t = [t for t in m.graph.initializer if len(t.dims) == 4][0]
    t.ClearField("raw_data")
    t.data_location = onnx.TensorProto.EXTERNAL
    e = t.external_data.add()
    e.key, e.value = "location", "weights.bin"
    onnx.save(m, os.path.join(out, "bad_external.onnx"))

    m = onnx.load(os.path.join(out, "tiny13.onnx"))
    t = [t for t in m.graph.initializer if len(t.dims) == 4][0]
    a = numpy_helper.to_array(t).copy()
    a.flat[3] = float("nan")
    t.CopyFrom(numpy_helper.from_array(a, t.name))
    onnx.save(m, os.path.join(out, "bad_nan.onnx"))

    m = onnx.load(os.path.join(out, "tiny13.onnx"))
    m.opset_import[0].version = 8
    onnx.save(m, os.path.join(out, "bad_opset.onnx"))

    m = onnx.load(os.path.join(out, "tiny13.onnx"))
    missing = m.graph.node[0].input[1]
    m.graph.initializer.remove([t for t in m.graph.initializer if t.name == missing][0])
    onnx.save(m, os.path.join(out, "bad_missing.onnx"))

    m = onnx.load(os.path.join(out, "tiny13.onnx"))
    nodes = list(m.graph.node)
    del m.graph.node[:]
    m.graph.node.extend(reversed(nodes))  # still sortable: must load
    onnx.save(m, os.path.join(out, "reversed.onnx"))

    # cycle: the first node reads the last node's output
    m = onnx.load(os.path.join(out, "tiny13.onnx"))
    m.graph.node[0].input[0] = m.graph.node[len(m.graph.node) - 2].output[0]
    m.graph.input[0].name = "unused_input"
    onnx.save(m, os.path.join(out, "bad_cycle.onnx"))


def export_torchvision(out):
    import torchvision.models as tvm
    os.makedirs(out, exist_ok=True)
    x = torch.randn(1, 3, 224, 224)
    for name in ["resnet18", "vgg11", "vgg11_bn", "mobilenet_v2", "squeezenet1_1"]:
        m = getattr(tvm, name)(weights=None).eval()
        export(m, x, os.path.join(out, name + ".onnx"), 13)
        print(name, sum(p.numel() for p in m.parameters()), count_folded(m), flush=True)


if __name__ == "__main__":
    if len(sys.argv) > 2 and sys.argv[1] == "--torchvision":
        export_torchvision(sys.argv[2])
    else:
        here = os.path.dirname(os.path.abspath(__file__))
        main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..", "tests", "data", "onnx"))
