// SPDX-License-Identifier: Apache-2.0
// JSON Web Tokens (RFC 7519) with HS256, RS256 and ES256 on OpenSSL.
//
// Written here rather than taken from a library: Debian 12's libjwt (1.10) has no JWKS support
// and no C++ JWT library is packaged; the format is three base64url parts, and every
// cryptographic step is OpenSSL's.
#pragma once

#include <openssl/evp.h>
#include <boost/json/object.hpp>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/time.hpp"
#include "util/crypto.hpp"

namespace dialtone {

enum class JwtAlg { HS256, RS256, ES256 };

struct TrustedKey {
  JwtAlg alg = JwtAlg::HS256;
  std::string kid;       // empty: matches a token with any (or no) kid
  std::string secret;    // HS256
  PKey pkey;             // RS256 / ES256 public key
  TimeMs retiresAt = 0;  // a key rotated out: trusted until then (0: current)
};
// The same key (algorithm, kid and key material).
bool same_key(const TrustedKey& a, const TrustedKey& b);

// One identity provider: its keys and the iss / aud its tokens must carry (empty: unchecked).
struct TrustedIssuer {
  std::vector<TrustedKey> keys;
  std::string issuer;
  std::string audience;
};

// Who an authenticated request acts for (claims sub, name, picture).
struct Principal {
  std::string userId;
  std::string name;
  std::string photo;
  TimeMs expiresAt = 0;
};

class JwtVerifier {
 public:
  void add(TrustedIssuer issuer) { issuers_.push_back(std::move(issuer)); }
  bool empty() const { return issuers_.empty(); }
  // Throws Error(unauthorized) with a short reason on any defect.
  Principal verify(std::string_view token, TimeMs now) const;

 private:
  std::vector<TrustedIssuer> issuers_;
  static constexpr TimeMs kLeewayMs = 30'000;
};

// The `kid` in a token's header; empty when it has none or is malformed.
std::string jwt_header_kid(std::string_view token);

// Signs `claims` (used for development tokens and by tests) with header {alg, typ, kid}.
std::string sign_jwt(JwtAlg alg, const TrustedKey& key, const boost::json::object& claims);
// Signs the exact header and claims texts given (push providers specify their headers).
std::string sign_jws(JwtAlg alg, const TrustedKey& key, std::string_view header_json,
                     std::string_view claims_json);

// How long a JWKS fetched with this Cache-Control header may be used: max-age (s-maxage
// first), clamped to [minS, maxS]; `minS` for no-store/no-cache; `fallbackS` when it says
// nothing usable.
std::chrono::seconds jwks_refresh_after(std::string_view cacheControl, int minS, int maxS,
                                        int fallbackS);

// Parses a JWKS document (RFC 7517) with RSA and P-256 EC keys; throws std::runtime_error.
std::vector<TrustedKey> parse_jwks(std::string_view json_text);

}  // namespace dialtone
