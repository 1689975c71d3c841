#!/usr/bin/env bash
# Installs what is needed, builds, and runs every test: each libFuzzer target for FUZZ_SECONDS
# (default 20), then the unit and integration tests (CTest, against real dialtoned processes).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh --test

bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"

bash scripts/build.sh build RelWithDebInfo
cd build
ctest -j "$(nproc)" --output-on-failure --timeout 300
