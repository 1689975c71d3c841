#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds into DIR (default build) with CMake and Ninja: scripts/build.sh [DIR] [TYPE] [cmake args...]
# TARGETS="a b …" in the environment builds only those targets (and what they need).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
type=${2:-RelWithDebInfo}
shift $(( $# > 2 ? 2 : $# ))
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
jobs=$(nproc)
# shellcheck disable=SC2086 # a list of target names
cmake --build "$dir" -j "$jobs" ${TARGETS:+--target $TARGETS}
