# SPDX-License-Identifier: Apache-2.0
# Sourced by the test command's scripts: `phase WHAT` says how long WHAT took, and how long the
# script has run so far ("so far", or PHASE_OF: "of the computing half").
started=$(date +%s)
phase_start=$started
phase() {
  local now
  now=$(date +%s)
  echo "test.sh: $1 took $((now - phase_start)) s ($((now - started)) s ${PHASE_OF:-so far})"
  phase_start=$now
}
