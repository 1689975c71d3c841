// SPDX-License-Identifier: Apache-2.0
#include "core/state_machine.hpp"

#include <algorithm>

namespace dialtone {

std::string_view event_name(Event e) {
  switch (e) {
    case Event::ringing:
      return "ringing";
    case Event::accept:
      return "accept";
    case Event::reject:
      return "reject";
    case Event::ready:
      return "ready";
    case Event::end:
      return "end";
    case Event::fail:
      return "fail";
    case Event::mute:
      return "mute";
    case Event::signal:
      return "signal";
    case Event::ring_timeout:
      return "ring_timeout";
    case Event::media_timeout:
      return "media_timeout";
    case Event::presence_lost:
      return "presence_lost";
  }
  return "unknown";
}

namespace {

enum class Role { caller, receiver, server };

Transition refuse(const Call& c, ErrorCode code) {
  Transition t;
  t.error = code;
  t.call = c;
  return t;
}

Transition unchanged(const Call& c) {
  Transition t;
  t.call = c;
  return t;
}

// Starts a change: the caller of this helper edits t.call, then returns t.
Transition change(const Call& c, TimeMs now) {
  Transition t;
  t.changed = true;
  t.call = c;
  t.call.version = c.version + 1;
  t.call.lastUpdated = now;
  return t;
}

void make_terminal(Transition& t, CallState s, std::string reason, const std::string& by,
                   TimeMs now) {
  if (t.call.state == CallState::connected && t.call.connectedAt)
    t.call.durationSeconds = std::max<TimeMs>(0, now - *t.call.connectedAt) / 1000;
  t.call.state = s;
  t.call.reason = std::move(reason);
  if (!by.empty()) t.call.terminatedBy = by;
  t.actions.push_back(Action::clear_active_calls);
  t.actions.push_back(Action::log_ended);
}

bool in_media_phase(CallState s) {
  switch (s) {
    case CallState::accepted:
    case CallState::connecting:
    case CallState::connected:
      return true;
    case CallState::calling:
    case CallState::ringing:
    case CallState::ended:
    case CallState::rejected:
    case CallState::timeout:
    case CallState::busy:
    case CallState::failed:
      return false;
  }
  return false;
}

// Which roles may ever send an event; checked before the state (403 in every state).
bool role_may_send(Event e, Role r) {
  switch (e) {
    case Event::ringing:
    case Event::accept:
    case Event::reject:
      return r == Role::receiver;
    case Event::ready:
    case Event::end:
    case Event::fail:
    case Event::mute:
    case Event::signal:
      return r == Role::caller || r == Role::receiver;
    case Event::ring_timeout:
    case Event::media_timeout:
      return r == Role::server;
    case Event::presence_lost:
      return true;  // the engine names the absent participant
  }
  return false;
}

Transition on_ringing(const Call& c, const Actor& a, TimeMs now) {
  if (!is_unanswered(c.state)) return refuse(c, ErrorCode::invalid_transition);
  auto& devs = c.ringingDeviceIds;
  if (std::find(devs.begin(), devs.end(), a.deviceId) != devs.end()) return unchanged(c);
  Transition t = change(c, now);
  t.call.ringingDeviceIds.push_back(a.deviceId);
  t.call.ringingDevices = static_cast<int>(t.call.ringingDeviceIds.size());
  if (c.state == CallState::calling) t.actions.push_back(Action::log_received);
  t.call.state = CallState::ringing;
  return t;
}

Transition on_accept(const Call& c, const Actor& a, TimeMs now) {
  if (is_unanswered(c.state)) {
    Transition t = change(c, now);
    t.call.state = CallState::accepted;
    t.call.answeredBy = a.deviceId;
    t.call.acceptedAt = now;
    t.actions.push_back(Action::require_receiver_presence);
    t.actions.push_back(Action::log_accepted);
    return t;
  }
  if (in_media_phase(c.state) && c.answeredBy == a.deviceId) return unchanged(c);
  return refuse(c, ErrorCode::invalid_transition);
}

Transition on_reject(const Call& c, const Intent& in, const Actor& a, TimeMs now) {
  if (is_unanswered(c.state)) {
    Transition t = change(c, now);
    make_terminal(t, CallState::rejected, in.reason.value_or("rejected_by_receiver"), a.userId,
                  now);
    return t;
  }
  if (c.state == CallState::rejected && c.terminatedBy == a.userId) return unchanged(c);
  return refuse(c, ErrorCode::invalid_transition);
}

Transition on_ready(const Call& c, Role r, TimeMs now) {
  bool mine = r == Role::caller ? c.callerReady : c.receiverReady;
  switch (c.state) {
    case CallState::accepted:
    case CallState::connecting: {
      if (mine) return unchanged(c);
      Transition t = change(c, now);
      (r == Role::caller ? t.call.callerReady : t.call.receiverReady) = true;
      if (t.call.callerReady && t.call.receiverReady) {
        t.call.state = CallState::connected;
        t.call.connectedAt = now;
        t.actions.push_back(Action::log_connected);
      } else {
        t.call.state = CallState::connecting;
      }
      return t;
    }
    case CallState::connected:
      return unchanged(c);
    case CallState::calling:
    case CallState::ringing:
    case CallState::ended:
    case CallState::rejected:
    case CallState::timeout:
    case CallState::busy:
    case CallState::failed:
      return refuse(c, ErrorCode::invalid_transition);
  }
  return refuse(c, ErrorCode::invalid_transition);
}

Transition on_end(const Call& c, const Intent& in, const Actor& a, Role r, TimeMs now) {
  if (is_active(c.state)) {
    Transition t = change(c, now);
    if (is_unanswered(c.state) && r == Role::receiver)
      make_terminal(t, CallState::rejected, in.reason.value_or("rejected_by_receiver"), a.userId,
                    now);
    else if (is_unanswered(c.state))
      make_terminal(t, CallState::ended, in.reason.value_or("cancelled"), a.userId, now);
    else
      make_terminal(t, CallState::ended, in.reason.value_or("ended_by_user"), a.userId, now);
    return t;
  }
  bool mine =
      c.terminatedBy == a.userId && (c.state == CallState::ended || c.state == CallState::rejected);
  return mine ? unchanged(c) : refuse(c, ErrorCode::invalid_transition);
}

Transition on_fail(const Call& c, const Intent& in, const Actor& a, TimeMs now) {
  if (is_active(c.state)) {
    Transition t = change(c, now);
    make_terminal(t, CallState::failed, in.reason.value_or("failed"), a.userId, now);
    return t;
  }
  bool mine = c.state == CallState::failed && c.terminatedBy == a.userId;
  return mine ? unchanged(c) : refuse(c, ErrorCode::invalid_transition);
}

Transition on_mute(const Call& c, const Intent& in, Role r, TimeMs now) {
  if (!in_media_phase(c.state)) return refuse(c, ErrorCode::invalid_transition);
  bool current = r == Role::caller ? c.callerMuted : c.receiverMuted;
  if (current == in.muted) return unchanged(c);
  Transition t = change(c, now);
  (r == Role::caller ? t.call.callerMuted : t.call.receiverMuted) = in.muted;
  return t;
}

Transition on_signal(const Call& c) {
  return in_media_phase(c.state) ? unchanged(c) : refuse(c, ErrorCode::invalid_transition);
}

Transition on_ring_timeout(const Call& c, TimeMs now) {
  if (!is_unanswered(c.state)) return refuse(c, ErrorCode::invalid_transition);
  Transition t = change(c, now);
  make_terminal(t, CallState::timeout, "timeout", "", now);
  return t;
}

Transition on_media_timeout(const Call& c, TimeMs now) {
  if (c.state != CallState::accepted && c.state != CallState::connecting)
    return refuse(c, ErrorCode::invalid_transition);
  Transition t = change(c, now);
  make_terminal(t, CallState::failed, "media_timeout", "", now);
  return t;
}

// The caller must be online from creation on, the receiver from accept on.
Transition on_presence_lost(const Call& c, Role r, TimeMs now) {
  bool required = r == Role::caller ? is_active(c.state) : in_media_phase(c.state);
  if (!required) return refuse(c, ErrorCode::invalid_transition);
  Transition t = change(c, now);
  make_terminal(t, CallState::ended, "network", "", now);
  return t;
}

Transition dispatch(const Call& c, const Intent& in, const Actor& a, TimeMs now);

const char* role_name(Role r) {
  return r == Role::caller ? "caller" : r == Role::receiver ? "receiver" : "server";
}

}  // namespace

Transition apply(const Call& c, const Intent& in, const Actor& a, TimeMs now) {
  Transition t = dispatch(c, in, a, now);
  if (t.changed && t.call.state != c.state) {
    // The trail: who moved the call, from which device. Presence loss is the server's doing,
    // about the participant's device that went away.
    std::string by = in.event == Event::ring_timeout || in.event == Event::media_timeout ||
                             in.event == Event::presence_lost
                         ? "server"
                         : role_name(a.userId == c.callerId ? Role::caller : Role::receiver);
    t.call.trail.push_back(
        Step{t.call.state, now, std::move(by), a.deviceId, std::string(event_name(in.event))});
  }
  return t;
}

namespace {

Transition dispatch(const Call& c, const Intent& in, const Actor& a, TimeMs now) {
  Role role;
  if (in.event == Event::ring_timeout || in.event == Event::media_timeout)
    role = Role::server;
  else if (a.userId == c.callerId)
    role = Role::caller;
  else if (a.userId == c.receiverId)
    role = Role::receiver;
  else
    return refuse(c, ErrorCode::not_found);  // existence is not revealed to others

  if (!role_may_send(in.event, role)) return refuse(c, ErrorCode::forbidden);

  switch (in.event) {
    case Event::ringing:
      return on_ringing(c, a, now);
    case Event::accept:
      return on_accept(c, a, now);
    case Event::reject:
      return on_reject(c, in, a, now);
    case Event::ready:
      return on_ready(c, role, now);
    case Event::end:
      return on_end(c, in, a, role, now);
    case Event::fail:
      return on_fail(c, in, a, now);
    case Event::mute:
      return on_mute(c, in, role, now);
    case Event::signal:
      return on_signal(c);
    case Event::ring_timeout:
      return on_ring_timeout(c, now);
    case Event::media_timeout:
      return on_media_timeout(c, now);
    case Event::presence_lost:
      return on_presence_lost(c, role, now);
  }
  return refuse(c, ErrorCode::internal);
}

}  // namespace

Transition record_push_results(const Call& c, std::int64_t sent, std::int64_t failed, TimeMs now) {
  if (is_terminal(c.state) || (sent == 0 && failed == 0)) return unchanged(c);
  Transition t = change(c, now);
  PushDelivery d = c.delivery.value_or(PushDelivery{});
  d.sent += sent;
  d.failed += failed;
  d.targets = std::max(d.targets, d.sent + d.failed);
  t.call.delivery = d;
  return t;
}

CreateDecision decide_create(const CreateInput& in) {
  CreateDecision d;
  auto refuse_with = [&](ErrorCode code, std::optional<Call> call = std::nullopt) {
    d.kind = CreateDecision::Kind::refused;
    d.error = code;
    d.call = std::move(call);
    return d;
  };
  if (in.receiverId.empty() || in.receiverId == in.caller.userId)
    return refuse_with(ErrorCode::bad_request);
  if (!in.receiver) return refuse_with(ErrorCode::not_found);

  if (in.callerActive) {
    const Call& mine = *in.callerActive;
    // Glare: the receiver is calling the caller right now: connect them on the existing call.
    if (mine.callerId == in.receiverId && mine.receiverId == in.caller.userId &&
        is_unanswered(mine.state)) {
      d.kind = CreateDecision::Kind::glare;
      d.glare = apply(mine, Intent{Event::accept}, in.caller, in.now);
      d.call = d.glare.call;
      return d;
    }
    if (mine.callerId == in.caller.userId && mine.receiverId == in.receiverId &&
        is_unanswered(mine.state)) {
      d.kind = CreateDecision::Kind::retry;
      d.call = mine;
      return d;
    }
    return refuse_with(ErrorCode::already_in_call, mine);
  }

  Call c;
  c.callId = in.newCallId;
  c.callerId = in.caller.userId;
  c.callerName = in.callerProfile.name;
  c.callerPhoto = in.callerProfile.photo;
  c.receiverId = in.receiver->userId;
  c.receiverName = in.receiver->name;
  c.receiverPhoto = in.receiver->photo;
  c.timestamp = in.now;
  c.lastUpdated = in.now;
  c.ringDeadline = in.now + in.ringTimeoutMs;
  c.callerDeviceId = in.caller.deviceId;
  c.version = 1;
  if (in.receiverActive) {
    c.state = CallState::busy;
    c.reason = "busy";
    d.kind = CreateDecision::Kind::busy_stored;
    d.error = ErrorCode::busy;
  } else {
    c.state = CallState::calling;
    d.kind = CreateDecision::Kind::created;
  }
  c.trail.push_back(Step{c.state, in.now, "caller", in.caller.deviceId, "create"});
  d.call = std::move(c);
  return d;
}

}  // namespace dialtone
