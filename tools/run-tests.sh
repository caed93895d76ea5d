#!/usr/bin/env bash
# Set up (Debian packages), build, and run every test: the normal build, then
# the same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# Usage (as root on a fresh Debian 12): bash tools/run-tests.sh
# GAD_SKIP_SANITIZE=1 skips the sanitizer pass.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh
jobs=$(nproc)

cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DGAD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
echo "== tests (RelWithDebInfo build)"
build/tests/gad_tests

echo "== install check (cmake --install, pkg-config)"
prefix=$(mktemp -d)
cmake --install build --prefix "$prefix" >/dev/null
PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig" \
  cc -std=c11 -Wall -Wextra -o "$prefix/consumer" tests/install/consumer.c \
  $(PKG_CONFIG_PATH="$prefix/lib/pkgconfig:$prefix/lib/x86_64-linux-gnu/pkgconfig" pkg-config --cflags --libs gad) \
  -Wl,-rpath,"$prefix/lib" -Wl,-rpath,"$prefix/lib/x86_64-linux-gnu"
"$prefix/consumer" tools/demo/fashion_cnn.onnx
"$prefix/bin/gad" --version
rm -rf "$prefix"

if [ "${GAD_SKIP_SANITIZE:-0}" != 1 ]; then
  cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DGAD_SANITIZE=ON -DGAD_WERROR=ON >/dev/null
  cmake --build build-asan -j"$jobs"
  echo "== tests under AddressSanitizer + UndefinedBehaviorSanitizer"
  # oneDNN keeps process-wide caches (primitive cache, JIT code) alive until
  # exit; those are not ours. Anything else that leaks fails the run.
  ASAN_OPTIONS=halt_on_error=1:detect_leaks=1 \
  UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
  LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
  build-asan/tests/gad_tests
fi
