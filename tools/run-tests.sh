#!/usr/bin/env bash
# Set up (Debian packages), build, and run every test: the normal build, then
# the same suite under AddressSanitizer + UndefinedBehaviorSanitizer.
# Usage (as root on a fresh Debian 12): bash tools/run-tests.sh
# GAD_SKIP_SANITIZE=1 skips the sanitizer pass, GAD_SKIP_VALGRIND=1 the valgrind
# run, GAD_SKIP_FUZZ=1 the short fuzzing pass (GAD_FUZZ_SECONDS per harness).
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

if [ "${GAD_SKIP_VALGRIND:-0}" != 1 ]; then
  echo "== one end-to-end attribution under valgrind memcheck"
  # valgrind 3.19 cannot run AVX-512 code: oneDNN's JIT and gad's kernels are
  # held to AVX2. Zero errors and zero definitely-lost bytes, no suppressions.
  vg=$(mktemp -d)
  ONEDNN_MAX_CPU_ISA=AVX2 GAD_SIMD=avx2 OMP_NUM_THREADS=2 \
    valgrind --tool=memcheck --error-exitcode=99 --leak-check=full \
    --show-leak-kinds=definite --errors-for-leak-kinds=definite --log-file="$vg/valgrind.log" \
    build/gad attribute --model tools/demo/fashion_cnn.onnx --method ig --steps 8 --out "$vg/out" \
    tools/demo/images/ankle-boot-00000.png tools/demo/images/sneaker-00009.png >/dev/null ||
    { cat "$vg/valgrind.log"; exit 1; }
  grep -q "ERROR SUMMARY: 0 errors" "$vg/valgrind.log"
  grep -Eq "definitely lost: 0 bytes|no leaks are possible" "$vg/valgrind.log"
  [ "$(ls "$vg/out"/*.attr.tiff | wc -l)" = 2 ]
  rm -rf "$vg"
fi

if [ "${GAD_SKIP_FUZZ:-0}" != 1 ]; then
  echo "== libFuzzer harnesses (clang, ASan + UBSan), ${GAD_FUZZ_SECONDS:-15} s each on a copy of fuzz/corpus"
  tools/fuzz.sh "${GAD_FUZZ_SECONDS:-15}"
fi
