#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# A bounded soak: one dialtoned (Release, SQLite) under steady load for SOAK_MINUTES (default
# 20) — SOAK_PAIRS caller/receiver pairs (default 300), one call flow per pair per second, the
# generator reconnecting every minute — with the server's RSS, open file descriptors, op→event
# latency and throughput, and the database and WAL file sizes recorded for every minute. Growth
# from the first minutes to the last beyond noise is a leak (the database itself grows with the
# call history). Stops by itself.
#
# SOAK_RETENTION=1: with history_retention_days = 1, and after each minute the calls of the
# minutes before are made two days old (sqlite3 on the live database; a day cannot pass in a
# soak), so every retention round (5 s after start, then every 5 minutes) finds the history of
# the last five minutes to delete: the database must stop growing.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --bench
# SOAK_BUILD=DIR: an existing build with DIALTONE_BENCH=ON instead of a Release build here.
build=${SOAK_BUILD:-build-release}
if [[ -z "${SOAK_BUILD:-}" ]]; then
  bash scripts/build.sh build-release Release -DDIALTONE_TESTS=OFF -DDIALTONE_BENCH=ON
fi
B=./$build/bench/dialtone-bench
D=./$build/src/dialtoned
minutes=${SOAK_MINUTES:-20}
pairs=${SOAK_PAIRS:-300}
tmp=$(mktemp -d)
retention=${SOAK_RETENTION:-0}
extra=()
if [[ "$retention" == 1 ]]; then extra=(--history-retention-days 1); fi
# (the abuse limits are off: the load comes from a few hundred users on one address)
DIALTONED_LIMIT_CALLS_PER_MIN=0 DIALTONED_LIMIT_REQUESTS_PER_S=0 DIALTONED_LIMIT_MESSAGES_PER_S=0 \
DIALTONED_LIMIT_CONNECTIONS_PER_IP=0 DIALTONED_LIMIT_SESSION_OPENS_PER_MIN=0 \
DIALTONED_LIMIT_AUTH_FAILURES_PER_MIN=0 \
  "$D" --listen 127.0.0.1:0 --data-dir "$tmp/data" --log-level warn "${extra[@]}" \
  >"$tmp/out" 2>"$tmp/err" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$tmp"' EXIT
for _ in $(seq 100); do grep -q LISTENING "$tmp/out" && break; sleep 0.1; done
port=$(sed -n 's/^LISTENING .*:\([0-9]*\)$/\1/p' "$tmp/out")
echo "soak: dialtoned pid $pid on port $port, $pairs pairs, $minutes minutes"
printf '%-7s %-9s %-9s %-9s %-10s %-10s %-5s %-7s %-7s\n' minute flows/s p50_us p99_us p99.9_us rss_kib fds db_mib wal_mib
for m in $(seq 1 "$minutes"); do
  out=$($B --connect "127.0.0.1:$port" --pid "$pid" --pairs "$pairs" --think-ms 1000 \
           --flows 100000000 --duration 60 --user-prefix "soak" 2>&1)
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  fds=$(ls "/proc/$pid/fd" | wc -l)
  db=$(( $(stat -c %s "$tmp/data/dialtone.db") >> 20 ))
  wal=$(( $(stat -c %s "$tmp/data/dialtone.db-wal" 2>/dev/null || echo 0) >> 20 ))
  fps=$(sed -n 's/^flows_per_s=\([0-9]*\).*/\1/p' <<<"$out")
  read -r p50 p99 p999 < <(sed -n 's/^op_to_event_us p50=\([0-9]*\) p99=\([0-9]*\) p99.9=\([0-9]*\).*/\1 \2 \3/p' <<<"$out")
  errors=$(sed -n 's/.* errors=\([0-9]*\).*/\1/p' <<<"$out")
  if [[ "$retention" == 1 ]]; then
    now=$(( $(date +%s%3N) ))
    sqlite3 -cmd ".timeout 10000" "$tmp/data/dialtone.db" \
      "UPDATE calls SET created_ms = created_ms - 172800000
         WHERE created_ms > $((now - 86400000)) AND created_ms < $((now - 30000));" >/dev/null
    kept="  calls=$(sqlite3 -cmd ".timeout 10000" "$tmp/data/dialtone.db" "SELECT count(*) FROM calls")"
  fi
  printf '%-7s %-9s %-9s %-9s %-10s %-10s %-5s %-7s %-7s%s\n' "$m" "$fps" "$p50" "$p99" "$p999" \
    "$rss" "$fds" "$db" "$wal" \
    "${kept:-}$([[ "${errors:-0}" != 0 ]] && echo "  errors=$errors")"
done
echo "soak: the server's log (warnings and errors):"
cat "$tmp/err"
