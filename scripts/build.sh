#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds into DIR (default build) with CMake and Ninja: scripts/build.sh [DIR] [TYPE] [cmake args...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
type=${2:-RelWithDebInfo}
shift $(( $# > 2 ? 2 : $# ))
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
jobs=$(nproc)
cmake --build "$dir" -j "$jobs"
