// SPDX-License-Identifier: Apache-2.0
// The outbox: the one way the effects of committed call changes leave the call service, in
// commit order, after the commit. The call service stages effects while a batch runs (a rolled
// back savepoint drops its own), and hands the committed ones to an Outbox: the server's
// (hub_outbox.hpp: snapshots to every session of both people and to the other nodes, signal
// relay, push plans, log lines, metrics), or a test's, which records them.
#pragma once

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/call.hpp"
#include "core/device.hpp"
#include "core/state_machine.hpp"
#include "core/timeline.hpp"
#include "server/calls/push_plan.hpp"

namespace dialtone {

// A call was created or changed.
struct CallChanged {
  // Shared with the call service's cache and the hub's route: one copy of an active call.
  std::shared_ptr<const Call> call;
  std::optional<CallState> from;  // nullopt: created by this change
  std::vector<Action> actions;
  std::shared_ptr<const std::string> doc;  // the public document, serialized once
  std::string actorDevice;                 // the device whose op made the change, if any
  std::vector<PushPlan> pushes;            // in the store's push outbox with the change
  bool clientReason = false;               // `reason` was chosen by a client's op
};

// A participant's signaling message, for the other participant's device in the call.
struct SignalSent {
  Call call;
  std::string fromUser;
  boost::json::value data;
};

// A log line that belongs to a change (CALL_GLARE, PRESENCE_LOST): written once it is durable.
struct LogLine {
  std::string text;
};

// A participant's media events, stored on the call's timeline (for the metrics).
struct Reported {
  Call call;
  std::vector<TimelineEvent> events;
};

using Effect = std::variant<CallChanged, SignalSent, LogLine, Reported>;

class Outbox {
 public:
  virtual ~Outbox() = default;
  // The effects of one committed batch, in the order they were made; `now` is the batch's clock.
  virtual void deliver(std::vector<Effect> effects, TimeMs now) = 0;
};

// The staged effects of the batch in progress.
class Staged {
 public:
  void add(Effect e) { effects_.push_back(std::move(e)); }
  std::size_t mark() const { return effects_.size(); }
  void truncate(std::size_t mark) {
    if (mark < effects_.size()) effects_.resize(mark);
  }
  std::vector<Effect>& all() { return effects_; }
  std::vector<Effect> take() { return std::exchange(effects_, {}); }

 private:
  std::vector<Effect> effects_;
};

}  // namespace dialtone
