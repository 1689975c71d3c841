// SPDX-License-Identifier: Apache-2.0
// Calls for store tests: a ringing call as `create` would store it, and its stored form.
#pragma once

#include <string>

#include "core/call.hpp"

namespace dialtone::test {

inline Call ringing_call(std::string id, std::string caller, std::string receiver, TimeMs ts) {
  Call c;
  c.callId = std::move(id);
  c.callerId = std::move(caller);
  c.receiverId = std::move(receiver);
  c.timestamp = c.lastUpdated = ts;
  c.ringDeadline = ts + 45'000;
  c.callerDeviceId = "d";
  return c;
}

inline std::string stored_doc(const Call& c) {
  return to_storage_string(c, to_public_string(c));
}

}  // namespace dialtone::test
