// SPDX-License-Identifier: Apache-2.0
// POST /v1/devices: a device's push target, validated.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/device.hpp"

namespace dialtone {

// What this server can push to: the platforms it has credentials for, and the Web Push services
// a subscription may point at.
struct PushReach {
  std::function<bool(Platform)> handles;
  std::vector<std::string> webpushHosts;
};

// Validates a registration for `userId`; throws Error(bad_request) naming the defect, and refuses
// platforms this server has no credentials for. Web Push subscriptions are stored canonically.
PushDevice parse_device_registration(std::string_view body, const std::string& userId,
                                     const PushReach& push);

}  // namespace dialtone
