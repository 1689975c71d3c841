#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The media measurements of docs/benchmarks.md in one go on this machine: first audio (webrtcbin
# transports; the SDK through dialtoned), the same through coturn, mouth-to-ear, CPU per call —
# and the anchor, Chromium to Chromium (Debian's chromium through playwright-core), in the same
# run. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
(cd bench/chromium && npm ci --no-audit --no-fund --silent)
bash scripts/build.sh build-release Release -DDIALTONE_TESTS=OFF -DDIALTONE_BENCH=ON
./build-release/bench/dialtone-media-bench --iterations "${BENCH_ITERATIONS:-15}" --chromium bench/chromium
