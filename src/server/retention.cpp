// SPDX-License-Identifier: Apache-2.0
#include "server/retention.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>

#include "core/time.hpp"
#include "server/calls/calls.hpp"
#include "server/metrics.hpp"

namespace dialtone {

namespace asio = boost::asio;

asio::awaitable<void> retention_loop(Calls& calls, Metrics& metrics, RetentionOptions o) {
  if (o.days <= 0) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto wait = [&](int seconds) -> asio::awaitable<bool> {
    timer.expires_after(std::chrono::seconds(seconds));
    auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
    co_return !ec;
  };
  if (!co_await wait(o.firstRoundAfterS)) co_return;
  for (;;) {
    const TimeMs before = now_ms() - static_cast<TimeMs>(o.days) * 86'400'000;
    std::size_t total = 0;
    for (int i = 0; i < o.maxBatchesPerRound; ++i) {
      auto deleted = std::make_shared<std::size_t>(0);
      std::size_t batch = static_cast<std::size_t>(o.batch);
      // Built before the co_await (GCC 12 frees a lambda temporary's captures twice there).
      Calls::Job job = [before, batch, deleted](Tx& tx) {
        *deleted = tx.store.delete_calls_before(before, batch);
        return OpResult{};
      };
      OpResult r = co_await calls.async_run(std::move(job), asio::use_awaitable);
      if (r.error != ErrorCode::ok) {
        spdlog::warn("HISTORY_PRUNE_FAILED error=\"{}\"", r.message);
        break;
      }
      total += *deleted;
      if (*deleted < batch) break;
    }
    if (total) {
      metrics.history_pruned += total;
      spdlog::info("HISTORY_PRUNED calls={} older_than_days={}", total, o.days);
    }
    if (!co_await wait(o.everyS)) co_return;
  }
}

}  // namespace dialtone
