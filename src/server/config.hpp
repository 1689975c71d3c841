// SPDX-License-Identifier: Apache-2.0
// dialtoned's configuration: a plain struct with defaults, filled from a TOML file, then the
// environment (DIALTONED_<KEY>), then command-line flags, and validated once at start-up.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dialtone {

// Who may see whom: see Config::directory.
enum class Directory { open, contacts, none };

struct Config {
  std::string listen = "127.0.0.1:8080";
  // GET /metrics on an address of its own (plain HTTP), and then not on `listen`; empty: on
  // `listen`.
  std::string metrics_listen;
  std::string data_dir = "./data";
  // Where calls live: empty for SQLite in data_dir (one node), or a PostgreSQL URL
  // (postgres://user:password@host:5432/db) shared by every node.
  std::string store;
  // How nodes sharing that store reach each other: empty for one node, or NATS
  // (nats://host:4222, several separated by commas).
  std::string bus;
  // NATS as run in production: TLS (a tls:// URL or any of these files; nats_ca_file checks the
  // server, nats_cert_file/nats_key_file are this node's client certificate) and
  // decentralized auth (nats_creds_file: the user JWT and NKey seed that `nsc` writes).
  std::string nats_ca_file;
  std::string nats_cert_file;
  std::string nats_key_file;
  std::string nats_creds_file;
  // Every node's public base URL (http(s)://host[:port]), for browsers that fail over between
  // nodes without a load balancer: listed in GET /v1/info, allowed as CORS origins, and added
  // to the page's connect-src.
  std::vector<std::string> public_urls;
  int ring_timeout_s = 45;
  int media_timeout_s = 30;
  int presence_grace_s = 20;
  // The call-progress tones the browser client plays (ringback, busy…): "auto" (each browser's
  // language: en-US → us), or one region's — us, eu (CEPT 425 Hz), uk, fr, au, jp.
  std::string tone_region = "auto";
  int ping_interval_s = 15;  // a session that misses two pongs is closed
  int threads = 2;           // network threads; the store has its own
  // TLS: a PEM certificate chain and its private key (both or neither). Reloaded on SIGHUP.
  std::string tls_cert_file;
  std::string tls_key_file;
  // Secrets are best kept in files readable by dialtoned only (the *_file keys; a file with
  // any group/other permission is refused). Each secret may instead be given inline (the
  // environment), never both. The files are read again on SIGHUP: a JWT key that left its file
  // stays valid for key_rotation_overlap_s, so tokens already handed out keep working.
  std::string jwt_hs256_secret;
  std::string jwt_hs256_secret_file;  // one or more secrets, one per line
  std::string jwks_file;
  // The identity provider's JWKS, fetched by dialtoned: kept per its Cache-Control (between
  // jwks_min_refresh_s and a day), fetched again (at most once per jwks_min_refresh_s) when a
  // token names a key it does not know; the last good set stays when the provider is down.
  std::string jwks_url;
  std::string jwks_ca_file;  // empty: the system's trust store
  int jwks_min_refresh_s = 60;
  std::string jwt_issuer;
  std::string jwt_audience;
  // A WebSocket lives as long as its token: this long before the token expires the session is
  // sent token_expiring, and a client renews in band ({"op":"auth"}); at expiry it is closed
  // (4001 "token expired").
  int token_expiring_lead_s = 60;
  // How long development tokens (POST /v1/dev/token) are valid.
  int dev_token_lifetime_s = 30 * 86400;
  // Development tokens (no identity provider) let anyone who reaches the port be anyone: they
  // are refused on a listen address beyond loopback unless this says so, deliberately.
  bool dev_tokens_public = false;
  // Who may see whom (GET /v1/users…, online, busy): "open" (every signed-in user sees every
  // user), "contacts" (only people you have had a call with, or who added you and you them:
  // POST /v1/contacts), "none" (nobody but yourself). Empty: "open" in development mode,
  // "contacts" with an identity provider.
  std::string directory;
  // The hosts profile photos may come from (https only; "*.example.com" for its subdomains).
  // A photo elsewhere is dropped from tokens and refused at sign-in, so that no third party
  // learns a callee's address or when their phone rang. Empty: no photos (but http on
  // loopback in development mode).
  std::vector<std::string> photo_hosts;
  std::string sqlite_synchronous = "normal";  // "normal" (crash-safe in WAL) or "full"
  std::string log_level = "info";
  // ICE servers handed out by GET /v1/turn-credentials. TURN credentials are TURN REST
  // (coturn `use-auth-secret`): minted from turn_secret, valid for turn_ttl_s.
  std::vector<std::string> stun_urls;
  std::vector<std::string> turn_urls;
  std::string turn_secret;
  std::string turn_secret_file;
  int turn_ttl_s = 21600;
  int key_rotation_overlap_s = 3600;

  // Abuse limits (0: off). Per node: behind a load balancer each node counts its own.
  int limit_calls_per_min = 10;        // call attempts (create) per caller
  int limit_reports_per_min = 30;      // `report` ops per user's device
  int limit_requests_per_s = 20;       // HTTP requests per user (per address before sign-in)
  int limit_messages_per_s = 50;       // WebSocket messages per session
  int limit_sessions_per_user = 10;    // WebSockets open at once per user
  int limit_connections_per_ip = 100;  // TCP connections open at once per client address
  // Checked before a token is verified: failed authentications per client address (an IPv6
  // address counts by its /64), burst the same.
  int limit_auth_failures_per_min = 60;
  int limit_session_opens_per_min = 60;  // WebSocket sessions opened per user, burst the same
  // A connection must finish its TLS handshake and first request (or WebSocket upgrade) within
  // handshake_timeout_s; a kept-alive HTTP connection with no request for idle_timeout_s is
  // closed. (A WebSocket is kept by the pings: a client that stops answering is closed.)
  int handshake_timeout_s = 10;
  int idle_timeout_s = 30;

  // Push notifications. FCM HTTP v1: a service-account JSON file (project id from it unless
  // set). APNs token auth: the .p8 key file, its key id, the team id and the app's bundle id.
  // Web Push is always on: its VAPID key is made on first start and kept (vapid_key_file,
  // default <data_dir>/vapid.pem). Base URLs are overridable (tests, gateways); push_ca_file
  // replaces the system trust store for push connections.
  std::string fcm_service_account_file;
  std::string fcm_project_id;
  std::string fcm_base_url = "https://fcm.googleapis.com";
  std::string fcm_token_url;  // empty: the service account's token_uri
  std::string apns_key_file;
  std::string apns_key_id;
  std::string apns_team_id;
  std::string apns_bundle_id;
  std::string apns_environment = "production";  // or "sandbox"
  std::string apns_base_url;                    // empty: Apple's host for each environment
  std::string vapid_key_file;
  std::string vapid_subject;               // a mailto: or https: contact for push services
  std::vector<std::string> webpush_hosts;  // empty: the major browsers' push services
  std::string push_ca_file;
  int push_concurrency = 1000;
  int push_timeout_s = 10;
  int push_lease_s = 30;
  // ZEGOCLOUD tokens (POST /v1/zego-token): off unless an app id and server secret are set.
  std::int64_t zego_app_id = 0;
  // Operators read any call's timeline and search calls with this bearer token (never a
  // user's token; unset: no operator access). At least 32 characters.
  std::string admin_token;
  std::string admin_token_file;
  std::string zego_server_secret;
  std::string zego_server_secret_file;
  std::string zego_token_mode = "gcm";  // or "cbc" (the legacy form)
  int zego_token_ttl_s = 3600;
  // Calls (with their timelines) that began longer ago than this go, in small batches off the
  // hot path; 0: kept for ever.
  int history_retention_days = 0;

  // Development tokens are on unless an identity provider is configured (any of its keys:
  // validate() refuses a half-configured one).
  bool dev_tokens() const {
    return jwt_hs256_secret.empty() && jwt_hs256_secret_file.empty() && jwks_file.empty() &&
           jwks_url.empty() && jwt_issuer.empty() && jwt_audience.empty();
  }
  // `directory`, with its default resolved.
  Directory directory_policy() const {
    if (directory == "open" || (directory.empty() && dev_tokens())) return Directory::open;
    if (directory == "none") return Directory::none;
    return Directory::contacts;
  }
  // True when `listen` is a loopback address (127.0.0.0/8, ::1, localhost).
  bool loopback_only() const;
  bool tls() const { return !tls_cert_file.empty(); }
  std::string host() const;
  // The origins (scheme://host[:port]) of public_urls.
  std::vector<std::string> public_origins() const;
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
// A config from TOML text alone (no environment, no flags), validated. Throws ConfigError.
Config parse_config_text(std::string_view toml_text);

// The host of HOST:PORT, without the brackets of an IPv6 address ("[::1]:80" -> "::1").
std::string host_of(std::string_view hostport);

// A photo_hosts entry: a lower-case host name, or "*." and a domain.
bool photo_host_pattern(std::string_view host);

// The secrets as they are now (inline, or read from their files: these read the files each
// time, for SIGHUP). Throw ConfigError naming the key.
std::vector<std::string> jwt_hs256_secrets(const Config& c);  // empty: none configured
std::string turn_secret(const Config& c);                     // empty: none
std::string admin_token(const Config& c);                     // empty: none
std::string zego_secret(const Config& c);                     // empty: none

}  // namespace dialtone
