#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is needed, builds, and runs every test: each libFuzzer target for FUZZ_SECONDS
# (default 20), then every CTest test once — on the sanitized build or on the normal one (below).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/deps.sh --test
(cd tests/web && npm ci --no-audit --no-fund --silent)

bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"

# One build for each kind of test, so nothing runs twice:
# - under AddressSanitizer and UndefinedBehaviorSanitizer, every unit, integration, media, SDK,
#   CLI and browser test (real dialtoned processes, PostgreSQL, NATS, coturn, Chromium);
# - on the normal build, what needs real time or a real installation: the field labs (calls in
#   real time across network namespaces, with timing checks an instrumented build slows past),
#   the installed SDK (install.sdk), the Debian packages (packages.debian) and the benchmark's
#   smoke test.
bash scripts/build.sh build-asan Debug -DDIALTONE_SANITIZE=address,undefined -DDIALTONE_BENCH=OFF
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$root/tests/lsan.supp" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest -j "$(nproc)" --output-on-failure --timeout 300 -L '^(unit|integration|media|sdk|cli|web)$' \
    -E '^web\.lab')

bash scripts/build.sh build RelWithDebInfo
cd build
ctest -j "$(nproc)" --output-on-failure --timeout 300 -L '^(web|install|packages|bench)$' \
  -R '^(web\.lab|install\.|packages\.|bench_)'
