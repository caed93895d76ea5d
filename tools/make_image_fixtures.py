#!/usr/bin/python3
"""Regenerate tests/data/images/: small images and the float values gad must
read from them (raw little-endian float32, planar c x h x w, NAME.f32).

Expected values come from the arrays the images were made from, except for
JPEG (lossy), where they come from PIL's decoding of the same file (both use
the system libjpeg-turbo with default settings). Several PNGs and all TIFFs
except one are written by the small encoders below, so the reference does not
share code with the reader under test; the malformed files are crafted byte
by byte. Resize references come from torch.nn.functional.interpolate.

Needs python3-numpy, python3-pil, python3-torch. Run: /usr/bin/python3 tools/make_image_fixtures.py
"""
import os
import struct
import zlib

import numpy as np
from PIL import Image

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data", "images")
rng = np.random.RandomState(20261201)
W, H = 13, 7


def save_f32(name, arr):
    np.ascontiguousarray(arr, dtype="<f4").tofile(os.path.join(OUT, name))


def planar(a):
    """h x w (x c) -> c x h x w"""
    a = np.asarray(a)
    return a[None] if a.ndim == 2 else np.transpose(a, (2, 0, 1))


# ---- PNG encoder (no filtering; optional Adam7) ------------------------------
def png_chunk(kind, data):
    c = kind + data
    return struct.pack(">I", len(data)) + c + struct.pack(">I", zlib.crc32(c) & 0xFFFFFFFF)


def png_bytes(arr, depth, ctype, interlace=False, width=None, height=None):
    """arr: h x w x c uint array (values already in range for depth)."""
    h, w = arr.shape[:2]
    dt = ">u2" if depth == 16 else "u1"

    def raw(sub):
        return b"".join(b"\0" + sub[y].astype(dt).tobytes() for y in range(sub.shape[0]))

    if not interlace:
        data = raw(arr)
    else:
        data = b""
        for x0, y0, dx, dy in [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4),
                               (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]:
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                data += raw(sub)
    ihdr = struct.pack(">IIBBBBB", w if width is None else width, h if height is None else height,
                       depth, ctype, 0, 0, 1 if interlace else 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) +
            png_chunk(b"IDAT", zlib.compress(data, 9)) + png_chunk(b"IEND", b""))


# ---- TIFF encoder (uncompressed; strips or tiles; contig or separate) --------
def tiff_bytes(arr, fmt, photometric, bo="<", planar_sep=False, rows_per_strip=None,
               tile=None, extra=None, width=None, ifd_first=False):
    """arr: h x w x s numpy array; fmt 'u1' | 'u2' | 'f4'."""
    h, w, s = arr.shape
    a = arr.astype(bo + fmt)
    bps = a.dtype.itemsize * 8
    blocks = []  # raw bytes per strip/tile, in TIFF order (plane-major)
    planes = [a[:, :, k:k + 1] for k in range(s)] if planar_sep else [a]
    for p in planes:
        if tile:
            tw, th = tile
            for ty in range(0, h, th):
                for tx in range(0, w, tw):
                    t = np.zeros((th, tw, p.shape[2]), dtype=a.dtype)
                    sub = p[ty:ty + th, tx:tx + tw]
                    t[:sub.shape[0], :sub.shape[1]] = sub
                    blocks.append(t.tobytes())
        else:
            rps = rows_per_strip or h
            for y in range(0, h, rps):
                blocks.append(p[y:y + rps].tobytes())
    header = 8
    data = b"".join(blocks)
    if ifd_first:
        # Directory right after the header, pixels last, so a cut file
        # keeps its directory and loses pixel data.
        probe = tiff_bytes(arr, fmt, photometric, bo, planar_sep, rows_per_strip, tile, extra, width)
        ifd_len = len(probe) - struct.unpack(bo + "I", probe[4:8])[0]
        header = 8 + ifd_len + (ifd_len & 1)
    offs, pos = [], header
    for b in blocks:
        offs.append(pos)
        pos += len(b)
    tail = pos + (pos & 1)
    if ifd_first:
        tail = 8
    entries = []  # (tag, type, values)
    SHORT, LONG = 3, 4
    entries.append((256, LONG, [w if width is None else width]))
    entries.append((257, LONG, [h]))
    entries.append((258, SHORT, [bps] * s))
    entries.append((259, SHORT, [1]))
    entries.append((262, SHORT, [photometric]))
    if not tile:
        entries.append((273, LONG, offs))
    entries.append((277, SHORT, [s]))
    if not tile:
        entries.append((278, LONG, [rows_per_strip or h]))
        entries.append((279, LONG, [len(b) for b in blocks]))
    entries.append((284, SHORT, [2 if planar_sep else 1]))
    if tile:
        entries.append((322, SHORT, [tile[0]]))
        entries.append((323, SHORT, [tile[1]]))
        entries.append((324, LONG, offs))
        entries.append((325, LONG, [len(b) for b in blocks]))
    if extra:
        entries.append((338, SHORT, extra))
    entries.append((339, SHORT, [3 if fmt == "f4" else 1] * s))
    entries.sort()
    n = len(entries)
    ifd_size = 2 + 12 * n + 4
    ext_pos = tail + ifd_size
    ifd = struct.pack(bo + "H", n)
    ext = b""
    for tag, typ, vals in entries:
        code = "H" if typ == SHORT else "I"
        payload = struct.pack(bo + code * len(vals), *vals)
        if len(payload) <= 4:
            ifd += struct.pack(bo + "HHI", tag, typ, len(vals)) + payload.ljust(4, b"\0")
        else:
            ifd += struct.pack(bo + "HHII", tag, typ, len(vals), ext_pos + len(ext))
            ext += payload
    ifd += struct.pack(bo + "I", 0)
    magic = b"II*\0" if bo == "<" else b"MM\0*"
    if ifd_first:
        d = ifd + ext
        return magic + struct.pack(bo + "I", tail) + d + b"\0" * (header - 8 - len(d)) + data
    return magic + struct.pack(bo + "I", tail) + data + b"\0" * (tail - pos) + ifd + ext


def write(name, data):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))

    # ---- PNG ----
    g8 = rng.randint(0, 256, (H, W)).astype(np.uint8)
    Image.fromarray(g8, "L").save(os.path.join(OUT, "gray8.png"))
    save_f32("gray8.png.f32", planar(g8 / 255.0))

    g16 = rng.randint(0, 65536, (H, W)).astype(np.uint16)
    write("gray16.png", png_bytes(g16[:, :, None], 16, 0))
    save_f32("gray16.png.f32", planar(g16 / 65535.0))

    rgb16 = rng.randint(0, 65536, (H, W, 3)).astype(np.uint16)
    write("rgb16.png", png_bytes(rgb16, 16, 2))
    save_f32("rgb16.png.f32", planar(rgb16 / 65535.0))

    rgb8i = rng.randint(0, 256, (H, W, 3)).astype(np.uint8)
    write("rgb8_interlaced.png", png_bytes(rgb8i, 8, 2, interlace=True))
    save_f32("rgb8_interlaced.png.f32", planar(rgb8i / 255.0))

    rgba = rng.randint(0, 256, (H, W, 4)).astype(np.uint8)
    Image.fromarray(rgba, "RGBA").save(os.path.join(OUT, "rgba8.png"))
    save_f32("rgba8.png.f32", planar(rgba[:, :, :3] / 255.0))

    la = rng.randint(0, 256, (H, W, 2)).astype(np.uint8)
    Image.fromarray(la, "LA").save(os.path.join(OUT, "la8.png"))
    save_f32("la8.png.f32", planar(la[:, :, 0] / 255.0))

    pal = rng.randint(0, 256, (16, 3)).astype(np.uint8)
    idx = rng.randint(0, 16, (H, W)).astype(np.uint8)
    im = Image.fromarray(idx, "P")
    im.putpalette(pal.flatten().tolist())
    im.save(os.path.join(OUT, "palette.png"))
    save_f32("palette.png.f32", planar(pal[idx] / 255.0))

    # Transparency given by a tRNS chunk instead of an alpha channel.
    im.save(os.path.join(OUT, "palette_trns.png"), transparency=bytes([0, 255, 128] + [255] * 13))
    save_f32("palette_trns.png.f32", planar(pal[idx] / 255.0))
    Image.fromarray(g8, "L").save(os.path.join(OUT, "gray8_trns.png"), transparency=int(g8[0, 0]))
    save_f32("gray8_trns.png.f32", planar(g8 / 255.0))

    bits = rng.randint(0, 2, (H, W)).astype(bool)
    Image.fromarray(bits).convert("1").save(os.path.join(OUT, "gray1.png"))
    save_f32("gray1.png.f32", planar(bits.astype(np.float64)))

    # PNG whose IHDR says width 0 (valid CRC, so only the size is wrong).
    write("zero_width.png", png_bytes(g8[:, :, None], 8, 0, width=0))

    # ---- JPEG ----
    yy, xx = np.mgrid[0:H * 3, 0:W * 3]
    smooth = np.stack([(xx * 7 + yy * 3) % 256, (xx * 2 + yy * 11) % 256,
                       128 + 60 * np.sin(xx / 4.0)], -1).astype(np.uint8)
    Image.fromarray(smooth, "RGB").save(os.path.join(OUT, "rgb.jpg"), quality=90)
    Image.fromarray(smooth[:, :, 0], "L").save(os.path.join(OUT, "gray.jpg"), quality=90)
    Image.fromarray(smooth, "RGB").convert("CMYK").save(os.path.join(OUT, "cmyk.jpg"), quality=90)
    Image.fromarray(smooth, "RGB").save(os.path.join(OUT, "progressive.jpg"), quality=85,
                                         progressive=True)
    for n in ("rgb.jpg", "gray.jpg", "progressive.jpg"):
        dec = np.asarray(Image.open(os.path.join(OUT, n)))
        save_f32(n + ".f32", planar(dec / 255.0))

    # ---- TIFF ----
    t8 = rng.randint(0, 256, (H, W, 3)).astype(np.uint8)
    Image.fromarray(t8, "RGB").save(os.path.join(OUT, "rgb8_lzw.tif"), compression="tiff_lzw")
    save_f32("rgb8_lzw.tif.f32", planar(t8 / 255.0))

    t16 = rng.randint(0, 65536, (H, W, 1)).astype(np.uint16)
    write("gray16_be.tif", tiff_bytes(t16, "u2", 1, bo=">", rows_per_strip=3))
    save_f32("gray16_be.tif.f32", planar(t16[:, :, 0] / 65535.0))

    tf = (rng.randn(H, W, 3) * 2.5).astype(np.float32)
    write("float3.tif", tiff_bytes(tf, "f4", 2, rows_per_strip=2))
    save_f32("float3.tif.f32", planar(tf))

    TW, TH = 37, 21
    tt = rng.randint(0, 256, (TH, TW, 4)).astype(np.uint8)
    write("tiled_rgba.tif", tiff_bytes(tt, "u1", 2, tile=(16, 16), extra=[2]))
    save_f32("tiled_rgba.tif.f32", planar(tt[:, :, :3] / 255.0))

    tp = rng.randint(0, 65536, (H, W, 3)).astype(np.uint16)
    write("planar16.tif", tiff_bytes(tp, "u2", 2, planar_sep=True, rows_per_strip=3))
    save_f32("planar16.tif.f32", planar(tp / 65535.0))

    tg = rng.randint(0, 256, (H, W, 1)).astype(np.uint8)
    write("gray8_ifdfirst.tif", tiff_bytes(tg, "u1", 1, rows_per_strip=2, ifd_first=True))
    save_f32("gray8_ifdfirst.tif.f32", planar(tg[:, :, 0] / 255.0))

    tn = np.ones((H, W, 1), np.float32)
    tn[3, 5, 0] = np.nan
    write("nan.tif", tiff_bytes(tn, "f4", 1))
    write("huge_cols.tif", tiff_bytes(t16[:1, :4], "u2", 1, width=1 << 31))
    write("zero_width.tif", tiff_bytes(t16, "u2", 1, width=0))

    # ---- resize and preprocessing references ----
    import torch
    import torch.nn.functional as F
    x = rng.rand(3, H, W).astype(np.float32)
    save_f32("resize_in.f32", x)
    xt = torch.from_numpy(x)[None]
    for oh, ow in ((5, 9), (11, 17), (4, 20), (1, 1), (14, 26)):
        y = F.interpolate(xt, size=(oh, ow), mode="bilinear", align_corners=False, antialias=False)
        save_f32("resize_%dx%d.f32" % (oh, ow), y[0].numpy())
    # RGB -> 1 channel at 5 x 9, mean 0.5, std 0.25 (resize first here, the
    # engine converts first: both linear, so they agree to rounding).
    y = F.interpolate(xt, size=(5, 9), mode="bilinear", align_corners=False)[0].double()
    lum = 0.299 * y[0] + 0.587 * y[1] + 0.114 * y[2]
    save_f32("pre_lum_5x9.f32", ((lum - 0.5) / 0.25)[None].numpy())
    # gray -> 3 channels at 9 x 15 with ImageNet mean/std.
    g = xt[:, :1]
    y = F.interpolate(g, size=(9, 15), mode="bilinear", align_corners=False)[0, 0].double()
    mean, std = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
    save_f32("pre_rep_9x15.f32", np.stack([(y.numpy() - m) / s for m, s in zip(mean, std)]))


if __name__ == "__main__":
    main()
