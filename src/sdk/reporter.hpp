// SPDX-License-Identifier: Apache-2.0
// The calls' media events on their way to the server's `report` op (docs/protocol.md, "Call
// timeline"): held per call in a ReportBuffer, sent every few seconds and at once when a call's
// media closes or its details are read; held while offline; a report that got no answer (its
// connection dropped, or stalled past the request's timeout) comes back to the buffer and is
// sent again with the same times (the server stores an event once). Each event leaves with its `ago` and, once the
// server's clock is known, its `at` in that clock — so a report that sat in a stalled connection
// (a blackout shorter than the ping timeout) is still placed when the event happened.
// On the SDK thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <list>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <dialtone/types.hpp>

#include "core/time.hpp"
#include "sdk/report_buffer.hpp"

namespace dialtone::sdk {

class Reporter {
 public:
  struct Hooks {
    // Sends one `report` op once (never again on a new connection); `done` gets the answer's
    // code and message (network when no answer came: the connection dropped, or it timed out).
    std::function<void(boost::json::object msg,
                       std::function<void(ErrorCode, const std::string& message)> done)>
        send;
    std::function<bool()> online;
    // The server's clock now, as estimated; nullopt until a reply has told it.
    std::function<std::optional<TimeMs>()> serverNow;
    std::chrono::milliseconds every{5000};      // held events are sent this often
    std::chrono::milliseconds flushWait{2000};  // flush(…, done) waits no longer
  };

  Reporter(boost::asio::io_context& ioc, Hooks hooks);
  ~Reporter();

  void add(const std::string& callId, boost::json::object event);
  // Sends what is held (for one call, or all). `done` (optional) runs once every report of that
  // scope sent so far (now or before) has its answer, or after Hooks::flushWait, or at once when
  // nothing can be sent (offline).
  void flush(const std::string& onlyCall = "", std::function<void()> done = {});
  void stop();  // no more timers

 private:
  struct Waiter;
  void arm();
  void send(const std::string& callId, boost::json::array events,
            ReportBuffer::Clock::time_point now);
  bool answered(const std::string& callId) const;  // nothing in flight (for it, or at all)

  Hooks hooks_;
  boost::asio::io_context& ioc_;
  std::map<std::string, ReportBuffer> held_;
  boost::asio::steady_timer timer_;
  std::list<boost::asio::steady_timer> waits_;  // flush(…, done)'s waits
  std::vector<std::shared_ptr<Waiter>> waiters_;
  std::map<std::string, int> inflight_;  // reports sent and not yet answered, per call
  bool armed_ = false, stopped_ = false;
};

}  // namespace dialtone::sdk
