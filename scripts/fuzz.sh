#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the libFuzzer targets with clang and runs each for SECONDS (default 20) on its corpus.
# Any crash, leak or sanitizer report fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-20}
# Paths in the compiler cache relative to this tree (as scripts/build.sh): a clone elsewhere hits.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14 \
  -DDIALTONE_FUZZ=ON -DDIALTONE_TESTS=OFF -DDIALTONE_BENCH=OFF >/dev/null
targets=(fuzz_request fuzz_report fuzz_jwt fuzz_iso_time fuzz_snapshot fuzz_sdp fuzz_web fuzz_push fuzz_bus fuzz_config fuzz_http fuzz_ws_frame)
cmake --build build-fuzz -j "$(nproc)" --target "${targets[@]}"
# One target per core at a time: each still fuzzes for SECONDS on a core of its own.
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT
run_one() {
  local target=$1 name=${1#fuzz_} work log
  work=$(mktemp -d)
  cp -r "fuzz/corpus/$name/." "$work/"
  log=$results/$target.log
  # UndefinedBehaviorSanitizer reports and goes on: its "runtime error" fails the run too.
  if ! ./build-fuzz/fuzz/"$target" -max_total_time="$seconds" -max_len=70000 -print_final_stats=1 \
       "$work" >"$log" 2>&1 || grep -q "runtime error:" "$log"; then
    echo failed >"$results/$target.status"
  else
    echo ok >"$results/$target.status"
  fi
  rm -rf "$work"
}
jobs_max=$(nproc)
for target in "${targets[@]}"; do
  while (( $(jobs -rp | wc -l) >= jobs_max )); do wait -n || true; done
  run_one "$target" &
done
wait
total=0
failed=0
for target in "${targets[@]}"; do
  log=$results/$target.log
  if [[ "$(cat "$results/$target.status" 2>/dev/null)" != ok ]]; then
    grep -A30 "runtime error:" "$log" | head -60 || true
    tail -50 "$log"
    echo "fuzz: $target FAILED"
    failed=$((failed + 1))
    continue
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  total=$((total + execs))
  echo "fuzz: $target ok, $execs executions in ${seconds}s"
done
echo "fuzz: $total executions in all"
echo "fuzz: $(( ${#targets[@]} - failed )) passed, $failed failed"
(( failed == 0 ))
