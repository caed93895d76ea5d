#!/usr/bin/python3
"""Train gad's bundled demo model: a small CNN on Fashion-MNIST (Debian
dataset-fashion-mnist), exported to ONNX, plus a few dozen test images.

Writes (all small enough to commit):
  tools/demo/fashion_cnn.onnx   the classifier (inputs 1x28x28 in [0, 1], 10 logits)
  tools/demo/labels.txt         class names, one a line, index order
  tools/demo/images/*.png       test-set images of the demo pair (Sneaker, Ankle boot)
  tools/demo/train.json         how it was trained and its test accuracy
  tools/demo/reference.json     PyTorch's logits for each bundled image (read
                                back from the PNG), the reference gad must match

Deterministic for a given PyTorch build: fixed seeds, 2 threads.
Usage: /usr/bin/python3 tools/train_demo.py [--epochs 4]
"""
import argparse
import gzip
import json
import os
import struct
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

DATA = "/usr/share/datasets/fashion-mnist"
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
PAIR = (7, 9)  # Sneaker vs Ankle boot: the pair the demo explains
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "demo")


def read_idx(name):
    with gzip.open(os.path.join(DATA, name), "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


class FashionCNN(nn.Module):
    """Three conv blocks (BN folded by gad at load), dropout, linear head."""

    def __init__(self):
        super().__init__()
        self.c1 = nn.Conv2d(1, 16, 3, padding=1, bias=False)
        self.b1 = nn.BatchNorm2d(16)
        self.c2 = nn.Conv2d(16, 32, 3, padding=1, bias=False)
        self.b2 = nn.BatchNorm2d(32)
        self.c3 = nn.Conv2d(32, 32, 3, padding=1, bias=False)
        self.b3 = nn.BatchNorm2d(32)
        self.drop = nn.Dropout(0.25)
        self.fc = nn.Linear(32 * 7 * 7, 10)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.b1(self.c1(x))), 2)
        x = F.max_pool2d(F.relu(self.b2(self.c2(x))), 2)
        x = F.relu(self.b3(self.c3(x)))
        return self.fc(self.drop(torch.flatten(x, 1)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--images", type=int, default=24, help="test images per class of the pair")
    args = ap.parse_args()
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(2)

    xtr = torch.from_numpy(read_idx("train-images-idx3-ubyte.gz").astype(np.float32) / 255.0).unsqueeze(1)
    ytr = torch.from_numpy(read_idx("train-labels-idx1-ubyte.gz").astype(np.int64))
    xte = torch.from_numpy(read_idx("t10k-images-idx3-ubyte.gz").astype(np.float32) / 255.0).unsqueeze(1)
    yte = torch.from_numpy(read_idx("t10k-labels-idx1-ubyte.gz").astype(np.int64))

    model = FashionCNN()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    t0 = time.time()
    for epoch in range(args.epochs):
        model.train()
        perm = torch.randperm(len(xtr))
        for i in range(0, len(xtr), 128):
            idx = perm[i:i + 128]
            opt.zero_grad()
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
        model.eval()
        with torch.no_grad():
            pred = torch.cat([model(xte[i:i + 1000]).argmax(1) for i in range(0, len(xte), 1000)])
        acc = (pred == yte).float().mean().item()
        pair = (yte == PAIR[0]) | (yte == PAIR[1])
        print(f"epoch {epoch + 1}: loss {loss.item():.3f} test accuracy {acc:.4f} "
              f"pair accuracy {(pred[pair] == yte[pair]).float().mean().item():.4f}", flush=True)

    os.makedirs(os.path.join(OUT, "images"), exist_ok=True)
    model.eval()
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), os.path.join(OUT, "fashion_cnn.onnx"),
                      input_names=["image"], output_names=["logits"],
                      dynamic_axes={"image": {0: "batch"}, "logits": {0: "batch"}},
                      opset_version=13)
    with open(os.path.join(OUT, "labels.txt"), "w") as f:
        f.write("\n".join(CLASSES) + "\n")

    from PIL import Image
    for old in os.listdir(os.path.join(OUT, "images")):
        os.remove(os.path.join(OUT, "images", old))
    for c in PAIR:
        idx = (yte == c).nonzero().flatten()[:args.images]
        for i in idx.tolist():
            name = f"{CLASSES[c].split('/')[0].lower().replace(' ', '-')}-{i:05d}.png"
            Image.fromarray((xte[i, 0].numpy() * 255).round().astype(np.uint8), "L").save(
                os.path.join(OUT, "images", name))
    ref = {}
    with torch.no_grad():
        for name in sorted(os.listdir(os.path.join(OUT, "images"))):
            img = np.asarray(Image.open(os.path.join(OUT, "images", name)), dtype=np.float32) / 255.0
            ref[name] = [float(v) for v in model(torch.from_numpy(img)[None, None])[0]]
    with open(os.path.join(OUT, "reference.json"), "w") as f:
        json.dump(ref, f, indent=1)
    info = {"data": DATA, "epochs": args.epochs, "optimizer": "Adam lr 2e-3 batch 128",
            "test_accuracy": acc, "pair": [PAIR[0], PAIR[1]],
            "pair_names": [CLASSES[PAIR[0]], CLASSES[PAIR[1]]],
            "seconds": round(time.time() - t0, 1), "torch": torch.__version__}
    with open(os.path.join(OUT, "train.json"), "w") as f:
        json.dump(info, f, indent=2)
    print(json.dumps(info))


if __name__ == "__main__":
    main()
