#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Accept → first audio through each kind of network path (host, srflx, relay over UDP, TCP and
# port 443) and address change → audio back, for the C++ CLI and for Chromium, in the field lab
# of tests/web/lab.mjs (network namespaces: root). Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test
(cd tests/web && npm ci --no-audit --no-fund --silent)
bash scripts/build.sh build-release Release -DDIALTONE_TESTS=OFF -DDIALTONE_BENCH=ON
DIALTONED="$PWD/build-release/src/dialtoned" DIALTONE_CLI="$PWD/build-release/src/dialtone" \
  node bench/paths.mjs "${BENCH_ROUNDS:-5}"
