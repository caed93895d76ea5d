# gadref.py — what the fixture and export scripts share: the reference-tensor
# file format (read by tests/ref.c) and non-trivial BatchNorm statistics.
#
# Layout, all little-endian:
#   8 bytes  magic "GADREF1\0"
#   u32      number of tensors
#   per tensor:
#     u32 name length, name bytes (UTF-8, no NUL)
#     u32 nd, i64 dims[nd]
#     f32 data[prod(dims)]
# A flat file rather than .npy/JSON so the C side needs no parser library.
import struct

import numpy as np

MAGIC = b"GADREF1\0"


def write(path, tensors):
    """tensors: list of (name, array-like); written as float32."""
    with open(path, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<I", len(tensors)))
        for name, t in tensors:
            a = np.ascontiguousarray(np.asarray(t, dtype="<f4"))
            nb = name.encode()
            f.write(struct.pack("<I", len(nb)))
            f.write(nb)
            f.write(struct.pack("<I", a.ndim))
            f.write(struct.pack("<%dq" % a.ndim, *a.shape))
            f.write(a.tobytes())


def randomize_bn(model, gen, scale=0.1):
    """Fresh BatchNorm layers hold mean 0 / var 1, which would make gad's fold
    the identity: give them random statistics and affine terms (seeded)."""
    import torch
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            c = m.num_features
            with torch.no_grad():
                m.running_mean.copy_(scale * torch.randn(c, generator=gen))
                m.running_var.copy_(0.5 + torch.rand(c, generator=gen))
                m.weight.copy_(0.5 + torch.rand(c, generator=gen))
                m.bias.copy_(scale * torch.randn(c, generator=gen))
