// SPDX-License-Identifier: Apache-2.0
// history_retention_days: calls that began longer ago than that go, with their timelines, a
// small batch per store job — other jobs run between two batches, so a backlog of a million old
// calls never holds up a call being placed. A round starts a few seconds after start-up and
// then every few minutes; it goes on while batches come back full, up to a cap per round.
#pragma once

#include <boost/asio/awaitable.hpp>

namespace dialtone {

class Calls;
class Metrics;

struct RetentionOptions {
  int days = 0;              // 0: keep everything
  int firstRoundAfterS = 5;  // after start-up
  int everyS = 300;          // between rounds
  int batch = 200;           // calls per store job
  // At most 400,000 calls a round: enough for five minutes of the soak's 290 new calls a
  // second (10,000 — the first cap — let a busy server outgrow its retention). One batch at a
  // time, so the calls' own jobs go between them.
  int maxBatchesPerRound = 2000;
};

boost::asio::awaitable<void> retention_loop(Calls& calls, Metrics& metrics, RetentionOptions o);

}  // namespace dialtone
