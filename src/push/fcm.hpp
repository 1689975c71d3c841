// SPDX-License-Identifier: Apache-2.0
// Firebase Cloud Messaging, HTTP v1: a service account signs an RS256 assertion, trades it for
// an OAuth2 access token (cached; renewed five minutes before it expires, or at once on a 401),
// and each message is one POST .../v1/projects/{project}/messages:send, data-only.
#pragma once

#include <memory>

#include "push/provider.hpp"
#include "util/crypto.hpp"

namespace dialtone {

struct ServiceAccount {
  std::string clientEmail, privateKeyId, tokenUri, projectId;
  PKey key;
};
// The service-account JSON file's text; throws std::runtime_error naming what is missing.
ServiceAccount parse_service_account(std::string_view json_text);
// The JWT-bearer assertion: {"alg":"RS256","typ":"JWT"}, claims iss, scope, aud, iat, exp.
std::string fcm_assertion(const ServiceAccount& sa, std::int64_t now_s);
// The messages:send body for one device.
std::string fcm_message(const std::string& token, const Notice& n, TimeMs now);

struct FcmOptions {
  ServiceAccount account;
  std::string projectId;                               // empty: the account's
  std::string baseUrl = "https://fcm.googleapis.com";  // scheme://host[:port]
  std::string tokenUrl;                                // empty: the account's token_uri
};

std::unique_ptr<PushProvider> make_fcm_provider(FcmOptions opts);

}  // namespace dialtone
