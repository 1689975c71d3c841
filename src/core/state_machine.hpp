// SPDX-License-Identifier: Apache-2.0
// The call state machine of protocol v1: pure, no I/O, no clock, no randomness.
//
//   create ─► calling ─ringing─► ringing ─accept─► accepted ─ready─► connecting ─ready─► connected
//                 └────────── accept ──────────────────┘   (first device wins)     (both flags set)
//
//   from calling, ringing:      reject, or end by the receiver ─► rejected
//                               end by the caller ─► ended (cancelled)
//                               ring timeout ─► timeout
//   from accepted, connecting:  media timeout ─► failed (media_timeout)
//   from any active state:      end ─► ended;  presence lost ─► ended (network);  fail ─► failed
//   create while the receiver is in a call: stored as busy, terminal at once
//
// Terminal states (ended, rejected, timeout, busy, failed) are never left. apply() maps
// (document, event, actor, now) to the next document or an error, plus the actions the server
// carries out; persisting and notifying are implied by `changed`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "core/call.hpp"
#include "core/errors.hpp"

namespace dialtone {

enum class Event {
  // Sent by participants.
  ringing,
  accept,
  reject,
  ready,
  end,
  fail,
  mute,
  signal,
  // Driven by the server.
  ring_timeout,
  media_timeout,
  presence_lost,
};

std::string_view event_name(Event e);

// Who acts: a user on one of its devices. For server-driven events the engine passes the
// participant the event is about (presence_lost) or leaves it empty.
struct Actor {
  std::string userId;
  std::string deviceId;
};

struct Intent {
  Event event;
  std::optional<std::string> reason{};  // reject / end / fail
  bool muted = false;                   // mute
};

enum class Action {
  clear_active_calls,         // the call became terminal: free both users in the same transaction
  require_receiver_presence,  // accepted: the receiver must keep a live WebSocket from now on
  log_received,               // CALL_RECEIVED
  log_accepted,               // CALL_ACCEPTED
  log_connected,              // CALL_CONNECTED
  log_ended,                  // CALL_ENDED
};

struct Transition {
  ErrorCode error = ErrorCode::ok;
  bool changed = false;  // false: the effect already held (a retry) or nothing to store
  Call call;             // the next document, or the current one when unchanged or refused
  std::vector<Action> actions;
};

Transition apply(const Call& current, const Intent& intent, const Actor& actor, TimeMs now);

// Push results for the incoming-call notifications: counted into `delivery` while the call is
// active; a terminal document never changes.
Transition record_push_results(const Call& current, std::int64_t sent, std::int64_t failed,
                               TimeMs now);

// ---- create -------------------------------------------------------------------------------

struct Profile {
  std::string userId, name, photo;
};

struct CreateInput {
  Actor caller;
  Profile callerProfile;
  std::string receiverId;
  std::optional<Profile> receiver;     // nullopt: the receiver never signed in
  std::optional<Call> callerActive;    // the caller's active call, if any
  std::optional<Call> receiverActive;  // the receiver's active call, if any
  std::string newCallId;
  TimeMs now = 0;
  TimeMs ringTimeoutMs = 45000;
};

struct CreateDecision {
  enum class Kind {
    created,      // a new `calling` call: store it and claim both users
    busy_stored,  // the receiver is busy: store the terminal `busy` call, answer 409 busy
    glare,        // the receiver was calling the caller: that call is accepted (see `glare`)
    retry,        // the same create again: answer 200 with the existing call
    refused,      // answer `error` (with `call` when it is the caller's own)
  };
  Kind kind = Kind::refused;
  ErrorCode error = ErrorCode::ok;
  std::optional<Call> call;
  Transition glare;  // for Kind::glare
};

CreateDecision decide_create(const CreateInput& in);

}  // namespace dialtone
