// SPDX-License-Identifier: Apache-2.0
// Accepts TCP connections and serves HTTP/1.1 on each, upgrading /v1/ws to a WebSocket.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "server/context.hpp"

namespace dialtone {

boost::asio::awaitable<void> accept_loop(ServerContext& ctx,
                                         boost::asio::ip::tcp::acceptor& acceptor);

}  // namespace dialtone
