// SPDX-License-Identifier: Apache-2.0
// Dialtone's shared vocabulary: error codes, call states and the call document as clients see
// it. Used by the server, the SDK, the C ABI and the CLI alike — each maps from these at one place.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dialtone {

// The protocol's error codes (protocol v1 "Errors"), plus extensions marked below.
enum class ErrorCode {
  ok = 0,
  bad_request,
  unauthorized,
  forbidden,
  not_found,
  busy,
  already_in_call,
  invalid_transition,
  payload_too_large,
  rate_limited,
  internal,      // extension: the server failed (e.g. the store); nothing changed
  unavailable,   // extension: the server is shutting down or its store is not ready
  network,       // extension, client side: the server could not be reached in time
  media_device,  // extension, client side: no microphone, no permission, or no output device
  media_failed,  // extension, client side: the media path could not be set up or recovered
};

// Active: calling, ringing, accepted, connecting, connected. The rest are terminal.
enum class CallState {
  calling,
  ringing,
  accepted,
  connecting,
  connected,
  ended,
  rejected,
  timeout,
  busy,
  failed,
};

std::string_view state_name(CallState s);
// Listed exhaustively (no wildcard): a new state forces a decision here.
bool is_active(CallState s);
inline bool is_terminal(CallState s) {
  return !is_active(s);
}

// Milliseconds since the Unix epoch, server clock.
using EpochMs = std::int64_t;

// How the receiver's push notifications for the incoming call fared (the caller can show
// "delivered to 2 devices"). Present when at least one push was sent.
// How a call's audio travels: the selected ICE candidate pair. `local` and `remote` are RFC 8445
// candidate types ("host", "srflx", "prflx", "relay"); `protocol` is how this side reaches its
// first hop: "udp", or for a relayed path "udp", "tcp" or "tls" (TURN over UDP, TCP or TLS).
struct MediaPath {
  std::string local, remote, protocol;
  bool operator==(const MediaPath&) const = default;
};

struct PushDelivery {
  std::int64_t targets = 0;  // devices an incoming-call push went to
  std::int64_t sent = 0;     // accepted by their push service
  std::int64_t failed = 0;   // given up on
};

// The call document of protocol v1: what every participant sees, the same struct on the server
// (which adds its own fields, see src/core/call.hpp) and in the SDK.
struct CallSnapshot {
  std::string callId;
  std::string callerId, callerName, callerPhoto;
  std::string receiverId, receiverName, receiverPhoto;
  EpochMs timestamp = 0;
  CallState state = CallState::calling;
  bool callerReady = false, receiverReady = false;
  std::optional<EpochMs> connectedAt;  // = callStartedAt
  std::optional<std::int64_t> durationSeconds;
  EpochMs lastUpdated = 0;
  EpochMs ringDeadline = 0;
  std::optional<std::string> reason;
  std::optional<std::string> answeredBy;
  int ringingDevices = 0;
  bool callerMuted = false, receiverMuted = false;
  std::optional<PushDelivery> delivery;
  std::int64_t version = 0;

  bool is_caller(const std::string& userId) const { return userId == callerId; }
  // The other participant, seen from `userId` (the spec's otherUserName).
  const std::string& other_name(const std::string& userId) const {
    return userId == callerId ? receiverName : callerName;
  }
  const std::string& other_id(const std::string& userId) const {
    return userId == callerId ? receiverId : callerId;
  }
};

}  // namespace dialtone
