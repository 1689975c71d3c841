#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is needed, builds, and runs dialtoned on the embedded default
# (SQLite under ./data, development tokens, 127.0.0.1:8080). Extra arguments go to dialtoned.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
bash scripts/build.sh build-release Release -DDIALTONE_TESTS=OFF -DDIALTONE_BENCH=OFF
exec ./build-release/src/dialtoned "$@"
