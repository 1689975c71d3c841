#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 20) on its corpus.
# Any crash, leak or sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
  -DDIALTONE_FUZZ=ON -DDIALTONE_TESTS=OFF -DDIALTONE_BENCH=OFF >/dev/null
targets=(fuzz_request fuzz_report fuzz_jwt fuzz_iso_time fuzz_snapshot fuzz_sdp fuzz_web fuzz_push fuzz_bus fuzz_config fuzz_http)
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]}"
total=0
for target in "${targets[@]}"; do
  name=${target#fuzz_}
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$name/." "$work/"
  log=$(mktemp)
  # UndefinedBehaviorSanitizer reports and goes on: its "runtime error" fails the run too.
  if ! ./build-fuzz/fuzz/"$target" -max_total_time="$seconds" -max_len=70000 -print_final_stats=1 \
       "$work" >"$log" 2>&1 || grep -q "runtime error:" "$log"; then
    grep -A30 "runtime error:" "$log" | head -60 || true
    tail -50 "$log"
    echo "fuzz: $target FAILED"
    exit 1
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  total=$((total + execs))
  echo "fuzz: $target ok, $execs executions in ${seconds}s"
  rm -rf "$work" "$log"
done
echo "fuzz: $total executions in all"
echo "fuzz: ${#targets[@]} passed, 0 failed"
