// dialtoned's configuration: a plain struct with defaults, filled from a TOML file, then the
// environment (DIALTONED_<KEY>), then command-line flags, and validated once at start-up.
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

namespace dialtone {

struct Config {
  std::string listen = "127.0.0.1:8080";
  std::string data_dir = "./data";
  int ring_timeout_s = 45;
  int media_timeout_s = 30;
  int presence_grace_s = 20;
  int ping_interval_s = 15;  // a session that misses two pongs is closed
  int threads = 2;           // network threads; the store has its own
  std::string jwt_hs256_secret;
  std::string jwks_file;
  std::string jwt_issuer;
  std::string jwt_audience;
  std::string sqlite_synchronous = "normal";  // "normal" (crash-safe in WAL) or "full"
  std::string log_level = "info";
  // ICE servers handed out by GET /v1/turn-credentials. TURN credentials are TURN REST
  // (coturn `use-auth-secret`): minted from turn_secret, valid for turn_ttl_s.
  std::vector<std::string> stun_urls;
  std::vector<std::string> turn_urls;
  std::string turn_secret;
  int turn_ttl_s = 21600;

  // Development tokens are on unless an identity provider is configured.
  bool dev_tokens() const { return jwt_hs256_secret.empty() && jwks_file.empty(); }
  std::string host() const;
  unsigned short port() const;
};

// A bad key or value: `key` names it, `what()` says what is wrong with it.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string key, const std::string& msg)
      : std::runtime_error(key + ": " + msg), key_(std::move(key)) {}
  const std::string& key() const { return key_; }

 private:
  std::string key_;
};

// Parses argv (and the file and environment it points at). Throws ConfigError; returns false
// when --help or --version was printed and the process should exit 0.
bool load_config(int argc, char** argv, Config& out);
void validate(const Config& c);

}  // namespace dialtone
