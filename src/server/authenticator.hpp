// SPDX-License-Identifier: Apache-2.0
// Turns a bearer token into a Principal: development tokens (signed with a key kept in the
// data dir) or a configured identity provider (HS256 secrets, or JWKS with RS256/ES256 from a
// file or from jwks_url).
// The provider's keys are read again on reload() (SIGHUP); a key that left its file stays
// trusted for key_rotation_overlap_s, so tokens signed before a rotation keep working.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "auth/jwt.hpp"
#include "core/state_machine.hpp"
#include "server/config.hpp"
#include "store/store.hpp"

namespace dialtone {

inline constexpr std::size_t kMaxNameLength = 256;
inline constexpr std::size_t kMaxPhotoLength = 2048;

// A profile photo the clients may load: an https: URL on one of `hosts` (photo_hosts: a host
// name, or "*.domain" for its subdomains), or (development only) http: on a loopback host.
// Anything else (javascript:, data:, a plain http: host, another host) is dropped: a client
// that loads a photo tells its host the client's address, and a callee's when it rings.
bool photo_url_allowed(std::string_view url, const std::vector<std::string>& hosts,
                       bool allowLoopbackHttp);

class Authenticator {
 public:
  // Throws ConfigError when a key file cannot be used. Development tokens are signed with
  // `devKey` (shared_dev_key), or else the key in the data dir.
  Authenticator(const Config& config, TimeMs now, std::string devKey = {});

  bool dev_mode() const { return dev_mode_; }
  // The one place where identities enter: a user's profile as kept and shown, from a token's
  // claims or a development sign-in. The name is display text (no control or bidirectional
  // override characters, at most kMaxNameLength bytes; the user id when nothing is left).
  Profile profile(std::string userId, std::string_view name, std::string photo) const;
  bool photo_allowed(std::string_view url) const {
    return photo_url_allowed(url, config_.photo_hosts, dev_mode_);
  }
  // Throws Error(unauthorized).
  Principal authenticate(std::string_view token, TimeMs now) const;
  // Development mode only: a token for `p`, valid for dev_token_lifetime_s. Returns
  // {token, expiresAt}.
  std::pair<std::string, TimeMs> issue_dev_token(const Profile& p, TimeMs now) const;

  // The keys fetched from jwks_url (JwksSource): they replace the previous set, whose keys stay
  // trusted for key_rotation_overlap_s.
  void set_remote_keys(std::vector<TrustedKey> keys, TimeMs now);
  // The token names a key id (kid) that no trusted key has: the provider may have rotated.
  bool kid_unknown(std::string_view token, TimeMs now) const;

  // Reads the provider's key files again. Throws ConfigError (and keeps the keys in use).
  // Returns how many keys are trusted now, retiring ones included.
  std::size_t reload(TimeMs now);

  static constexpr const char* kDevIssuer = "dialtoned-dev";
  static constexpr const char* kDevAudience = "dialtone";

 private:
  std::shared_ptr<const JwtVerifier> verifier() const;
  void rebuild_verifier();  // with mu_ held

  const Config& config_;
  bool dev_mode_;
  TrustedKey dev_key_;
  mutable std::mutex mu_;
  std::shared_ptr<const JwtVerifier> verifier_;
  std::vector<TrustedKey> hs256_, jwks_, remote_;  // current and retiring keys
};

// The keys after a rotation: `fresh`, then every key of `old` not in `fresh` and not yet
// retired, retiring at `retireAt` (or earlier, if it was already retiring).
std::vector<TrustedKey> rotate_keys(const std::vector<TrustedKey>& old,
                                    std::vector<TrustedKey> fresh, TimeMs retireAt, TimeMs now);

// Loads the development signing key from `dir`, creating it (mode 0600) on first start.
std::string load_or_create_dev_key(const std::string& dir);

// The development signing key every node of `store` uses: the stored one, or else the one in
// `dir` from an earlier version (its tokens stay valid), or else a new one — stored, so nodes
// agree without copying files. Throws StoreError.
std::string shared_dev_key(Store& store, const std::string& dir);

}  // namespace dialtone
