#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Runs every measurement of docs/benchmarks.md's "Signaling" in one go on this machine, with its
# anchor in the same run: Janus's VideoCall plugin (Debian's janus 1.1.2) driven by the same
# generator, at its best — whichever of its two ways is faster (sessions kept, which must wait
# for Janus to close both PeerConnections between calls; or a fresh Janus session per call).
# Then the ratios of issue 19's targets. BENCH_SECONDS per line (default 10), BENCH_PART=all,
# dialtoned or janus.
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
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

# line NAME ARGS…: runs the generator, shows its output, keeps it as $out/NAME.
line() {
  local name=$1
  shift
  echo "### $name"
  "$B" "$@" | tee "$out/$name" || echo "(the generator stopped: the server is gone)" | tee -a "$out/$name"
}
# value NAME KEY: the number after KEY= in that line's output (the first one).
value() { grep -o "$2=[0-9.]*" "$out/$1" 2>/dev/null | head -1 | cut -d= -f2; }

if [[ "$part" != janus ]]; then
  line d1 --pairs 1 --flows 1000000 --duration "$secs"
  line d10 --pairs 10 --flows 1000000 --duration "$secs"
  line d10fresh --pairs 10 --fresh-session --flows 1000000 --duration "$secs"
  line d200 --pairs 200 --flows 1000000 --duration "$secs"
  line d1000 --pairs 1000 --think-ms 1000 --flows 1000000 --duration "$secs"
  line dmem --pairs 1 --flows 100 --duration 5 --idle-sessions 2000 --active-calls 1000
fi

if [[ "$part" != dialtoned ]]; then
  # A fresh Janus for each attempt: under load Janus 1.1.2 sometimes crashes (libnice) or drops
  # every WebSocket at once (seen after ~1,500-1,700 fresh-session calls in 2 of 3 runs), and a
  # broken run is not its best. So each line runs 2,000 calls, up to three times, until one has
  # no error.
  ulimit -c 0  # no core dump in the work tree when it crashes
  for spec in "j10:10:" "j10fresh:10:--fresh-session" "j50:50:"; do
    IFS=: read -r name pairs flag <<<"$spec"
    for attempt in 1 2 3; do
      janus -F bench/janus -C bench/janus/janus.jcfg >"/tmp/dialtone-bench-janus-$name.log" 2>&1 &
      jpid=$!
      for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/8188) 2>/dev/null && break; sleep 0.1; done
      # shellcheck disable=SC2086 # an optional flag
      line "$name" --janus 127.0.0.1:8188 --pid "$jpid" --pairs "$pairs" $flag --flows 2000 \
        --duration "$secs" --user-prefix "$name$attempt"
      if kill -0 "$jpid" 2>/dev/null; then kill "$jpid"; wait "$jpid" || true
      else wait "$jpid" || echo "(Janus exited with status $?)"; fi
      [[ "$(value "$name" errors)" == 0 ]] && break
      echo "(attempt $attempt had errors: again with a fresh Janus)"
    done
  done
fi

if [[ "$part" == all ]]; then
  kept=$(value j10 calls_per_s) fresh=$(value j10fresh calls_per_s)
  best=$(awk -v a="$kept" -v b="$fresh" 'BEGIN { print (a > b ? a : b) }')
  bestline=$(awk -v a="$kept" -v b="$fresh" 'BEGIN { print (a > b ? "j10" : "j10fresh") }')
  echo
  echo "### Against Janus at its best, 10 pairs: ${best}/s (sessions kept ${kept}/s, fresh session ${fresh}/s)"
  awk -v d="$(value d10 flows_per_s)" -v f="$(value d10fresh flows_per_s)" -v j="$best" \
    -v dp="$(grep -o 'lifecycle_us p50=[0-9]* p99=[0-9]*' "$out/d10" | grep -o 'p99=[0-9]*' | cut -d= -f2)" \
    -v jp="$(grep -o 'lifecycle_us p50=[0-9]* p99=[0-9]*' "$out/$bestline" | grep -o 'p99=[0-9]*' | cut -d= -f2)" \
    -v u="$(grep -o 'op_to_event_us p50=[0-9]* p99=[0-9]*' "$out/d1" | grep -o 'p99=[0-9]*' | cut -d= -f2)" \
    -v c="$(value d200 server_cpu_ms_per_flow)" -v jc="$(value "$bestline" server_cpu_ms_per_call)" \
    -v is="$(value dmem rss_per_idle_session_kib)" -v ac="$(value dmem rss_per_active_call_kib)" \
    -v sc="$(value dmem store_cache_growth_per_active_call_kib)" 'BEGIN {
      printf "lifecycles/s, sessions kept:      %6.0f  = %.2fx Janus (target >= 5x)\n", d, d / j
      printf "lifecycles/s, fresh session:      %6.0f  = %.2fx Janus (target >= 3x)\n", f, f / j
      printf "whole lifecycle p99, kept:        %6.1f ms against Janus %.1f ms (target: no worse)\n", dp / 1000, jp / 1000
      printf "op->event p99 unloaded:           %6.2f ms (target <= 2 ms)\n", u / 1000
      printf "server CPU per lifecycle, 200 pairs: %.3f ms (Janus %.3f ms; target <= 0.3 ms)\n", c, jc
      printf "RSS per idle session:             %6.2f KiB (target <= 4)\n", is
      printf "RSS per active call:              %6.2f KiB (target <= 2); %.2f KiB of it the SQLite page cache filling, %.2f KiB the call itself\n", ac, sc, ac - sc
    }'
fi
