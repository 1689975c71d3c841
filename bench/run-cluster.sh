#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# One node on SQLite, one on PostgreSQL, two and three nodes on PostgreSQL + NATS, in one run
# (docs/benchmarks.md, "Several nodes"). PostgreSQL (default durability settings: fsync and
# synchronous_commit on) and nats-server are Debian's, started here on loopback in a temporary
# directory and stopped at the end. Each caller talks to one node and its receiver to the next,
# so with several nodes every call crosses nodes.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test   # postgresql, nats-server
bash scripts/build.sh build-release Release -DDIALTONE_TESTS=OFF -DDIALTONE_BENCH=ON
B=./build-release/bench/dialtone-bench
D=./build-release/src/dialtoned
secs=${BENCH_SECONDS:-10}
pairs=${BENCH_PAIRS:-10}

tmp=$(mktemp -d /tmp/dialtone-cluster-bench.XXXXXX)
chown postgres "$tmp"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$tmp"
}
trap cleanup EXIT

wait_port() {
  for _ in $(seq 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "nothing listens on $1" >&2; return 1
}

pgbin=/usr/lib/postgresql/15/bin
runuser -u postgres -- "$pgbin/initdb" -D "$tmp/pg" -A trust -U postgres >/dev/null
runuser -u postgres -- "$pgbin/postgres" -D "$tmp/pg" -p 55432 -k "$tmp" \
  -c listen_addresses=127.0.0.1 -c max_connections=100 >"$tmp/pg.log" 2>&1 &
pids+=($!)
/usr/sbin/nats-server -a 127.0.0.1 -p 54222 >"$tmp/nats.log" 2>&1 &
pids+=($!)
wait_port 55432
wait_port 54222

# CPU seconds of a process and its exited children (PostgreSQL's backends end with their nodes).
cpu_of() { awk '{printf "%.2f", ($14+$15+$16+$17)/100}' "/proc/$1/stat"; }
pg_pid=$(head -1 "$tmp/pg/postmaster.pid")
nats_pid=${pids[1]}

# n nodes on a fresh database, sharing one data dir (their development-token key); $4: extra
# libpq URL parameters.
run_nodes() {
  local n=$1 db=$2 bus=$3 params=${4:-}
  runuser -u postgres -- psql -q -h 127.0.0.1 -p 55432 -U postgres -c "CREATE DATABASE $db"
  local connect="" node_pids=()
  mkdir -p "$tmp/$db"
  for i in $(seq 0 $((n - 1))); do
    local port=$((56000 + i))
    # (the abuse limits are off: the load comes from a few hundred users on one address)
    local args=(--listen "127.0.0.1:$port" --data-dir "$tmp/$db" --log-level warn
                --store "postgresql://postgres@127.0.0.1:55432/$db$params"
                --limit-calls-per-min 0 --limit-requests-per-s 0 --limit-messages-per-s 0
                --limit-connections-per-ip 0 --limit-session-opens-per-min 0
                --limit-auth-failures-per-min 0)
    [[ -n "$bus" ]] && args+=(--bus "$bus")
    "$D" "${args[@]}" >"$tmp/$db-$i.log" 2>&1 &
    node_pids+=($!)
    wait_port "$port"
    connect+="${connect:+,}127.0.0.1:$port"
  done
  local pid_args=()
  for p in "${node_pids[@]}"; do pid_args+=(--pid "$p"); done
  local pg0 nats0
  pg0=$(cpu_of "$pg_pid"); nats0=$(cpu_of "$nats_pid")
  "$B" --connect "$connect" "${pid_args[@]}" --pairs "$pairs" --flows 1000000 --duration "$secs" \
    --user-prefix "$db" | tee "$tmp/$db.out"
  for p in "${node_pids[@]}"; do kill "$p"; wait "$p" || true; done
  sleep 0.5  # the backends exit
  local flows
  flows=$(sed -n 's/.* flows=\([0-9]*\).*/\1/p' "$tmp/$db.out")
  awk -v a="$pg0" -v b="$(cpu_of "$pg_pid")" -v c="$nats0" -v d="$(cpu_of "$nats_pid")" -v f="$flows" \
    'BEGIN { printf "postgres_cpu_ms_per_flow=%.3f nats_cpu_ms_per_flow=%.3f\n", (b-a)*1000/f, (d-c)*1000/f }'
}

echo "### 1 node, SQLite ($pairs pairs)"
"$B" --pairs "$pairs" --flows 1000000 --duration "$secs"
echo "### 1 node, PostgreSQL ($pairs pairs)"
run_nodes 1 one ""
echo "### 1 node, PostgreSQL, 50 pairs: more transitions in flight, larger batches"
pairs=50 run_nodes 1 fifty ""
echo "### 1 node, PostgreSQL with synchronous_commit=off: the commit's WAL flush taken out"
run_nodes 1 nosync "" "?options=-csynchronous_commit%3Doff"
echo "### 2 nodes, PostgreSQL + NATS ($pairs pairs)"
run_nodes 2 two nats://127.0.0.1:54222
echo "### 3 nodes, PostgreSQL + NATS ($pairs pairs)"
run_nodes 3 three nats://127.0.0.1:54222
