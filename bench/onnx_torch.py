"""Run an ONNX CNN in PyTorch: a small interpreter over the graph's nodes with
torch.nn.functional ops and the file's own weights, so the PyTorch reference
computes exactly the network gad imports (BatchNorm already folded by the
exporter, same layers, same FLOPs). Covers the ops of the benchmark models
(Conv, Relu, MaxPool, AveragePool, GlobalAveragePool, Add, Flatten, Gemm,
Identity, Dropout, BatchNormalization); anything else raises."""
import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn.functional as F


def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _pads(a):
    p = list(a.get("pads", [0, 0, 0, 0]))
    if p[0] != p[2] or p[1] != p[3]:
        raise ValueError("asymmetric padding is not supported")
    return (p[0], p[1])


class OnnxModule(torch.nn.Module):
    def __init__(self, path):
        super().__init__()
        m = onnx.load(path)
        self.params = torch.nn.ParameterDict()
        self.names = {}
        for i, init in enumerate(m.graph.initializer):
            key = "p%d" % i
            self.names[init.name] = key
            self.params[key] = torch.nn.Parameter(torch.from_numpy(onnx.numpy_helper.to_array(init).copy()))
        inits = set(self.names)
        self.input_name = [i.name for i in m.graph.input if i.name not in inits][0]
        self.output_name = m.graph.output[0].name
        shape = [d.dim_value for d in [i for i in m.graph.input if i.name == self.input_name][0]
                 .type.tensor_type.shape.dim]
        self.input_shape = shape[1:]
        self.nodes = [(n.op_type, list(n.input), list(n.output), _attrs(n)) for n in m.graph.node]

    def forward(self, x):
        env = {self.input_name: x}

        def get(name):
            return env[name] if name in env else self.params[self.names[name]]

        for op, ins, outs, a in self.nodes:
            if op == "Conv":
                b = get(ins[2]) if len(ins) > 2 and ins[2] else None
                y = F.conv2d(get(ins[0]), get(ins[1]), b, stride=tuple(a.get("strides", [1, 1])),
                             padding=_pads(a), dilation=tuple(a.get("dilations", [1, 1])),
                             groups=a.get("group", 1))
            elif op == "Relu":
                y = F.relu(get(ins[0]))
            elif op == "MaxPool":
                y = F.max_pool2d(get(ins[0]), tuple(a["kernel_shape"]), tuple(a.get("strides", [1, 1])),
                                 _pads(a), ceil_mode=bool(a.get("ceil_mode", 0)))
            elif op == "AveragePool":
                y = F.avg_pool2d(get(ins[0]), tuple(a["kernel_shape"]), tuple(a.get("strides", [1, 1])),
                                 _pads(a), ceil_mode=bool(a.get("ceil_mode", 0)),
                                 count_include_pad=bool(a.get("count_include_pad", 0)))
            elif op == "GlobalAveragePool":
                y = F.adaptive_avg_pool2d(get(ins[0]), 1)
            elif op == "Add":
                y = get(ins[0]) + get(ins[1])
            elif op == "Flatten":
                y = torch.flatten(get(ins[0]), a.get("axis", 1))
            elif op == "Gemm":
                w = get(ins[1])
                if not a.get("transB", 0):
                    w = w.t()
                if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
                    raise ValueError("Gemm with transA/alpha/beta is not supported")
                y = F.linear(get(ins[0]), w, get(ins[2]) if len(ins) > 2 else None)
            elif op in ("Identity", "Dropout"):
                y = get(ins[0])
            elif op == "BatchNormalization":
                y = F.batch_norm(get(ins[0]), get(ins[3]), get(ins[4]), get(ins[1]), get(ins[2]),
                                 False, 0.0, a.get("epsilon", 1e-5))
            else:
                raise ValueError("ONNX op %s is not supported by the reference" % op)
            env[outs[0]] = y
        return env[self.output_name]


def read_png(path, channels):
    """The image as gad reads it: 8-bit pixels scaled to [0, 1], C x H x W."""
    from PIL import Image
    im = Image.open(path)
    im = im.convert("L" if channels == 1 else "RGB")
    a = np.asarray(im, dtype=np.float32) / 255.0
    a = a[None] if a.ndim == 2 else a.transpose(2, 0, 1)
    return torch.from_numpy(np.ascontiguousarray(a))
