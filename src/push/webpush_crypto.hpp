// SPDX-License-Identifier: Apache-2.0
// Web Push message encryption (RFC 8291 over RFC 8188 "aes128gcm") and VAPID (RFC 8292).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "core/time.hpp"
#include "util/crypto.hpp"

namespace dialtone {

// What a browser's PushSubscription gives: the endpoint and its two keys (raw bytes).
struct WebPushSubscription {
  std::string endpoint;
  std::string p256dh;  // 65-byte uncompressed P-256 point
  std::string auth;    // 16 bytes
};

// Parses PushSubscription JSON ({"endpoint","keys":{"p256dh","auth"}}); base64url with or
// without padding. Throws Error(bad_request) naming the defect.
WebPushSubscription parse_subscription(std::string_view json_text);

// The aes128gcm body for one message: header (salt, rs, keyid = the sender's public key)
// followed by the single record. `as_key` and `salt` are fresh per message; the overload
// without them makes both.
std::string webpush_encrypt(std::string_view plaintext, std::string_view ua_public,
                            std::string_view auth_secret, EVP_PKEY* as_key, std::string_view salt,
                            std::uint32_t record_size = 4096);
std::string webpush_encrypt(std::string_view plaintext, std::string_view ua_public,
                            std::string_view auth_secret);
// The receiving side (a browser's push stack), for tests: nullopt on any defect.
std::optional<std::string> webpush_decrypt(std::string_view body, EVP_PKEY* ua_key,
                                           std::string_view auth_secret);

// The largest plaintext a push service must accept (4096-byte bodies).
constexpr std::size_t kWebPushMaxPlaintext = 3993;

// The application server's VAPID identity: one P-256 key pair and a contact URI. One token per
// push-service origin is cached and reused until an hour before it expires (12 h).
class Vapid {
 public:
  Vapid(PKey key, std::string subject);
  // Loads the PEM key at `path`, or makes one and writes it there (mode 0600).
  static std::shared_ptr<Vapid> load_or_create(const std::string& path, std::string subject);

  const std::string& public_key_b64url() const { return public_b64_; }
  // "vapid t=<jwt>, k=<public key>" for a request to `endpoint`; throws on a URL without origin.
  std::string authorization(std::string_view endpoint, TimeMs now);
  // The JWT for `audience` with expiry `exp` (seconds), signed now.
  std::string token(std::string_view audience, std::int64_t exp) const;

 private:
  PKey key_;
  std::string subject_;
  std::string public_b64_;
  std::mutex mu_;
  std::map<std::string, std::pair<std::string, std::int64_t>, std::less<>>
      cache_;  // aud → jwt, exp
};

// scheme://host[:port] of a URL, or nullopt.
std::optional<std::string> url_origin(std::string_view url);

}  // namespace dialtone
