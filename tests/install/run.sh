#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The SDK as someone else's project uses it: installs the build (cmake --install) into a
# temporary prefix, checks what an installation holds, builds tests/install/consumer (a C and a
# C++ program) against it both ways — pkg-config and find_package(Dialtone) — and runs each
# against the installed dialtoned with tokens from the installed CLI.
# Usage: run.sh BUILD_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
server_pid=""
cleanup() {
  if [[ -n $server_pid ]]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "install test: $*" >&2; exit 1; }

prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
for f in sbin/dialtoned bin/dialtone lib/libdialtone.so lib/libdialtone.so.0 \
         include/dialtone/dialtone.h include/dialtone/client.hpp include/dialtone/types.hpp \
         lib/pkgconfig/dialtone.pc lib/cmake/Dialtone/DialtoneConfig.cmake \
         lib/cmake/Dialtone/DialtoneConfigVersion.cmake lib/systemd/system/dialtoned.service \
         share/man/man8/dialtoned.8 share/man/man1/dialtone.1 \
         share/doc/dialtone/examples/dialtoned.toml share/doc/dialtone/LICENSE \
         share/doc/dialtone/NOTICE; do
  [[ -e $prefix/$f ]] || fail "not installed: $f"
done
objdump -p "$prefix/lib/libdialtone.so" | grep 'SONAME *libdialtone\.so\.0$' >/dev/null || fail "SONAME"
grep -q "ExecStart=$prefix/sbin/dialtoned " "$prefix/lib/systemd/system/dialtoned.service" ||
  fail "the unit does not start the installed dialtoned"
# The man page is the key table: every key, its default and its environment variable.
grep -q 'ring\\-timeout\\-s' "$prefix/share/man/man8/dialtoned.8" || fail "dialtoned.8 lacks the keys"
grep -q 'DIALTONED_RING_TIMEOUT_S' "$prefix/share/man/man8/dialtoned.8" || fail "dialtoned.8 lacks env"
[[ $("$prefix/bin/dialtone" --version) == "dialtone $("$prefix/sbin/dialtoned" --version | cut -d' ' -f2)" ]] ||
  fail "dialtone and dialtoned disagree on the version"

# Built with pkg-config, as a Makefile would.
export PKG_CONFIG_PATH=$prefix/lib/pkgconfig
pkg-config --exists 'dialtone >= 0.1' || fail "pkg-config does not find dialtone"
cc -std=c11 -Wall -Werror "$here/consumer/call.c" $(pkg-config --cflags --libs dialtone) \
  -o "$work/pc_call_c"
c++ -std=c++20 -Wall -Werror "$here/consumer/call.cpp" $(pkg-config --cflags --libs dialtone) \
  -o "$work/pc_call_cxx"
# Built with CMake's find_package(Dialtone).
cmake -S "$here/consumer" -B "$work/consumer" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null

# The installed server, on a free port, and tokens from the installed CLI.
"$prefix/sbin/dialtoned" --listen 127.0.0.1:0 --data-dir "$work/data" >"$work/server.log" 2>&1 &
server_pid=$!
url=$(bash "$here/../support/server_url.sh" "$work/server.log") ||
  { cat "$work/server.log"; fail "dialtoned did not start"; }
token() {
  XDG_CONFIG_HOME=$work/$1 "$prefix/bin/dialtone" login --user "$1" --server "$url" >/dev/null
  sed -E 's/.*"token":"([^"]+)".*/\1/' "$work/$1/dialtone/credentials.json"
}
alice=$(token alice)
bob=$(token bob)

export LD_LIBRARY_PATH=$prefix/lib
for program in "$work/pc_call_c" "$work/pc_call_cxx" "$work/consumer/call_c" "$work/consumer/call_cxx"; do
  # Each uses the installed library, not the build's.
  ldd "$program" | grep "libdialtone.so.0 => $prefix/lib/" >/dev/null || fail "$program: not the installed library"
  "$program" "$url" "$alice" "$bob" || fail "$program failed"
done
echo "install test: the installed SDK builds both ways and calls the installed server"
