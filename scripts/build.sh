#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Configures and builds into DIR (default build) with CMake and Ninja: scripts/build.sh [DIR] [TYPE] [cmake args...]
# TYPE is a CMake build type (default RelWithDebInfo), or Debian: the Debian package's flags.
# TARGETS="a b …" in the environment builds only those targets (and what they need).
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build}
type=${2:-RelWithDebInfo}
shift $(( $# > 2 ? 2 : $# ))
# Paths in the compiler cache relative to this tree, for every build: a clone elsewhere (another
# directory, another CI checkout) finds the objects this one compiled.
export CCACHE_BASEDIR=$PWD CCACHE_NOHASHDIR=1
if [[ $type == Debian ]]; then
  # As debian/rules builds the packages: Debian's compiler flags with all hardening, no CMake
  # build type, so that scripts/package.sh, building from a copy of the tree, finds every object
  # this build compiled in the cache.
  flags() { DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get "$1"; }
  # The environment dpkg-buildpackage and debhelper compile in (the compiler cache hashes both).
  LC_ALL=C.UTF-8 SOURCE_DATE_EPOCH=$(dpkg-parsechangelog -STimestamp)
  export LC_ALL SOURCE_DATE_EPOCH
  set -- -DCMAKE_C_FLAGS="$(flags CFLAGS) $(flags CPPFLAGS)" \
    -DCMAKE_CXX_FLAGS="$(flags CXXFLAGS) $(flags CPPFLAGS)" \
    -DCMAKE_EXE_LINKER_FLAGS="$(flags LDFLAGS)" -DCMAKE_SHARED_LINKER_FLAGS="$(flags LDFLAGS)" "$@"
  type=None
fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE="$type" "$@" >/dev/null
jobs=$(nproc)
# shellcheck disable=SC2086 # a list of target names
cmake --build "$dir" -j "$jobs" ${TARGETS:+--target $TARGETS}
