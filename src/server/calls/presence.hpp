// SPDX-License-Identifier: Apache-2.0
// Who has a live session, and who is in a call, as the call service and the reads need to know:
// the hub answers for this node and, through the other nodes' reports, for the cluster. A test
// answers from a set.
#pragma once

#include <string>

namespace dialtone {

class Presence {
 public:
  virtual ~Presence() = default;
  // Some device of the user has a session.
  virtual bool user_online(const std::string& userId) const = 0;
  // This device of the user has a session.
  virtual bool device_online(const std::string& userId, const std::string& deviceId) const = 0;
  // The user has an active call (calling someone, ringing, or talking).
  virtual bool user_in_call(const std::string& /*userId*/) const { return false; }
};

}  // namespace dialtone
