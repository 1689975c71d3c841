// SPDX-License-Identifier: Apache-2.0
// The push outbox's upkeep on a timer (CallService::tend_pushes): at start-up, then every third
// of push_lease_s. A node alone on its store takes over at once what its previous run left
// queued; in a cluster a node takes over the pushes of a node that stopped renewing its leases.
#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>

namespace dialtone {

class Calls;

boost::asio::awaitable<void> push_outbox_loop(Calls& calls, std::chrono::milliseconds lease,
                                              bool alone);

}  // namespace dialtone
