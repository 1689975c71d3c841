#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Builds the Debian packages (dialtoned, dialtone, libdialtone0, libdialtone-dev) with debhelper
# from a copy of this tree, through the compiler cache, into OUT_DIR (default dist/):
# scripts/package.sh [OUT_DIR]. Installs what the build needs from Debian's repositories.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$(mkdir -p "${1:-dist}" && cd "${1:-dist}" && pwd)
bash scripts/deps.sh --package

version=$(dpkg-parsechangelog -S Version)
work=$(mktemp -d /tmp/dialtone-package.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The tree as git sees it (tracked and new files; no build directories).
tree=$work/dialtone-$version
mkdir -p "$tree"
git ls-files -z --cached --others --exclude-standard | xargs -0 tar -cf - | tar -C "$tree" -xf -
# The compiler cache, keyed on paths relative to the tree: each copy hits the last one's.
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/ccache} CCACHE_BASEDIR=$tree CCACHE_NOHASHDIR=1
start=$(date +%s)
if ! (cd "$tree" && dpkg-buildpackage -b -us -uc -j"$(nproc)" >"$work/build.log" 2>&1); then
  tail -60 "$work/build.log"
  echo "package: dpkg-buildpackage failed" >&2
  exit 1
fi
cp "$work"/*.deb "$work"/*.changes "$work"/*.buildinfo "$out"/
echo "package: built in $(( $(date +%s) - start )) s into $out:"
(cd "$out" && ls -1 ./*_"$version"_*.deb)
