#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every measurement of docs/benchmarks.md in one go on this machine: dialtoned unloaded,
# under load, with 1,000 concurrent calls, its memory per session and per call; then the anchor,
# Janus's VideoCall plugin (Debian's janus 1.1.2), driven the same way in the same run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
if ! command -v janus >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends janus >/dev/null
fi
bash scripts/build.sh build-release Release -DDIALTONE_TESTS=OFF -DDIALTONE_BENCH=ON
B=./build-release/bench/dialtone-bench
secs=${BENCH_SECONDS:-10}
part=${BENCH_PART:-all}   # all, dialtoned or janus

if [[ "$part" != janus ]]; then
  echo "### dialtoned: unloaded (1 pair)"
  $B --pairs 1 --flows 1000000 --duration "$secs"
  echo "### dialtoned: 10 pairs"
  $B --pairs 10 --flows 1000000 --duration "$secs"
  echo "### dialtoned: 200 pairs (saturation)"
  $B --pairs 200 --flows 1000000 --duration "$secs"
  echo "### dialtoned: 1,000 concurrent pairs, one flow per pair per second"
  $B --pairs 1000 --think-ms 1000 --flows 1000000 --duration "$secs"
  echo "### dialtoned: memory"
  $B --pairs 1 --flows 100 --duration 5 --idle-sessions 2000 --active-calls 1000
fi

if [[ "$part" != dialtoned ]]; then
  echo "### Janus VideoCall (anchor)"
  # A fresh Janus for each line: under this load Janus 1.1.2 sometimes crashes (libnice), and one
  # crash must not take the other lines with it.
  ulimit -c 0  # no core dump in the work tree when it crashes
  for p in 1 10 50; do
    echo "#### Janus: $p pairs"
    janus -F bench/janus -C bench/janus/janus.jcfg >"/tmp/dialtone-bench-janus-$p.log" 2>&1 &
    jpid=$!
    for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8188) 2>/dev/null && break; sleep 0.1; done
    $B --janus 127.0.0.1:8188 --pid "$jpid" --pairs "$p" --flows 1000000 --duration "$secs" \
      --user-prefix "j$p" || echo "(the generator stopped: Janus is gone)"
    if kill -0 "$jpid" 2>/dev/null; then kill "$jpid"; wait "$jpid" || true
    else wait "$jpid" || echo "(Janus exited with status $?)"; fi
  done
fi
