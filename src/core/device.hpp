// SPDX-License-Identifier: Apache-2.0
// A device's registered push target (POST /v1/devices).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"

namespace dialtone {

enum class Platform { fcm, apns, webpush };

constexpr std::string_view platform_name(Platform p) {
  switch (p) {
    case Platform::fcm:
      return "fcm";
    case Platform::apns:
      return "apns";
    case Platform::webpush:
      return "webpush";
  }
  return "unknown";
}

constexpr std::optional<Platform> parse_platform(std::string_view s) {
  if (s == "fcm") return Platform::fcm;
  if (s == "apns") return Platform::apns;
  if (s == "webpush") return Platform::webpush;
  return std::nullopt;
}

struct PushDevice {
  std::string userId, deviceId;
  Platform platform = Platform::fcm;
  std::string token;        // FCM registration token | APNs PushKit (VoIP) token, hex |
                            // Web Push subscription, canonical JSON
  std::string alertToken;   // APNs: the app's regular (non-VoIP) token, for non-call pushes
  std::string environment;  // APNs: "production" or "sandbox" (empty: the server's default)
  TimeMs updatedAt = 0;
};

// A user's devices beyond this many drop the least recently registered.
inline constexpr std::size_t kMaxDevicesPerUser = 20;

}  // namespace dialtone
