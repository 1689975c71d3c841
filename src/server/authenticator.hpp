// Turns a bearer token into a Principal: development tokens (signed with a key kept in the
// data dir) or a configured identity provider (HS256 secret, or JWKS with RS256/ES256).
#pragma once

#include <string>
#include <utility>

#include "auth/jwt.hpp"
#include "core/state_machine.hpp"
#include "server/config.hpp"

namespace dialtone {

inline constexpr std::size_t kMaxNameLength = 256;
inline constexpr std::size_t kMaxPhotoLength = 2048;

class Authenticator {
 public:
  explicit Authenticator(const Config& config);

  bool dev_mode() const { return dev_mode_; }
  // Throws Error(unauthorized).
  Principal authenticate(std::string_view token, TimeMs now) const;
  // Development mode only: a token for `p`, valid for 30 days. Returns {token, expiresAt}.
  std::pair<std::string, TimeMs> issue_dev_token(const Profile& p, TimeMs now) const;

  static constexpr const char* kDevIssuer = "dialtoned-dev";
  static constexpr const char* kDevAudience = "dialtone";

 private:
  bool dev_mode_;
  TrustedKey dev_key_;
  JwtVerifier verifier_;
};

// Loads the development signing key from `dir`, creating it (mode 0600) on first start.
std::string load_or_create_dev_key(const std::string& dir);

}  // namespace dialtone
