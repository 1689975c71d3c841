#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is needed, builds, and runs every test: each libFuzzer target for FUZZ_SECONDS
# (default 20), then every CTest test once — on the sanitized build or on the normal one (below).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Each phase says how long it took, and the whole how long it has run so far.
started=$(date +%s)
phase_start=$started
phase() {
  local now
  now=$(date +%s)
  echo "test.sh: $1 took $((now - phase_start)) s ($((now - started)) s so far)"
  phase_start=$now
}
bash scripts/deps.sh --test
(cd tests/web && npm ci --no-audit --no-fund --silent)
(cd tests/contract && npm ci --no-audit --no-fund --silent)
phase "packages (Debian, npm)"

bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
phase "fuzzing"

# One build for each kind of test, so nothing runs twice:
# - under AddressSanitizer and UndefinedBehaviorSanitizer, every unit, integration, media, SDK,
#   CLI and browser test (real dialtoned processes, PostgreSQL, NATS, coturn, Chromium);
# - on the normal build, what needs real time or a real installation: the field labs (calls in
#   real time across network namespaces, with timing checks an instrumented build slows past),
#   the installed SDK (install.sdk), the Debian packages (packages.debian) and the benchmark's
#   smoke test.
bash scripts/build.sh build-asan Debug -DDIALTONE_SANITIZE=address,undefined -DDIALTONE_BENCH=OFF
phase "the sanitizer build"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$root/tests/lsan.supp" UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest -j "$(nproc)" --output-on-failure --timeout 300 -L '^(unit|integration|media|sdk|cli|web)$' \
    -E '^web\.lab')
phase "the suite under the sanitizers"

# Only what that half needs (the server, the CLI, the SDK library and the man pages that
# install.sdk installs, the load generator): the test programs were built, and ran, above.
TARGETS="dialtoned dialtone_cli dialtone dialtone-bench man_pages" \
  bash scripts/build.sh build RelWithDebInfo
phase "the normal build"
cd build
ctest -j "$(nproc)" --output-on-failure --timeout 300 -L '^(web|install|packages|bench)$' \
  -R '^(web\.lab|install\.|packages\.|bench_)'
phase "field labs, installation, packages, benchmark smoke test"
