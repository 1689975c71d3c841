// SPDX-License-Identifier: Apache-2.0
// Untrusted input → typed request. Each op's fields are declared in one place (request.cpp,
// `parse_fields`); everything after parsing dispatches on the Op enum.
#pragma once

#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/state_machine.hpp"

namespace dialtone {

// `auth` renews the session's token (WebSocket only); it is not a call op. `report` adds a
// client's media events to the call's timeline; it changes no state. `watch` names the users
// whose presence the session is told of (WebSocket only).
enum class Op {
  create,
  ringing,
  accept,
  reject,
  ready,
  end,
  fail,
  mute,
  signal,
  auth,
  report,
  watch
};

std::string_view op_name(Op op);
std::optional<Op> parse_op(std::string_view name);
// The state-machine event of a participant's op (create has none).
Event op_event(Op op);

inline constexpr std::size_t kMaxMessageBytes = 64 * 1024;
inline constexpr std::size_t kMaxIdLength = 128;  // user, device and call ids
inline constexpr std::size_t kMaxReasonLength = 256;
inline constexpr std::size_t kMaxTokenLength = 16 * 1024;
inline constexpr std::size_t kMaxWatched = 500;  // users one session watches

struct Request {
  boost::json::value id;  // the client's id, echoed in the reply (null when absent)
  Op op = Op::create;
  std::string callId;
  std::string receiverId;             // create
  std::optional<std::string> reason;  // reject, end, fail
  bool muted = false;                 // mute
  boost::json::value data;            // signal: RTCSessionDescriptionInit / RTCIceCandidateInit;
                                      // report: the checked events (check_report_events)
  std::string token;                  // auth: the new bearer token
  std::vector<std::string> userIds;   // watch: each once, in the order given
};

// A WebSocket message `{"id", "op", "callId", ...}`. Throws Error(bad_request) naming the problem.
Request parse_ws_request(std::string_view text);
// Best effort: the `id` of a message that failed to parse, or null.
boost::json::value try_extract_id(std::string_view text);
// An HTTP op: the op and call id come from the path, the fields from the JSON body (may be empty).
Request parse_http_request(Op op, std::string_view callId, std::string_view body);

// A user, device or call id: 1..128 characters of [A-Za-z0-9._:@-].
bool valid_id(std::string_view s);

}  // namespace dialtone
