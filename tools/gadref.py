# gadref.py — the reference-tensor file format shared by the fixture scripts
# and tests/test_torch.c (which has its own small reader).
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
