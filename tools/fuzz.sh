#!/usr/bin/env bash
# Build the libFuzzer harnesses (clang, ASan + UBSan) and run each for a
# bounded time on a temporary copy of its seed corpus, so the committed
# corpus in fuzz/corpus/ never grows.
# Usage: tools/fuzz.sh [seconds-per-harness=20] [harness...]
#   GAD_FUZZ_BUILD: build dir (default build-fuzz)
#   GAD_FUZZ_OUT: keep logs, corpora and crash files here (default: a temp dir,
#                 removed on success)
# Exits non-zero if any harness finds a crash, leak, timeout or OOM.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
shift || true
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=(fuzz_onnx fuzz_tiff fuzz_png fuzz_jpeg fuzz_args)
build=${GAD_FUZZ_BUILD:-build-fuzz}

CC=clang cmake -S . -B "$build" -DGAD_FUZZ=ON -DGAD_BUILD_TESTS=OFF -DGAD_BUILD_BENCH=OFF \
  -DBUILD_SHARED_LIBS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" --target fuzzers >/dev/null

out=${GAD_FUZZ_OUT:-}
keep=1
if [ -z "$out" ]; then out=$(mktemp -d); keep=0; fi
fail=0
for h in "${harnesses[@]}"; do
  name=${h#fuzz_}
  dir="$out/$h"
  mkdir -p "$dir/corpus" "$dir/crashes"
  cp fuzz/corpus/"$name"/* "$dir/corpus/"
  dict=()
  [ -f fuzz/"$name".dict ] && dict=(-dict=fuzz/"$name".dict)
  # 2 GB RSS and 10 s per input: a loader that needs more is a finding.
  if "$build/fuzz/$h" "${dict[@]}" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 \
      -print_final_stats=1 -artifact_prefix="$dir/crashes/" "$dir/corpus" >"$dir/log" 2>&1; then
    echo "fuzz: $h ok ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$dir/log" | grep -o '[0-9]*$') runs," \
         "$(grep -o 'cov: [0-9]*' "$dir/log" | tail -1))"
  else
    echo "fuzz: $h FAILED; last lines of its log:" >&2
    tail -40 "$dir/log" >&2
    ls "$dir/crashes" >&2
    fail=1
    keep=1
  fi
done
if [ "$keep" = 1 ]; then echo "fuzz: logs and artifacts in $out"; else rm -rf "$out"; fi
exit $fail
