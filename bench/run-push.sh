#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Push never delays signaling (docs/benchmarks.md, "Push"): call flows with push services that
# answer, that hang, and without push targets, in one run.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test   # node, for the loopback push services
bash scripts/build.sh build-release Release -DDIALTONE_TESTS=OFF -DDIALTONE_BENCH=ON
node bench/push_bench.mjs ./build-release/bench/dialtone-bench "${BENCH_SECONDS:-10}"
