// SPDX-License-Identifier: Apache-2.0
#include "server/calls/hub_outbox.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "util/text.hpp"

namespace dialtone {

namespace {

// The reasons the server itself chooses; a client's own reason (whatever it says, "network"
// included) is counted as "other", so metrics keep a bounded label set that clients cannot
// steer.
std::string reason_label(const std::optional<std::string>& r, bool fromClient) {
  static const char* known[] = {"cancelled", "rejected_by_receiver", "ended_by_user", "timeout",
                                "busy",      "media_timeout",        "network"};
  if (!r) return "none";
  if (fromClient) return "other";
  for (const char* k : known)
    if (*r == k) return *r;
  return "other";
}

}  // namespace

void HubOutbox::deliver(std::vector<Effect> effects, TimeMs now) {
  for (auto& effect : effects) {
    if (auto* c = std::get_if<CallChanged>(&effect))
      changed(*c, now);
    else if (auto* s = std::get_if<SignalSent>(&effect))
      relay(*s);
    else if (auto* l = std::get_if<LogLine>(&effect))
      spdlog::info("{}", l->text);
    else if (auto* r = std::get_if<Reported>(&effect))
      reported(*r);
  }
}

void HubOutbox::relay(const SignalSent& s) {
  hub_.relay_signal(s.call, s.fromUser, s.data);
}

void HubOutbox::changed(const CallChanged& e, TimeMs now) {
  const Call& c = *e.call;
  hub_.publish(e.call, e.doc);
  if (push_ && e.from && is_unanswered(*e.from) && !is_unanswered(c.state))
    push_->cancel_incoming(c.callId, c.ringDeadline);
  if (push_)
    for (const auto& plan : e.pushes) push_->send(plan.notice, plan.devices, plan.pushIds);
  if (!e.from) {
    if (c.state == CallState::busy) {
      spdlog::info("CALL_BUSY callId={} callerId={} receiverId={}", c.callId, c.callerId,
                   c.receiverId);
      metrics_.count_terminal("busy", "busy");
    } else {
      metrics_.active_calls++;
      metrics_.calls_created++;
      spdlog::info("CALL_START_CREATED callId={} callerId={} receiverId={} ringDeadline={}",
                   c.callId, c.callerId, c.receiverId, format_iso(c.ringDeadline));
    }
    return;
  }
  spdlog::debug("CALL_TRANSITION callId={} from={} to={} version={}", c.callId, state_name(*e.from),
                state_name(c.state), c.version);
  for (Action a : e.actions) {
    switch (a) {
      case Action::clear_active_calls:
        metrics_.active_calls--;
        break;
      case Action::require_receiver_presence:
        break;  // the call service watches the answering device
      case Action::log_received:
        spdlog::info("CALL_RECEIVED callId={} user={} devices={}", c.callId, c.receiverId,
                     c.ringingDevices);
        break;
      case Action::log_accepted:
        if (c.acceptedAt) metrics_.call_ring.observe_ms(*c.acceptedAt - c.timestamp);
        spdlog::info("CALL_ACCEPTED callId={} user={} device={}", c.callId, c.receiverId,
                     c.answeredBy.value_or(""));
        break;
      case Action::log_connected:
        metrics_.calls_connected++;
        metrics_.call_setup.observe_ms(c.connectedAt.value_or(now) - c.timestamp);
        spdlog::info("CALL_CONNECTED callId={} connectedAt={}", c.callId,
                     format_iso(c.connectedAt.value_or(now)));
        break;
      case Action::log_ended:
        // The reason may be a client's own text: quoted, so it cannot forge other fields.
        spdlog::info("CALL_ENDED callId={} duration={} reason={} state={}", c.callId,
                     c.durationSeconds.value_or(0), log_value(c.reason.value_or("")),
                     state_name(c.state));
        metrics_.count_terminal(std::string(state_name(c.state)),
                                reason_label(c.reason, e.clientReason));
        if (c.connectedAt) metrics_.call_duration.observe_ms(now - *c.connectedAt);
        break;
    }
  }
}

void HubOutbox::reported(const Reported& r) {
  auto str = [](const TimelineEvent& e, const char* k) {
    const auto* v = e.data.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  for (const auto& e : r.events) {
    if (e.type == "media_connected")
      metrics_.count_path(str(e, "local"), str(e, "protocol"));
    else if (e.type == "recovery_started")
      metrics_.count_recovery(str(e, "cause"));
    else if (e.type == "recovery_ended")
      metrics_.count_recovery_end(str(e, "outcome"));
    else if (e.type == "first_audio_received" && r.call.acceptedAt && e.at >= *r.call.acceptedAt)
      metrics_.first_audio.observe_ms(e.at - *r.call.acceptedAt);
  }
}

}  // namespace dialtone
