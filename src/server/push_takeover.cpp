// SPDX-License-Identifier: Apache-2.0
#include "server/push_takeover.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/calls/calls.hpp"

namespace dialtone {

namespace asio = boost::asio;

asio::awaitable<void> push_outbox_loop(Calls& calls, std::chrono::milliseconds lease, bool alone) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (bool first = true;; first = false) {
    calls.tend_pushes(alone && first);
    timer.expires_after(lease / 3);
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
  }
}

}  // namespace dialtone
