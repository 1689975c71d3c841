// SPDX-License-Identifier: Apache-2.0
// Apple Push Notification service with token-based auth: an ES256 provider token (kept for
// 40 minutes: Apple refuses tokens older than an hour and renewals more often than every 20),
// HTTP/2, POST /3/device/<token>. Incoming calls go as VoIP pushes (PushKit) to the device's
// VoIP token; everything else as regular pushes to its regular token, never as VoIP: iOS
// requires every VoIP push to be reported to CallKit as a new incoming call.
#pragma once

#include <memory>

#include "push/provider.hpp"
#include "util/crypto.hpp"

namespace dialtone {

struct ApnsOptions {
  PKey key;  // the .p8 key (P-256)
  std::string keyId, teamId, bundleId;
  std::string environment = "production";  // for devices that did not say
  std::string baseUrl;                     // empty: Apple's host for the device's environment
};

// The provider token: header {"alg":"ES256","kid"}, claims {"iss","iat"}.
std::string apns_provider_token(EVP_PKEY* key, std::string_view keyId, std::string_view teamId,
                                std::int64_t iat);

std::unique_ptr<PushProvider> make_apns_provider(ApnsOptions opts);

}  // namespace dialtone
