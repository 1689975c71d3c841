#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is needed, builds, and runs every test: each libFuzzer target for FUZZ_SECONDS
# (default 20), the unit and integration tests (CTest, against real dialtoned processes) under
# ASan/UBSan (the field labs excepted), and then every test on the normal build (whose CTest
# summary closes the output).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
bash scripts/deps.sh --test
(cd tests/web && npm ci --no-audit --no-fund --silent)

bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"

# The whole suite once more under AddressSanitizer and UndefinedBehaviorSanitizer, but for the
# field labs (web.lab, web.lab_cluster): their calls run in real time across network namespaces
# with timing checks an instrumented build slows past, and they exercise the same code as the
# sanitized SDK, CLI and recovery tests; they run on the normal build below. (CI has 90 minutes.)
# And for install.sdk: programs built against an installed sanitized library would need the
# sanitizers too; it installs the normal build below.
bash scripts/build.sh build-asan Debug -DDIALTONE_SANITIZE=address,undefined -DDIALTONE_BENCH=OFF
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$root/tests/lsan.supp" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest -j "$(nproc)" --output-on-failure --timeout 300 -E '^(web\.lab|install\.|packages\.)')

bash scripts/build.sh build RelWithDebInfo
cd build
ctest -j "$(nproc)" --output-on-failure --timeout 300
