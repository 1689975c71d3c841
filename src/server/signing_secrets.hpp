// SPDX-License-Identifier: Apache-2.0
// The shared secrets dialtoned signs with — TURN REST credentials and ZEGO tokens — and the
// operators' token, as read
// from the config (inline or from their files) at start and again on reload() (SIGHUP).
// Credentials minted before a TURN rotation stay valid as long as coturn still knows the old
// secret (docs/security.md, "Rotating secrets").
#pragma once

#include <mutex>
#include <string>

#include "server/config.hpp"

namespace dialtone {

class SigningSecrets {
 public:
  // Throws ConfigError.
  explicit SigningSecrets(const Config& c) : config_(c) { reload(); }
  // Reads the secrets again; throws ConfigError and keeps the ones in use.
  void reload() {
    std::string turn = turn_secret(config_), zego = zego_secret(config_);
    std::string admin = admin_token(config_);
    std::lock_guard lk(mu_);
    turn_ = std::move(turn);
    zego_ = std::move(zego);
    admin_ = std::move(admin);
  }
  std::string turn() const {
    std::lock_guard lk(mu_);
    return turn_;
  }
  std::string zego() const {
    std::lock_guard lk(mu_);
    return zego_;
  }
  // The operators' bearer token; empty: no operator access.
  std::string admin() const {
    std::lock_guard lk(mu_);
    return admin_;
  }

 private:
  const Config& config_;
  mutable std::mutex mu_;
  std::string turn_, zego_, admin_;
};

}  // namespace dialtone
