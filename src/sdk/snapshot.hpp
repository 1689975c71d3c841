// SPDX-License-Identifier: Apache-2.0
// The protocol's error body and the clock offset estimate. (Call documents are read by
// core/call.hpp's parse_public_json, the same reader the server uses.)
#pragma once

#include <boost/json/object.hpp>

#include <deque>
#include <optional>
#include <string>
#include <utility>

#include <dialtone/types.hpp>

#include "core/time.hpp"

namespace dialtone::sdk {

// The protocol's error body `{"error":{"code","message"}}` (in an HTTP answer or a WebSocket
// reply): the code (internal when absent or unknown) and the message.
std::pair<ErrorCode, std::string> parse_error(const boost::json::object& body);

// Server clock minus local clock, NTP-style: each reply's serverTime against the midpoint of
// its request; the sample with the shortest round trip among the recent ones wins.
class ClockOffset {
 public:
  void add(TimeMs sentAt, TimeMs receivedAt, TimeMs serverTime);
  // A one-way estimate (e.g. from the hello), used until the first round trip is measured.
  void seed(TimeMs offset) {
    if (samples_.empty()) best_ = offset;
    seeded_ = true;
  }
  bool known() const { return seeded_ || !samples_.empty(); }
  TimeMs offset() const { return best_; }

 private:
  struct Sample {
    TimeMs rtt, offset;
  };
  std::deque<Sample> samples_;
  TimeMs best_ = 0;
  bool seeded_ = false;
};

}  // namespace dialtone::sdk
