#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# The Debian packages as an operator gets them: builds dialtoned, dialtone, libdialtone0 and
# libdialtone-dev with debhelper (scripts/package.sh: dpkg-buildpackage from a copy of this tree,
# through the compiler cache), checks them with lintian (no errors), installs them on this
# machine (root), starts the installed dialtoned as its user with the packaged configuration,
# places a call between two installed CLIs, and purges the packages, checking that nothing is
# left.
# Usage: run.sh [OUT_DIR]  (the .debs are kept in OUT_DIR when given)
set -euo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d /tmp/dialtone-packages.XXXXXX)
pids=()
packages=(dialtoned dialtone libdialtone0 libdialtone-dev)
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${packages[@]}" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "packages test: $*" >&2; exit 1; }
[[ $(id -u) -eq 0 ]] || fail "needs root (it installs the packages)"

# At the lowest CPU priority within the test command's real-time half: the field labs' calls
# run beside it and come first. (The computing half, in a session of its own with a niced
# autogroup, gets what both leave.)
nice -n 19 bash "$src/scripts/package.sh" "$work/debs"
debs=()
for p in "${packages[@]}"; do debs+=("$work/debs/${p}_0.1.0_$(dpkg --print-architecture).deb"); done
for d in "${debs[@]}"; do [[ -f $d ]] || fail "not built: $d"; done
if [[ -n ${1:-} ]]; then mkdir -p "$1" && cp "${debs[@]}" "$1"/; fi

# lintian: errors fail the test; warnings are printed.
lintian --fail-on error "$work"/debs/*.changes ||
  fail "lintian reports errors"

# Installed as apt installs them (dependencies from Debian's repositories).
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "the packages do not install"; }
id dialtone >/dev/null || fail "no dialtone system user"
[[ $(stat -c '%U %a' /var/lib/dialtone) == "dialtone 700" ]] || fail "/var/lib/dialtone"
grep -q '^data_dir = "/var/lib/dialtone"' /etc/dialtone/dialtoned.toml || fail "the conffile"
[[ -f /lib/systemd/system/dialtoned.service ]] || fail "no unit"
grep -q '^ExecStart=/usr/sbin/dialtoned ' /lib/systemd/system/dialtoned.service || fail "ExecStart"
[[ -L /etc/systemd/system/multi-user.target.wants/dialtoned.service ]] || fail "the unit is not enabled"
# Read from the packages (a minimal system may exclude /usr/share/man when it installs them).
dpkg-deb -c "${debs[0]}" | grep 'usr/share/man/man8/dialtoned\.8\.gz$' >/dev/null || fail "no dialtoned(8)"
dpkg-deb -c "${debs[1]}" | grep 'usr/share/man/man1/dialtone\.1\.gz$' >/dev/null || fail "no dialtone(1)"
pkg-config --modversion dialtone >/dev/null || fail "pkg-config does not find dialtone"

# The installed server as its user, with the packaged configuration (on a free port).
runuser -u dialtone -- /usr/sbin/dialtoned --config /etc/dialtone/dialtoned.toml \
  --listen 127.0.0.1:0 >"$work/server.log" 2>&1 &
pids+=($!)
url=$(bash "$src/tests/support/server_url.sh" "$work/server.log") ||
  { cat "$work/server.log"; fail "the installed dialtoned did not start"; }
[[ $(stat -c %U /var/lib/dialtone/dialtone.db) == dialtone ]] || fail "the database's owner"

# A call between two installed CLIs, with audio: bob answers, alice hangs up after 2 s.
media=(--input tone:440 --output none --ice-address 127.0.0.1)
HOME=$work/bob dialtone --server "$url" --user bob answer "${media[@]}" --duration 30 \
  >"$work/bob.log" 2>&1 &
bob=$!
pids+=("$bob")
for _ in $(seq 100); do grep -q "waiting for a call" "$work/bob.log" 2>/dev/null && break; sleep 0.1; done
HOME=$work/alice dialtone --server "$url" --user alice call bob "${media[@]}" --hangup-after 2 \
  >"$work/alice.log" 2>&1 || { cat "$work/alice.log" "$work/bob.log"; fail "alice's call"; }
wait "$bob" || { cat "$work/bob.log"; fail "bob's side"; }
grep -q "connected with bob" "$work/alice.log" || { cat "$work/alice.log"; fail "never connected"; }

# Purged: nothing of it is left.
kill "${pids[0]}"; wait "${pids[0]}" || true
pids=()
DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq "${packages[@]}" >/dev/null
for f in /usr/sbin/dialtoned /usr/bin/dialtone /etc/dialtone /var/lib/dialtone \
         /lib/systemd/system/dialtoned.service; do
  [[ ! -e $f ]] || fail "left after purge: $f"
done
echo "packages test: built, lintian-clean, installed, a call placed, purged"
