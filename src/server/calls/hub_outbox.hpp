// SPDX-License-Identifier: Apache-2.0
// The server's outbox: carries each committed effect out, in commit order — the snapshot to
// every session of both people (and to the other nodes, through the hub), signals to the other
// participant's device, incoming-call and cancel pushes, the spec's log lines, and metrics.
#pragma once

#include "push/push_service.hpp"
#include "server/calls/outbox.hpp"
#include "server/hub.hpp"
#include "server/metrics.hpp"

namespace dialtone {

class HubOutbox final : public Outbox {
 public:
  HubOutbox(Hub& hub, Metrics& metrics) : hub_(hub), metrics_(metrics) {}
  void set_push(PushService* p) { push_ = p; }

  void deliver(std::vector<Effect> effects, TimeMs now) override;

  // A signal on an active call that needed no commit (see Calls::signal_now): the same relay.
  void relay(const SignalSent& s);

 private:
  void changed(const CallChanged& e, TimeMs now);
  void reported(const Reported& r);

  Hub& hub_;
  Metrics& metrics_;
  PushService* push_ = nullptr;
};

}  // namespace dialtone
