#!/usr/bin/env bash
# Installs every Debian package gad's build, tests and fixture tools need.
# Idempotent; run as root on Debian 12. Set GAD_SETUP_NO_TORCH=1 to skip the
# (large) PyTorch reference stack used by the fixture generators, the
# benchmarks and some tests (those are then skipped with a visible message).
set -euo pipefail

pkgs=(
  build-essential cmake pkg-config
  libdnnl-dev
  libtiff-dev libpng-dev libjpeg-dev
  libcunit1-dev
  libprotobuf-c-dev protobuf-c-compiler libonnx-dev
  libonnx-testdata zlib1g-dev
  dataset-fashion-mnist
  openmpi-bin libopenmpi-dev
  clang libclang-rt-14-dev libomp-dev valgrind
)
if [ "${GAD_SETUP_NO_TORCH:-0}" != 1 ]; then
  pkgs+=(python3-torch python3-torchvision python3-numpy python3-onnx python3-pil python3-scipy python3-mpmath)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages already installed"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "setup: missing packages: ${missing[*]}; run this script as root" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: installed ${missing[*]}"
