#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs what is needed, builds, and runs every test: each libFuzzer target for FUZZ_SECONDS
# (default 20), then every CTest test once — on the sanitized build or on the normal one (below).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
# Each phase says how long it took, and the whole how long it has run so far.
source scripts/phase.sh
bash scripts/deps.sh --test
(cd tests/web && npm ci --no-audit --no-fund --silent)
phase "packages (Debian, npm)"

# One build for each kind of test, so nothing runs twice:
# - on the normal build, what needs real time, real load or a real installation: the field labs
#   (calls in real time across network namespaces, with timing checks an instrumented build
#   slows past), the faults under the load generator (kill -9, a full disk, a locked database, a
#   link down), the installed SDK (install.sdk), the Debian packages (packages.debian), the
#   benchmark's smoke test, and the C ABI from Python (ctypes cannot load a sanitized library);
# - the computing half (scripts/test-sanitized.sh): the fuzzers, and under AddressSanitizer and
#   UndefinedBehaviorSanitizer every unit, integration, media, SDK, CLI and browser test.
# The first half mostly waits (calls in real time): the computing half's fuzzers and build run
# beside it at the lowest priority, so that its calls get the CPU the moment they need it; the
# sanitized suite, calls in real time too, runs after both. (Beside the field labs, with a warm
# compiler cache, it began while they ran: starved, its dialtoned took over 15 s to start and
# its calls' audio stalled.)
#
# The normal build: only what its half needs (the server, the CLI, the SDK library and the man
# pages that install.sdk installs, the load generator and the fault tests that drive it, the C
# ABI's tests), compiled as the Debian package is (scripts/build.sh), so that packages.debian's
# package build takes every object from the compiler cache.
TARGETS="dialtoned dialtone_cli dialtone dialtone-bench fault_tests c_api_tests man_pages" \
  bash scripts/build.sh build Debian
phase "the normal build"

# Each half in a session of its own, to be stopped whole. The computing half's autogroup is
# niced too: the kernel shares the CPU between sessions first (sched_autogroup), so `nice`
# alone left it half the CPU beside the labs (a lab's audio-back check missed by 0.6 s in CI).
realtime_log=$root/build/realtime-tests.log
setsid bash -c 'cd build && exec ctest -j "$(nproc)" --output-on-failure --timeout 300 \
  -L "^(web|install|packages|bench|integration|sdk)$" \
  -R "^(web\.lab|install\.|packages\.|bench_|Faults\.|CApiFromPython\.)"' \
  >"$realtime_log" 2>&1 &
realtime=$!
setsid bash -c 'echo 19 >/proc/self/autogroup 2>/dev/null || true
  exec nice -n 19 bash scripts/test-sanitized.sh build' &
computing=$!
trap 'kill -- "-$realtime" "-$computing" 2>/dev/null || true' EXIT
trap 'exit 130' INT TERM
echo "test.sh: field labs, faults, installation, packages and the benchmark smoke test running on the normal build ($realtime_log)"

failed=0 built=1
wait "$computing" || failed=1 built=0
phase "the fuzzers and the sanitizer build"
wait "$realtime" || failed=1
cat "$realtime_log"
phase "…the normal build's tests (waited for)"
trap - EXIT
if ((built)); then
  bash scripts/test-sanitized.sh suite || failed=1
  phase "the sanitized suite"
fi
if ((failed)); then
  # What failed, at the end, where a log cut in the middle still shows it: node:test's "not ok"
  # lines with the start of their YAML (the error), GoogleTest's failures, CTest's list.
  echo "test.sh: FAILED — what failed:"
  logs=("$realtime_log" build-asan/suite.log)
  { grep -hs -A16 '^\s*not ok ' "${logs[@]}" || true; } | head -100
  grep -hsE '\[  FAILED  \]|: Failure$|^\s+[0-9]+ - .*\((Failed|Timeout|SEGFAULT|Subprocess aborted|Exception)\)' \
    "${logs[@]}" | head -40 || true
  exit 1
fi
echo "test.sh: every test passed in $(($(date +%s) - started)) s"
