// SPDX-License-Identifier: Apache-2.0
// Wires dialtoned together: store → call path (src/server/calls) → hub → listener, network
// threads, signals, and the two-phase shutdown (stop accepting and close sessions; then drain
// the committer).
#pragma once

#include "server/config.hpp"

namespace dialtone {

// Runs until SIGTERM or SIGINT. Returns the process exit code.
int run_server(const Config& config);

}  // namespace dialtone
