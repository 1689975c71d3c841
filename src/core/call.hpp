// SPDX-License-Identifier: Apache-2.0
// The call document of protocol v1, and the states it moves through.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <dialtone/types.hpp>

#include "core/time.hpp"

namespace dialtone {

std::optional<CallState> parse_state(std::string_view s);
// Before anyone answered: the receiver's devices are ringing.
bool is_unanswered(CallState s);

// One change of state, as the server applied it: when, the event, and who made it ("caller",
// "receiver" or "server") on which device. A call's trail is the timeline's backbone.
struct Step {
  CallState state = CallState::calling;
  TimeMs at = 0;
  std::string by;      // caller | receiver | server
  std::string device;  // the acting device (for presence_lost: the device that was lost)
  std::string event;   // create, ringing, accept, ready, reject, end, fail, ring_timeout, …
};

// The call as the server keeps it: the public document (CallSnapshot, the one struct the SDK
// reads too) plus fields that are persisted but never published.
struct Call : CallSnapshot {
  Call() { version = 1; }

  std::string callerDeviceId;                 // the device that created the call
  std::vector<std::string> ringingDeviceIds;  // distinct receiver devices that reported ringing
                                              // (their number is the public `ringingDevices`)
  std::optional<TimeMs> acceptedAt;           // start of the media timeout
  std::optional<std::string> terminatedBy;    // userId whose op made the call terminal
  std::vector<Step> trail;                    // every change of state, oldest first

  bool is_participant(std::string_view userId) const {
    return userId == callerId || userId == receiverId;
  }
  // The next server-driven deadline while active (ring or media timeout), else nullopt.
  std::optional<TimeMs> next_deadline(TimeMs mediaTimeoutMs) const;
};

// The document exactly as the protocol publishes it.
boost::json::object to_public_json(const CallSnapshot& call);
// The one reader of a published document (a snapshot, a reply, a history entry): nullopt when it
// lacks its id, a known state or a version; other missing fields take their defaults, and fields
// it does not know are ignored (a newer server may add some).
std::optional<CallSnapshot> parse_public_json(const boost::json::object& doc);
// The public document plus the server-side fields, for the store.
boost::json::object to_storage_json(const Call& call);
// The same, serialized: the public document is serialized once per change and reused for the
// snapshot, the reply and (with the server-side fields appended) the stored record.
std::string to_public_string(const CallSnapshot& call);
std::string to_storage_string(const Call& call, std::string_view publicDoc);
// Inverse of to_storage_json; throws std::exception on a malformed record.
Call call_from_storage_json(const boost::json::object& o);

enum class Direction { dialed, received, missed, declined };
std::string_view direction_name(Direction d);
Direction direction_for(const Call& call, std::string_view userId);

}  // namespace dialtone
