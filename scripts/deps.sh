#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# Installs, from Debian 12's repositories, what Dialtone needs to build (default) or to build
# and test (--test). Idempotent: installs only what is missing.
set -euo pipefail

build_pkgs=(g++ cmake ninja-build pkg-config ccache libboost1.81-dev libssl-dev libsqlite3-dev
            libspdlog-dev libfmt-dev libcli11-dev libtomlplusplus-dev
            # push notifications: libcurl with HTTP/2 (nghttp2) for APNs, FCM and Web Push
            libcurl4-openssl-dev
            # the PostgreSQL store (libpq)
            libpq-dev
            # the bus between nodes (NATS C client)
            libnats-dev
            # systemd's Type=notify (sd_notify); man pages from --help
            libsystemd-dev help2man
            # libdialtone's media: webrtcbin (bad), Opus and RTP (base, good), ICE (nice)
            libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev libgstreamer-plugins-bad1.0-dev
            libnice-dev gstreamer1.0-plugins-base gstreamer1.0-plugins-good
            gstreamer1.0-plugins-bad gstreamer1.0-nice)
# Tests also run a real coturn, and cut or thin the media path in a private network namespace
# (iproute2, nftables: this kernel has no sch_netem, so loss is nftables' random drop).
# python3: the ctypes example of loading libdialtone.so from another language is run as a test.
# python3-aiortc, python3-websockets: an independent, spec-strict WebRTC peer (tests/web/lab).
test_pkgs=(libgtest-dev clang-14 libclang-rt-14-dev coturn iproute2 nftables python3
           python3-aiortc python3-websockets
           # The browser client's end-to-end tests: Debian's Chromium, driven from Node
           # (playwright-core comes from the npm registry: tests/web/package-lock.json).
           chromium
           # multi-node tests: a real PostgreSQL and NATS, started by the tests in temporary dirs
           postgresql nats-server
           # deploy/haproxy.cfg, exercised in front of real nodes
           haproxy
           # promtool: deploy/prometheus's rules checked against a live /metrics
           prometheus
           # the field lab (tests/web/lab.mjs): coturn's TLS certificate from a throwaway CA
           openssl)
# Node and npm from Debian unless a node is already there (a NodeSource node ships its own npm
# and conflicts with Debian's npm package).
if ! command -v node >/dev/null; then test_pkgs+=(nodejs); fi
if ! command -v npm >/dev/null; then test_pkgs+=(npm); fi

# The Debian packages (scripts/package.sh): debhelper, and lintian to check them.
package_pkgs=(debhelper dpkg-dev fakeroot lintian)
# The soak with retention (bench/run-soak.sh) ages calls in the live database.
bench_pkgs=(sqlite3)

pkgs=("${build_pkgs[@]}")
if [[ "${1:-}" == "--test" ]]; then pkgs+=("${test_pkgs[@]}" "${package_pkgs[@]}"); fi
if [[ "${1:-}" == "--package" ]]; then pkgs+=("${package_pkgs[@]}"); fi
if [[ "${1:-}" == "--bench" ]]; then pkgs+=("${bench_pkgs[@]}"); fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  echo "deps: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
