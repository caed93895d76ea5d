#!/usr/bin/env bash
# Set up (Debian packages), build, and run gad's main job on the bundled
# default: `gad demo` fits GAD's support models for Sneaker vs Ankle boot on
# the bundled Fashion-MNIST CNN, explains and evaluates the bundled images, and
# writes gad-demo/index.html (or the folder given as the first argument).
# Usage (as root on a fresh Debian 12): bash tools/run-demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
GAD_SETUP_NO_TORCH=${GAD_SETUP_NO_TORCH:-1} bash tools/setup.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"
build/gad demo --out "${1:-gad-demo}"
