#!/usr/bin/env bash
# Set up (Debian packages), build, and run gad's main job on the bundled
# default model (a Fashion-MNIST CNN) and images.
# Usage (as root on a fresh Debian 12): bash tools/run-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
GAD_SETUP_NO_TORCH=${GAD_SETUP_NO_TORCH:-1} bash tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
build/gad info --model tools/demo/fashion_cnn.onnx
build/gad predict --model tools/demo/fashion_cnn.onnx tools/demo/images
