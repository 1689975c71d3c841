// SPDX-License-Identifier: Apache-2.0
#include "server/config_keys.hpp"

#include <algorithm>
#include <cctype>
#include <sstream>

#include "util/version.hpp"

namespace dialtone {

namespace {

using C = Config;

constexpr const char* kListen = "Listening";
constexpr const char* kStorage = "Storage and cluster";
constexpr const char* kCalls = "Calls";
constexpr const char* kIdentity = "Identity";
constexpr const char* kPrivacy = "Privacy";
constexpr const char* kIce = "STUN and TURN";
constexpr const char* kPush = "Push notifications";
constexpr const char* kZego = "ZEGOCLOUD";
constexpr const char* kLimits = "Abuse limits (per node; 0 turns one off)";
constexpr const char* kOps = "Operations";

constexpr std::int64_t kDay = 86400;

// The order here is the order of --help and of the man page.
const ConfigKey kKeys[] = {
    // name, field, section, unit, help, min, max, neverEmpty, secret
    {"listen", &C::listen, kListen, "HOST:PORT",
     "where to listen; beyond loopback needs an identity provider (or dev_tokens_public)", 0, 0,
     true},
    {"public_urls", &C::public_urls, kListen, "URLs",
     "every node's public base URL, for browsers failing over between nodes"},
    {"tls_cert_file", &C::tls_cert_file, kListen, "path",
     "PEM certificate chain (leaf first); with tls_key_file; reloaded on SIGHUP", 0, 0, true},
    {"tls_key_file", &C::tls_key_file, kListen, "path",
     "its private key, readable by dialtoned's user only", 0, 0, true},
    {"threads", &C::threads, kListen, "", "network threads (the store has one of its own)", 1, 64},
    {"ping_interval_s", &C::ping_interval_s, kListen, "s",
     "ping every WebSocket this often; two missed pongs close it", 1, 600},
    {"handshake_timeout_s", &C::handshake_timeout_s, kListen, "s",
     "a connection's TLS handshake and first request must each come within this", 1, 600},
    {"idle_timeout_s", &C::idle_timeout_s, kListen, "s",
     "a kept-alive HTTP connection without a request is closed after this", 1, 3600},
    {"dev_tokens_public", &C::dev_tokens_public, kListen, "true|false",
     "allow development tokens on an address beyond loopback, deliberately"},

    {"data_dir", &C::data_dir, kStorage, "path",
     "the SQLite database, the development signing key and the VAPID key", 0, 0, true},
    {"store", &C::store, kStorage, "URL",
     "a postgres:// URL shared by every node; empty: SQLite in data_dir"},
    {"bus", &C::bus, kStorage, "URLs",
     "nats:// or tls://HOST:PORT of the NATS servers between nodes (needs store); empty: one node"},
    {"nats_ca_file", &C::nats_ca_file, kStorage, "path",
     "CA certificates that sign the NATS servers' (turns TLS on)", 0, 0, true},
    {"nats_cert_file", &C::nats_cert_file, kStorage, "path",
     "this node's client certificate for NATS (with nats_key_file)", 0, 0, true},
    {"nats_key_file", &C::nats_key_file, kStorage, "path", "its private key (owner-only)", 0, 0,
     true},
    {"nats_creds_file", &C::nats_creds_file, kStorage, "path",
     "NATS user credentials, a .creds file (owner-only)", 0, 0, true},
    {"sqlite_synchronous", &C::sqlite_synchronous, kStorage, "normal|full",
     "normal survives a crash of the process, full also a power loss"},

    {"history_retention_days", &C::history_retention_days, kStorage, "days",
     "calls older than this go, with their timelines; 0: kept for ever", 0, 36500},

    {"ring_timeout_s", &C::ring_timeout_s, kCalls, "s", "an unanswered call times out after this",
     1, 3600},
    {"media_timeout_s", &C::media_timeout_s, kCalls, "s",
     "after accept, both sides must have media up within this", 1, 3600},
    {"presence_grace_s", &C::presence_grace_s, kCalls, "s",
     "a participant with no live WebSocket this long ends the call (network)", 1, 3600},
    {"tone_region", &C::tone_region, kCalls, "auto|us|eu|uk|fr|au|jp",
     "the browser client's call-progress tones; auto: each browser's language"},

    {"jwt_hs256_secret", &C::jwt_hs256_secret, kIdentity, "text",
     "an HS256 secret (32+ characters) that signs users' tokens", 0, 0, true, true},
    {"jwt_hs256_secret_file", &C::jwt_hs256_secret_file, kIdentity, "path",
     "a file of HS256 secrets, one per line (current and next)", 0, 0, true},
    {"jwks_file", &C::jwks_file, kIdentity, "path",
     "a JWKS document of RS256/ES256 keys (needs jwt_issuer and jwt_audience)", 0, 0, true},
    {"jwks_url", &C::jwks_url, kIdentity, "URL",
     "the provider's JWKS, fetched and cached (https:, or http: on loopback)", 0, 0, true},
    {"jwks_ca_file", &C::jwks_ca_file, kIdentity, "path",
     "CA certificates for jwks_url (empty: the system's)", 0, 0, true},
    {"jwks_min_refresh_s", &C::jwks_min_refresh_s, kIdentity, "s",
     "jwks_url is fetched at most this often (an unknown kid, a short max-age)", 1, 3600},
    {"jwt_issuer", &C::jwt_issuer, kIdentity, "text", "the `iss` every token must carry", 0, 0,
     true},
    {"jwt_audience", &C::jwt_audience, kIdentity, "text", "the `aud` every token must carry", 0, 0,
     true},
    {"key_rotation_overlap_s", &C::key_rotation_overlap_s, kIdentity, "s",
     "a JWT key that left its file stays trusted this long after SIGHUP", 0, 30 * kDay},
    {"token_expiring_lead_s", &C::token_expiring_lead_s, kIdentity, "s",
     "warn a session this long before its token expires (token_expiring)", 1, kDay},
    {"dev_token_lifetime_s", &C::dev_token_lifetime_s, kIdentity, "s",
     "how long a development token is valid", 5, 365 * kDay},

    {"directory", &C::directory, kPrivacy, "open|contacts|none",
     "who may see whom; empty: open in development mode, contacts otherwise", 0, 0, true},
    {"photo_hosts", &C::photo_hosts, kPrivacy, "hosts",
     "hosts profile photos may come from (https; *.example.org for subdomains)"},

    {"stun_urls", &C::stun_urls, kIce, "URLs", "stun: URLs handed to clients"},
    {"turn_urls", &C::turn_urls, kIce, "URLs", "turn:/turns: URLs handed to clients"},
    {"turn_secret", &C::turn_secret, kIce, "text",
     "coturn's static-auth-secret (TURN REST credentials)", 0, 0, true, true},
    {"turn_secret_file", &C::turn_secret_file, kIce, "path", "the same, from a file", 0, 0, true},
    // coturn compares expiries as 32-bit wrap-around; a week is far inside that.
    {"turn_ttl_s", &C::turn_ttl_s, kIce, "s", "how long minted TURN credentials stay valid", 60,
     7 * kDay},

    {"fcm_service_account_file", &C::fcm_service_account_file, kPush, "path",
     "Firebase service-account JSON (FCM HTTP v1)", 0, 0, true},
    {"fcm_project_id", &C::fcm_project_id, kPush, "text",
     "the Firebase project; empty: from the service account"},
    {"fcm_base_url", &C::fcm_base_url, kPush, "URL", "FCM's API (tests, gateways)"},
    {"fcm_token_url", &C::fcm_token_url, kPush, "URL",
     "OAuth token endpoint; empty: the service account's token_uri"},
    {"apns_key_file", &C::apns_key_file, kPush, "path", "APNs token-auth key (.p8)", 0, 0, true},
    {"apns_key_id", &C::apns_key_id, kPush, "text", "its key id"},
    {"apns_team_id", &C::apns_team_id, kPush, "text", "the Apple team id"},
    {"apns_bundle_id", &C::apns_bundle_id, kPush, "text", "the app's bundle id"},
    {"apns_environment", &C::apns_environment, kPush, "production|sandbox",
     "for devices that do not say"},
    {"apns_base_url", &C::apns_base_url, kPush, "URL",
     "APNs host; empty: Apple's for each environment"},
    {"vapid_key_file", &C::vapid_key_file, kPush, "path",
     "Web Push VAPID key, made on first start; empty: <data_dir>/vapid.pem", 0, 0, true},
    {"vapid_subject", &C::vapid_subject, kPush, "URI",
     "mailto: or https: contact for push services"},
    {"webpush_hosts", &C::webpush_hosts, kPush, "hosts",
     "push services a subscription may point at; empty: the major browsers'"},
    {"push_ca_file", &C::push_ca_file, kPush, "path",
     "CA bundle replacing the system's for push connections", 0, 0, true},
    {"push_concurrency", &C::push_concurrency, kPush, "", "push requests in flight at most", 1,
     10000},
    {"push_timeout_s", &C::push_timeout_s, kPush, "s", "a push request gives up after this", 1,
     120},
    {"push_lease_s", &C::push_lease_s, kPush, "s",
     "a dead node's queued pushes are taken over by another node after this", 3, 600},

    {"zego_app_id", &C::zego_app_id, kZego, "number", "the ZEGO app id; 0: ZEGO tokens off", 0,
     4294967295LL},
    {"zego_server_secret", &C::zego_server_secret, kZego, "text", "the 32-character ServerSecret",
     0, 0, true, true},
    {"zego_server_secret_file", &C::zego_server_secret_file, kZego, "path", "the same, from a file",
     0, 0, true},
    {"zego_token_mode", &C::zego_token_mode, kZego, "gcm|cbc",
     "token04 form; cbc is the legacy one"},
    {"zego_token_ttl_s", &C::zego_token_ttl_s, kZego, "s", "how long a ZEGO token is valid", 60,
     kDay},

    {"limit_calls_per_min", &C::limit_calls_per_min, kLimits, "per minute",
     "call attempts per caller", 0, 100000},
    {"limit_reports_per_min", &C::limit_reports_per_min, kLimits, "per minute",
     "`report` ops per device", 0, 100000},
    {"limit_requests_per_s", &C::limit_requests_per_s, kLimits, "per second",
     "HTTP requests per user (burst twice that)", 0, 1000000},
    {"limit_messages_per_s", &C::limit_messages_per_s, kLimits, "per second",
     "WebSocket messages per session (burst twice that)", 0, 1000000},
    {"limit_sessions_per_user", &C::limit_sessions_per_user, kLimits, "",
     "WebSockets open at once per user", 0, 100000},
    {"limit_session_opens_per_min", &C::limit_session_opens_per_min, kLimits, "per minute",
     "WebSockets opened per user", 0, 1000000},
    {"limit_auth_failures_per_min", &C::limit_auth_failures_per_min, kLimits, "per minute",
     "failed authentications per client address (IPv6: per /64)", 0, 1000000},
    {"limit_connections_per_ip", &C::limit_connections_per_ip, kLimits, "",
     "TCP connections open at once per client address", 0, 1000000},

    {"admin_token", &C::admin_token, kOps, "text",
     "operators' bearer token (32+ characters); unset: no operator API", 0, 0, true, true},
    {"admin_token_file", &C::admin_token_file, kOps, "path", "the same, from a file", 0, 0, true},
    {"log_level", &C::log_level, kOps, "level", "trace, debug, info, warn, error or off"},
    {"metrics_listen", &C::metrics_listen, kOps, "HOST:PORT",
     "serve /metrics here only (plain HTTP, e.g. a private address); empty: on listen", 0, 0, true},
};

std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char ch : s) {
    if (ch == '"' || ch == '\\') out += '\\';
    out += ch;
  }
  return out + "\"";
}

}  // namespace

std::span<const ConfigKey> config_keys() {
  return kKeys;
}

const ConfigKey* find_config_key(std::string_view name) {
  for (const auto& k : kKeys)
    if (name == k.name) return &k;
  return nullptr;
}

std::string env_name(const ConfigKey& k) {
  std::string e = "DIALTONED_";
  for (const char* p = k.name; *p; ++p) e += static_cast<char>(std::toupper(*p));
  return e;
}

std::string flag_name(const ConfigKey& k) {
  std::string f = "--";
  for (const char* p = k.name; *p; ++p) f += *p == '_' ? '-' : *p;
  return f;
}

std::string default_text(const ConfigKey& k) {
  static const Config defaults;
  return std::visit(
      [](auto field) -> std::string {
        const auto& v = defaults.*field;
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return v.empty() ? "" : quoted(v);
        } else if constexpr (std::is_same_v<T, bool>) {
          return v ? "true" : "false";
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          std::string out;
          for (const auto& s : v) out += (out.empty() ? "" : ", ") + quoted(s);
          return "[" + out + "]";
        } else {
          return std::to_string(v);
        }
      },
      k.field);
}

std::string config_help() {
  std::ostringstream o;
  o << "dialtoned " << version() << " - the Dialtone call server\n\n"
    << "Usage: dialtoned [--config FILE] [--KEY VALUE]...\n\n"
    << "Every key is read from the TOML file given by --config (or DIALTONED_CONFIG), then from\n"
    << "the environment variable DIALTONED_<KEY>, then from the flag --<key-with-dashes>; a\n"
    << "later one wins. Lists are TOML arrays, or comma-separated in the environment and flags.\n"
    << "A bad, unknown or empty key stops the start (exit code 2, naming it).\n"
    << "conf/dialtoned.toml (installed as an example) explains every key at length.\n\n"
    << "General options:\n"
    << "  --config FILE\n"
    << "        the TOML configuration file\n"
    << "        env DIALTONED_CONFIG\n"
    << "  -h, --help\n"
    << "        print this help and exit\n"
    << "  --version\n"
    << "        print the version and exit\n";
  const char* section = nullptr;
  for (const auto& k : kKeys) {
    if (!section || std::string_view(section) != k.section) {
      section = k.section;
      o << "\n" << section << ":\n";
    }
    bool integer = std::holds_alternative<int Config::*>(k.field) ||
                   std::holds_alternative<std::int64_t Config::*>(k.field);
    std::string unit = k.unit;
    // Integers: N, with the unit in the brackets; others: the value's form.
    std::string metavar = integer ? "N" : unit;
    if (!integer)
      std::transform(metavar.begin(), metavar.end(), metavar.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
    std::string def = default_text(k);
    o << "  " << flag_name(k) << " " << metavar << "\n"
      << "        " << k.help << "\n        ";
    if (integer)
      o << (unit == "s" ? "seconds" : unit) << (unit.empty() ? "" : ", ") << k.min << ".." << k.max
        << "; ";
    o << "default " << (def.empty() || def == "[]" ? "none" : def) << "; env " << env_name(k)
      << "\n";
  }
  o << "\nExit status: 0 after a clean stop (SIGTERM, SIGINT); 2 for a configuration error\n"
    << "(systemd: RestartPreventExitStatus=2); 1 for a failure at run time.\n"
    << "Signals: SIGHUP reloads the TLS certificate and the secret files.\n";
  return o.str();
}

}  // namespace dialtone
