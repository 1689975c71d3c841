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

// How the receiver's push notifications for the incoming call fared (the caller can show
// "delivered to 2 devices"). Present when at least one push was sent.
struct PushDelivery {
  std::int64_t targets = 0;  // devices an incoming-call push went to
  std::int64_t sent = 0;     // accepted by their push service
  std::int64_t failed = 0;   // given up on
};

struct Call {
  std::string callId;
  std::string callerId, callerName, callerPhoto;
  std::string receiverId, receiverName, receiverPhoto;
  TimeMs timestamp = 0;
  CallState state = CallState::calling;
  bool callerReady = false, receiverReady = false;
  std::optional<TimeMs> connectedAt;
  std::optional<std::int64_t> durationSeconds;
  TimeMs lastUpdated = 0;
  TimeMs ringDeadline = 0;
  std::optional<std::string> reason;
  std::optional<std::string> answeredBy;
  bool callerMuted = false, receiverMuted = false;
  std::optional<PushDelivery> delivery;
  std::int64_t version = 1;

  // Server-side fields, persisted but not part of the public document.
  std::string callerDeviceId;                 // the device that created the call
  std::vector<std::string> ringingDeviceIds;  // distinct receiver devices that reported ringing
  std::optional<TimeMs> acceptedAt;           // start of the media timeout
  std::optional<std::string> terminatedBy;    // userId whose op made the call terminal

  bool is_participant(std::string_view userId) const {
    return userId == callerId || userId == receiverId;
  }
  // The next server-driven deadline while active (ring or media timeout), else nullopt.
  std::optional<TimeMs> next_deadline(TimeMs mediaTimeoutMs) const;
};

// The document exactly as the protocol publishes it.
boost::json::object to_public_json(const Call& call);
// The public document plus the server-side fields, for the store.
boost::json::object to_storage_json(const Call& call);
// The same, serialized: the public document is serialized once per change and reused for the
// snapshot, the reply and (with the server-side fields appended) the stored record.
std::string to_public_string(const Call& call);
std::string to_storage_string(const Call& call, std::string_view publicDoc);
// Inverse of to_storage_json; throws std::exception on a malformed record.
Call call_from_storage_json(const boost::json::object& o);

enum class Direction { dialed, received, missed, declined };
std::string_view direction_name(Direction d);
Direction direction_for(const Call& call, std::string_view userId);

}  // namespace dialtone
