#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The test command's computing half: `build` — every libFuzzer target for FUZZ_SECONDS (default
# 20) and the build under AddressSanitizer and UndefinedBehaviorSanitizer; `suite` — on that
# build every unit, integration, media, SDK, CLI and browser test (real dialtoned processes,
# PostgreSQL, NATS, coturn, Chromium), its log in build-asan/suite.log. Both, in that order,
# without an argument. scripts/test.sh runs the build beside the field labs and the suite after
# them (both halves run calls in real time).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PHASE_OF="of the computing half"
source scripts/phase.sh
what=${1:-all}

if [[ $what != suite ]]; then
  # The contract checkers' modules (1.5 GB; the suite's contract tests) install meanwhile.
  (cd tests/contract && npm ci --no-audit --no-fund --silent) &
  contract_modules=$!
  trap 'kill "$contract_modules" 2>/dev/null || true' EXIT
  bash scripts/fuzz.sh "${FUZZ_SECONDS:-20}"
  phase "fuzzing"
  bash scripts/build.sh build-asan Debug -DDIALTONE_SANITIZE=address,undefined -DDIALTONE_BENCH=OFF
  phase "the sanitizer build"
  wait "$contract_modules"
  trap - EXIT
fi
[[ $what == build ]] && exit 0

status=0
# One test more than cores: part of the time the tests wait (deadlines, rings, reconnections).
(cd build-asan && ASAN_OPTIONS=detect_leaks=1 LSAN_OPTIONS=suppressions="$root/tests/lsan.supp" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest -j "$(($(nproc) + 1))" --output-on-failure --timeout 300 -L '^(unit|integration|media|sdk|cli|web)$' \
    -E '^web\.lab') 2>&1 | tee build-asan/suite.log || status=1
phase "the suite under the sanitizers"
# The PostgreSQL template cluster this build's test processes copied (tests/support/postgres.cpp;
# named in the build's cache, so another build's is left alone).
template=$(sed -n 's/^DIALTONE_PG_TEMPLATE:INTERNAL=//p' build-asan/CMakeCache.txt)
if [[ -n $template ]]; then rm -rf "${TMPDIR:-/tmp}/$template" "${TMPDIR:-/tmp}/$template.lock"; fi
exit "$status"
