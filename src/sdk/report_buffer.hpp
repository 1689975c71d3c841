// SPDX-License-Identifier: Apache-2.0
// One call's media events waiting for the server's `report` op (sdk/reporter.hpp sends them):
// in order, bounded (quality samples go first), taken 32 at a time with their `ago` and `at` — so a
// call makes a handful of small reports, well under the server's per-device limit, and a report
// delayed by a reconnect keeps its times. Pure: the caller passes the clock.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <deque>
#include <optional>

#include "core/time.hpp"

namespace dialtone::sdk {

class ReportBuffer {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t kPerReport = 32;  // the server's limit per report
  static constexpr std::size_t kMaxHeld = 96;    // beyond this the oldest quality samples go

  void add(boost::json::object event, Clock::time_point at);
  bool empty() const { return held_.empty(); }
  // Up to kPerReport events, oldest first, each with "ago" (ms before `now`, at most 10 min:
  // older ones are dropped, the server would refuse them) and, when `serverNow` (the server's
  // clock at `now`) is known, "at" (ISO-8601 in the server's clock).
  boost::json::array take(Clock::time_point now, std::optional<TimeMs> serverNow = std::nullopt);

 private:
  std::deque<std::pair<boost::json::object, Clock::time_point>> held_;
};

}  // namespace dialtone::sdk
