// SPDX-License-Identifier: Apache-2.0
// metrics_listen: GET /metrics (Prometheus text) on an address of its own, plain HTTP, and
// nothing else there — so a scraper on a private network reaches the metrics while the public
// listener does not serve them.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

namespace dialtone {

class Metrics;

boost::asio::awaitable<void> metrics_accept_loop(Metrics& metrics,
                                                 boost::asio::ip::tcp::acceptor& acceptor);

}  // namespace dialtone
