// SPDX-License-Identifier: Apache-2.0
#include "sdk/reporter.hpp"

#include <spdlog/spdlog.h>
#include <dialtone/client.hpp>

namespace dialtone::sdk {

namespace asio = boost::asio;
namespace json = boost::json;
using Clock = ReportBuffer::Clock;

// A flush's `done`: runs once, when the reports it waits for are answered or the wait is over.
struct Reporter::Waiter {
  std::string call;  // empty: every call's
  std::function<void()> done;
  asio::steady_timer* timeout = nullptr;  // in Reporter::waits_ until its handler ran
  void finish() {
    if (!done) return;
    auto d = std::move(done);
    done = nullptr;
    if (timeout) timeout->cancel();
    d();
  }
};

Reporter::Reporter(asio::io_context& ioc, Hooks hooks)
    : hooks_(std::move(hooks)), ioc_(ioc), timer_(ioc) {}

Reporter::~Reporter() = default;

void Reporter::add(const std::string& callId, json::object event) {
  held_[callId].add(std::move(event), Clock::now());
  arm();
}

void Reporter::arm() {
  if (armed_ || stopped_) return;
  armed_ = true;
  timer_.expires_after(hooks_.every);
  timer_.async_wait([this](boost::system::error_code ec) {
    armed_ = false;
    if (!ec) flush();
  });
}

void Reporter::stop() {
  stopped_ = true;
  timer_.cancel();
  for (auto& t : waits_) t.cancel();
}

bool Reporter::answered(const std::string& call) const {
  return call.empty() ? inflight_.empty() : !inflight_.count(call);
}

void Reporter::send(const std::string& id, json::array events, Clock::time_point now) {
  ++inflight_[id];
  json::object msg{{"op", "report"}, {"callId", id}, {"events", events}};
  hooks_.send(std::move(msg), [this, id, events = std::move(events), now](
                                  ErrorCode code, const std::string& message) {
    bool again =
        code == ErrorCode::network || code == ErrorCode::unavailable || code == ErrorCode::internal;
    if (again && !stopped_) {
      // No answer (the connection dropped, or stalled past the request's timeout): it may or
      // may not have arrived; or the server could not store it this time (its store was
      // unavailable, or a write kept colliding with another node's). Back in the buffer at
      // their own times, to be sent again.
      for (const auto& e : events) {
        json::object o = e.as_object();
        auto ago = std::chrono::milliseconds(o.at("ago").to_number<std::int64_t>());
        o.erase("ago");  // its `at` stays: the server stores an event once
        held_[id].add(std::move(o), now - ago);
      }
      arm();
    } else if (code != ErrorCode::ok && !again) {
      spdlog::debug("REPORT_REFUSED callId={} code={} message=\"{}\"", id, error_name(code),
                    message);
    }
    if (--inflight_[id] == 0) inflight_.erase(id);
    // Waiters whose reports are all answered now (finished outside the loop: a `done` may
    // flush again).
    std::vector<std::shared_ptr<Waiter>> ready;
    std::erase_if(waiters_, [&](const std::shared_ptr<Waiter>& w) {
      if (w->done && !answered(w->call)) return false;
      ready.push_back(w);
      return true;
    });
    for (auto& w : ready) w->finish();
  });
}

void Reporter::flush(const std::string& onlyCall, std::function<void()> done) {
  auto waiter = std::make_shared<Waiter>();
  waiter->call = onlyCall;
  waiter->done = std::move(done);
  // Offline, the events wait with their times (their `ago` is counted when they are sent).
  if (!hooks_.online()) {
    if (!held_.empty()) arm();
    waiter->finish();
    return;
  }
  auto now = Clock::now();
  auto serverNow = hooks_.serverNow();
  for (auto it = held_.begin(); it != held_.end();) {
    if (!onlyCall.empty() && it->first != onlyCall) {
      ++it;
      continue;
    }
    // At most 32 events per report; a buffer holds at most three reports' worth.
    while (!it->second.empty()) {
      json::array events = it->second.take(now, serverNow);
      if (events.empty()) break;
      send(it->first, std::move(events), now);
    }
    if (it->second.empty())
      it = held_.erase(it);
    else
      ++it;
  }
  if (!held_.empty()) arm();
  // Done when every report of the scope sent so far — now or earlier — has its answer.
  if (!waiter->done) return;
  if (answered(onlyCall)) return waiter->finish();
  waiters_.push_back(waiter);
  auto t = waits_.emplace(waits_.end(), ioc_, hooks_.flushWait);
  waiter->timeout = &*t;
  t->async_wait([this, waiter, t](boost::system::error_code) {
    waiter->timeout = nullptr;
    waits_.erase(t);
    waiter->finish();  // the wait is over (or the reporter stopped)
  });
}

}  // namespace dialtone::sdk
