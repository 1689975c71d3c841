// SPDX-License-Identifier: Apache-2.0
#include "server/config.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/url/parse.hpp>

#include <toml++/toml.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <limits>
#include <optional>

#include <unistd.h>  // environ

#include "util/encoding.hpp"
#include "util/secret_file.hpp"
#include "util/version.hpp"

namespace dialtone {

std::string Config::host() const {
  auto colon = listen.rfind(':');
  std::string h = listen.substr(0, colon);
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h;
}

bool Config::loopback_only() const {
  std::string h = host();
  if (h == "localhost") return true;
  boost::system::error_code ec;
  auto a = boost::asio::ip::make_address(h, ec);
  return !ec && a.is_loopback();
}

unsigned short Config::port() const {
  return static_cast<unsigned short>(std::stoi(listen.substr(listen.rfind(':') + 1)));
}

namespace {

struct IntKey {
  const char* key;
  int Config::*field;
  int min, max;
};
struct I64Key {
  const char* key;
  std::int64_t Config::*field;
  std::int64_t min, max;
};
struct StrKey {
  const char* key;
  std::string Config::*field;
};
struct BoolKey {
  const char* key;
  bool Config::*field;
};
// A list: a TOML array of strings, or comma-separated in the environment and flags.
struct ListKey {
  const char* key;
  std::vector<std::string> Config::*field;
};

const IntKey kIntKeys[] = {
    {"ring_timeout_s", &Config::ring_timeout_s, 1, 3600},
    {"media_timeout_s", &Config::media_timeout_s, 1, 3600},
    {"presence_grace_s", &Config::presence_grace_s, 1, 3600},
    {"ping_interval_s", &Config::ping_interval_s, 1, 600},
    {"threads", &Config::threads, 1, 64},
    // coturn compares expiries as 32-bit wrap-around; a week is far inside that.
    {"turn_ttl_s", &Config::turn_ttl_s, 60, 7 * 86400},
    {"push_concurrency", &Config::push_concurrency, 1, 1024},
    {"push_timeout_s", &Config::push_timeout_s, 1, 120},
    {"zego_token_ttl_s", &Config::zego_token_ttl_s, 60, 86400},
    {"key_rotation_overlap_s", &Config::key_rotation_overlap_s, 0, 30 * 86400},
    {"token_expiring_lead_s", &Config::token_expiring_lead_s, 1, 86400},
    {"dev_token_lifetime_s", &Config::dev_token_lifetime_s, 5, 365 * 86400},
    {"limit_calls_per_min", &Config::limit_calls_per_min, 0, 100000},
    {"limit_reports_per_min", &Config::limit_reports_per_min, 0, 100000},
    {"limit_requests_per_s", &Config::limit_requests_per_s, 0, 1000000},
    {"limit_messages_per_s", &Config::limit_messages_per_s, 0, 1000000},
    {"limit_sessions_per_user", &Config::limit_sessions_per_user, 0, 100000},
    {"limit_connections_per_ip", &Config::limit_connections_per_ip, 0, 1000000},
    {"limit_auth_failures_per_min", &Config::limit_auth_failures_per_min, 0, 1000000},
    {"limit_session_opens_per_min", &Config::limit_session_opens_per_min, 0, 1000000},
    {"handshake_timeout_s", &Config::handshake_timeout_s, 1, 600},
    {"idle_timeout_s", &Config::idle_timeout_s, 1, 3600},
};
const I64Key kI64Keys[] = {
    {"zego_app_id", &Config::zego_app_id, 0, 4294967295LL},
};
const StrKey kStrKeys[] = {
    {"listen", &Config::listen},
    {"data_dir", &Config::data_dir},
    {"store", &Config::store},
    {"bus", &Config::bus},
    {"tls_cert_file", &Config::tls_cert_file},
    {"tls_key_file", &Config::tls_key_file},
    {"jwt_hs256_secret", &Config::jwt_hs256_secret},
    {"jwt_hs256_secret_file", &Config::jwt_hs256_secret_file},
    {"jwks_file", &Config::jwks_file},
    {"jwt_issuer", &Config::jwt_issuer},
    {"jwt_audience", &Config::jwt_audience},
    {"sqlite_synchronous", &Config::sqlite_synchronous},
    {"log_level", &Config::log_level},
    {"turn_secret", &Config::turn_secret},
    {"turn_secret_file", &Config::turn_secret_file},
    {"fcm_service_account_file", &Config::fcm_service_account_file},
    {"fcm_project_id", &Config::fcm_project_id},
    {"fcm_base_url", &Config::fcm_base_url},
    {"fcm_token_url", &Config::fcm_token_url},
    {"apns_key_file", &Config::apns_key_file},
    {"apns_key_id", &Config::apns_key_id},
    {"apns_team_id", &Config::apns_team_id},
    {"apns_bundle_id", &Config::apns_bundle_id},
    {"apns_environment", &Config::apns_environment},
    {"apns_base_url", &Config::apns_base_url},
    {"vapid_key_file", &Config::vapid_key_file},
    {"vapid_subject", &Config::vapid_subject},
    {"push_ca_file", &Config::push_ca_file},
    {"zego_server_secret", &Config::zego_server_secret},
    {"zego_server_secret_file", &Config::zego_server_secret_file},
    {"zego_token_mode", &Config::zego_token_mode},
    {"directory", &Config::directory},
    {"admin_token", &Config::admin_token},
    {"admin_token_file", &Config::admin_token_file},
};
const BoolKey kBoolKeys[] = {
    {"dev_tokens_public", &Config::dev_tokens_public},
};
const ListKey kListKeys[] = {
    {"stun_urls", &Config::stun_urls},         {"turn_urls", &Config::turn_urls},
    {"webpush_hosts", &Config::webpush_hosts}, {"public_urls", &Config::public_urls},
    {"photo_hosts", &Config::photo_hosts},
};

// Keys that name an identity provider, a secret or a file: given, they must say something. An
// empty one is a mistake (a template that expanded to nothing), never "off" — an empty
// jwt_hs256_secret once meant "development tokens on".
const char* const kNeverEmpty[] = {"jwt_hs256_secret",
                                   "jwt_hs256_secret_file",
                                   "jwks_file",
                                   "jwt_issuer",
                                   "jwt_audience",
                                   "turn_secret",
                                   "turn_secret_file",
                                   "zego_server_secret",
                                   "zego_server_secret_file",
                                   "admin_token",
                                   "admin_token_file",
                                   "tls_cert_file",
                                   "tls_key_file",
                                   "fcm_service_account_file",
                                   "apns_key_file",
                                   "vapid_key_file",
                                   "push_ca_file",
                                   "directory",
                                   "listen",
                                   "data_dir"};

bool never_empty(std::string_view key) {
  return std::find(std::begin(kNeverEmpty), std::end(kNeverEmpty), key) != std::end(kNeverEmpty);
}

// A string key's value as given by `source` (a file, the environment, a flag).
void set_string(const StrKey& sk, std::string value, Config& c) {
  if (value.empty() && never_empty(sk.key))
    throw ConfigError(sk.key, "is given but empty; give a value, or leave the key out");
  c.*sk.field = std::move(value);
}

bool parse_bool(const std::string& key, const std::string& text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  throw ConfigError(key, "'" + text + "' is not true or false");
}

std::vector<std::string> all_keys() {
  std::vector<std::string> out;
  for (const auto& k : kIntKeys) out.push_back(k.key);
  for (const auto& k : kI64Keys) out.push_back(k.key);
  for (const auto& k : kStrKeys) out.push_back(k.key);
  for (const auto& k : kBoolKeys) out.push_back(k.key);
  for (const auto& k : kListKeys) out.push_back(k.key);
  return out;
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// The known key nearest to `key`, if one is near (a typo), else empty.
std::string nearest_key(std::string_view key) {
  std::string best;
  std::size_t bestDistance = std::max<std::size_t>(2, key.size() / 4) + 1;
  for (const auto& k : all_keys()) {
    std::size_t d = edit_distance(key, k);
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return best;
}

std::string flag_name(const char* key) {
  std::string f = "--";
  for (const char* p = key; *p; ++p) f += *p == '_' ? '-' : *p;
  return f;
}

std::string env_name(const char* key) {
  std::string e = "DIALTONED_";
  for (const char* p = key; *p; ++p) e += static_cast<char>(std::toupper(*p));
  return e;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    auto first = item.find_first_not_of(" \t"), last = item.find_last_not_of(" \t");
    if (first != std::string::npos) out.push_back(item.substr(first, last - first + 1));
    start = comma + 1;
  }
  return out;
}

int parse_int(const std::string& key, const std::string& text) {
  try {
    size_t used = 0;
    long v = std::stol(text, &used);
    if (used != text.size() || v < std::numeric_limits<int>::min() ||
        v > std::numeric_limits<int>::max())
      throw std::invalid_argument(text);
    return static_cast<int>(v);
  } catch (const std::exception&) {
    throw ConfigError(key, "'" + text + "' is not an integer");
  }
}

std::int64_t parse_i64(const std::string& key, const std::string& text) {
  try {
    size_t used = 0;
    long long v = std::stoll(text, &used);
    if (used != text.size()) throw std::invalid_argument(text);
    return v;
  } catch (const std::exception&) {
    throw ConfigError(key, "'" + text + "' is not an integer");
  }
}

// The keys of a parsed TOML document; `path` names it in errors ("" when it is no file).
void apply_table(const toml::table& tbl, const std::string& path, Config& c) {
  for (auto&& [k, node] : tbl) {
    std::string key(k.str());
    bool known = false;
    for (const auto& ik : kIntKeys) {
      if (key != ik.key) continue;
      // is_integer() first: toml++ converts a float to an integer with undefined behaviour
      // when it is out of range.
      if (!node.is_integer()) throw ConfigError(key, "must be an integer");
      auto v = node.value<int64_t>();
      if (!v) throw ConfigError(key, "must be an integer");
      if (*v < ik.min || *v > ik.max)
        throw ConfigError(key, "must be between " + std::to_string(ik.min) + " and " +
                                   std::to_string(ik.max) + ", got " + std::to_string(*v));
      c.*ik.field = static_cast<int>(*v);
      known = true;
    }
    for (const auto& ik : kI64Keys) {
      if (key != ik.key) continue;
      if (!node.is_integer()) throw ConfigError(key, "must be an integer");
      auto v = node.value<int64_t>();
      if (!v) throw ConfigError(key, "must be an integer");
      c.*ik.field = *v;
      known = true;
    }
    for (const auto& sk : kStrKeys) {
      if (key != sk.key) continue;
      auto v = node.value<std::string>();
      if (!v || !node.is_string()) throw ConfigError(key, "must be a string");
      set_string(sk, *v, c);
      known = true;
    }
    for (const auto& bk : kBoolKeys) {
      if (key != bk.key) continue;
      if (!node.is_boolean()) throw ConfigError(key, "must be true or false");
      c.*bk.field = *node.value<bool>();
      known = true;
    }
    for (const auto& lk : kListKeys) {
      if (key != lk.key) continue;
      auto* arr = node.as_array();
      if (!arr) throw ConfigError(key, "must be an array of strings");
      std::vector<std::string> items;
      for (auto&& item : *arr) {
        if (!item.is_string()) throw ConfigError(key, "must be an array of strings");
        items.push_back(*item.value<std::string>());
      }
      c.*lk.field = std::move(items);
      known = true;
    }
    if (!known) {
      std::string near = nearest_key(key);
      throw ConfigError(key, "unknown key in " + (path.empty() ? "the config" : path) +
                                 (near.empty() ? "" : " (did you mean " + near + "?)"));
    }
    if (!path.empty() && (key == "jwt_hs256_secret" || key == "turn_secret" ||
                          key == "zego_server_secret" || key == "admin_token")) {
      try {
        check_secret_permissions(path);
      } catch (const SecretFileError& e) {
        throw ConfigError(
            key, std::string(e.what()) + " (or keep the secret in its own file: " + key + "_file)");
      }
    }
  }
}

void apply_toml(const std::string& path, Config& c) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw ConfigError("config", path + ": " + std::string(e.description()));
  }
  apply_table(tbl, path, c);
}

// Every DIALTONED_* variable must be a key (or DIALTONED_CONFIG), and none may be empty: a
// typo or a template that expanded to nothing stops the start instead of leaving a default in
// place (a mistyped DIALTONED_JWT_HS256_SECRT once meant development tokens on).
void check_env_names() {
  constexpr std::string_view kPrefix = "DIALTONED_";
  std::vector<std::string> known;
  for (const auto& k : all_keys()) known.push_back(env_name(k.c_str()));
  known.push_back("DIALTONED_CONFIG");
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry(*e);
    if (entry.substr(0, kPrefix.size()) != kPrefix) continue;
    auto eq = entry.find('=');
    std::string name(entry.substr(0, eq));
    std::string value(eq == std::string_view::npos ? "" : entry.substr(eq + 1));
    if (std::find(known.begin(), known.end(), name) == known.end()) {
      std::string key = name.substr(kPrefix.size());
      std::transform(key.begin(), key.end(), key.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      std::string near = nearest_key(key);
      throw ConfigError(
          name, "unknown environment variable" +
                    (near.empty() ? "" : " (did you mean " + env_name(near.c_str()) + "?)"));
    }
    if (value.empty())
      throw ConfigError(name, "is set but empty; give a value, or unset it for the default");
  }
}

void apply_env(Config& c) {
  check_env_names();
  for (const auto& ik : kIntKeys)
    if (const char* v = std::getenv(env_name(ik.key).c_str())) c.*ik.field = parse_int(ik.key, v);
  for (const auto& ik : kI64Keys)
    if (const char* v = std::getenv(env_name(ik.key).c_str())) c.*ik.field = parse_i64(ik.key, v);
  for (const auto& sk : kStrKeys)
    if (const char* v = std::getenv(env_name(sk.key).c_str())) set_string(sk, v, c);
  for (const auto& bk : kBoolKeys)
    if (const char* v = std::getenv(env_name(bk.key).c_str())) c.*bk.field = parse_bool(bk.key, v);
  for (const auto& lk : kListKeys)
    if (const char* v = std::getenv(env_name(lk.key).c_str())) c.*lk.field = split_list(v);
}

bool has_scheme(const std::string& url, std::initializer_list<std::string_view> schemes) {
  for (auto s : schemes)
    if (url.size() > s.size() && url.compare(0, s.size(), s) == 0) return true;
  return false;
}

bool file_readable(const std::string& path) {
  std::ifstream f(path);
  return f.good();
}

void check_secret_file(const char* key, const std::string& path) {
  if (path.empty()) return;
  try {
    check_secret_permissions(path);
  } catch (const SecretFileError& e) {
    throw ConfigError(key, e.what());
  }
  if (!file_readable(path)) throw ConfigError(key, "cannot read '" + path + "'");
}

void validate_push(const Config& c) {
  check_secret_file("fcm_service_account_file", c.fcm_service_account_file);
  for (auto [key, url] :
       {std::pair{"fcm_base_url", &c.fcm_base_url}, std::pair{"fcm_token_url", &c.fcm_token_url},
        std::pair{"apns_base_url", &c.apns_base_url}})
    if (!url->empty() && !has_scheme(*url, {"https://", "http://"}))
      throw ConfigError(key, "'" + *url + "' must be an http(s) URL");
  if (!c.apns_key_file.empty()) {
    check_secret_file("apns_key_file", c.apns_key_file);
    for (auto [key, v] :
         {std::pair{"apns_key_id", &c.apns_key_id}, std::pair{"apns_team_id", &c.apns_team_id},
          std::pair{"apns_bundle_id", &c.apns_bundle_id}})
      if (v->empty()) throw ConfigError(key, "is required with apns_key_file");
  }
  if (c.apns_environment != "production" && c.apns_environment != "sandbox")
    throw ConfigError("apns_environment", "must be 'production' or 'sandbox'");
  if (!c.vapid_subject.empty() && !has_scheme(c.vapid_subject, {"mailto:", "https://"}))
    throw ConfigError("vapid_subject", "must be a mailto: or https: URI");
  if (!c.push_ca_file.empty() && !file_readable(c.push_ca_file))
    throw ConfigError("push_ca_file", "cannot read '" + c.push_ca_file + "'");
  bool zego = !c.zego_server_secret.empty() || !c.zego_server_secret_file.empty();
  if (zego) zego_secret(c);  // throws when it cannot be read or is malformed
  if (zego != (c.zego_app_id != 0))
    throw ConfigError(c.zego_app_id ? "zego_server_secret" : "zego_app_id",
                      "zego_app_id and zego_server_secret go together");
  if (c.zego_token_mode != "gcm" && c.zego_token_mode != "cbc")
    throw ConfigError("zego_token_mode", "must be 'gcm' or 'cbc'");
}

// The secret given inline or in its file (exactly one of them), read now.
std::string inline_or_file(const char* key, const std::string& value, const char* fileKey,
                           const std::string& file) {
  if (!value.empty() && !file.empty())
    throw ConfigError(key, std::string("set ") + key + " or " + fileKey + ", not both");
  if (file.empty()) return value;
  try {
    return read_secret_line(file);
  } catch (const SecretFileError& e) {
    throw ConfigError(fileKey, e.what());
  }
}

// An identity provider is all or nothing: an issuer or audience without a key would leave
// development tokens on, that is anyone signing in as anyone.
void validate_identity(const Config& c) {
  bool key =
      !c.jwt_hs256_secret.empty() || !c.jwt_hs256_secret_file.empty() || !c.jwks_file.empty();
  for (auto [name, v] :
       {std::pair{"jwt_issuer", &c.jwt_issuer}, std::pair{"jwt_audience", &c.jwt_audience}})
    if (!key && !v->empty())
      throw ConfigError(name,
                        "is set but no identity provider key is: add jwks_file (or "
                        "jwt_hs256_secret_file), or remove it. Development tokens stay off "
                        "while any identity key is set, so this server would let nobody in");
  jwt_hs256_secrets(c);  // throws when they cannot be read or one is too short
}

// Development tokens beyond loopback: anyone who reaches the port may sign in as anyone.
void validate_dev_exposure(const Config& c) {
  if (!c.dev_tokens() || c.loopback_only() || c.dev_tokens_public) return;
  throw ConfigError(
      "listen", "'" + c.listen +
                    "' reaches beyond this machine while development tokens are on (no identity "
                    "provider is configured), so anyone who reaches it could sign in as anyone. "
                    "Configure an identity provider (jwks_file with jwt_issuer and jwt_audience, "
                    "or jwt_hs256_secret_file), listen on 127.0.0.1, or set "
                    "dev_tokens_public = true to allow it deliberately");
}

void validate_privacy(const Config& c) {
  if (!c.directory.empty() && c.directory != "open" && c.directory != "contacts" &&
      c.directory != "none")
    throw ConfigError("directory", "must be 'open', 'contacts' or 'none', got '" +
                                       c.directory.substr(0, 64) + "'");
  for (const auto& h : c.photo_hosts)
    if (!photo_host_pattern(h))
      throw ConfigError("photo_hosts", "'" + h.substr(0, 256) +
                                           "' must be a host name (lower case, no scheme or "
                                           "port), or *. and a domain for its subdomains");
}

}  // namespace

bool photo_host_pattern(std::string_view h) {
  if (h.substr(0, 2) == "*.") h.remove_prefix(2);
  if (h.empty() || h.size() > 253 || h.front() == '.' || h.back() == '.' || h.front() == '-')
    return false;
  for (std::size_t i = 0; i < h.size(); ++i) {
    char ch = h[i];
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '-' || ch == '.';
    if (!ok || (ch == '.' && i + 1 < h.size() && h[i + 1] == '.')) return false;
  }
  return true;
}

std::vector<std::string> jwt_hs256_secrets(const Config& c) {
  std::vector<std::string> out;
  if (!c.jwt_hs256_secret.empty() && !c.jwt_hs256_secret_file.empty())
    throw ConfigError("jwt_hs256_secret",
                      "set jwt_hs256_secret or jwt_hs256_secret_file, not both");
  const char* key = "jwt_hs256_secret";
  if (!c.jwt_hs256_secret_file.empty()) {
    key = "jwt_hs256_secret_file";
    std::string text;
    try {
      text = read_secret_file(c.jwt_hs256_secret_file);
    } catch (const SecretFileError& e) {
      throw ConfigError(key, e.what());
    }
    for (std::size_t start = 0; start < text.size();) {
      auto nl = std::min(text.find('\n', start), text.size());
      std::string line = text.substr(start, nl - start);
      start = nl + 1;
      auto first = line.find_first_not_of(" \t\r"), last = line.find_last_not_of(" \t\r");
      if (first == std::string::npos || line[first] == '#') continue;
      out.push_back(line.substr(first, last - first + 1));
    }
    if (out.empty()) throw ConfigError(key, "'" + c.jwt_hs256_secret_file + "' holds no secret");
  } else if (!c.jwt_hs256_secret.empty()) {
    out.push_back(c.jwt_hs256_secret);
  }
  for (const auto& s : out)
    if (s.size() < 32) throw ConfigError(key, "every secret must be at least 32 characters");
  return out;
}

std::string turn_secret(const Config& c) {
  return inline_or_file("turn_secret", c.turn_secret, "turn_secret_file", c.turn_secret_file);
}

std::string admin_token(const Config& c) {
  std::string s =
      inline_or_file("admin_token", c.admin_token, "admin_token_file", c.admin_token_file);
  if (!s.empty() && s.size() < 32)
    throw ConfigError(c.admin_token_file.empty() ? "admin_token" : "admin_token_file",
                      "must be at least 32 characters (e.g. openssl rand -hex 32)");
  return s;
}

std::string zego_secret(const Config& c) {
  std::string s = inline_or_file("zego_server_secret", c.zego_server_secret,
                                 "zego_server_secret_file", c.zego_server_secret_file);
  if (!s.empty() && s.size() != 32)
    throw ConfigError(
        c.zego_server_secret_file.empty() ? "zego_server_secret" : "zego_server_secret_file",
        "must be the 32-character ServerSecret from the ZEGO console");
  return s;
}

void validate(const Config& c) {
  for (const auto& ik : kIntKeys) {
    int v = c.*ik.field;
    if (v < ik.min || v > ik.max)
      throw ConfigError(ik.key, "must be between " + std::to_string(ik.min) + " and " +
                                    std::to_string(ik.max) + ", got " + std::to_string(v));
  }
  for (const auto& ik : kI64Keys) {
    std::int64_t v = c.*ik.field;
    if (v < ik.min || v > ik.max)
      throw ConfigError(ik.key, "must be between " + std::to_string(ik.min) + " and " +
                                    std::to_string(ik.max) + ", got " + std::to_string(v));
  }
  auto colon = c.listen.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == c.listen.size())
    throw ConfigError("listen", "must be HOST:PORT, got '" + c.listen + "'");
  try {
    size_t used = 0;
    int port = std::stoi(c.listen.substr(colon + 1), &used);
    if (used != c.listen.size() - colon - 1 || port < 0 || port > 65535) throw 0;
  } catch (...) {
    throw ConfigError("listen", "port must be 0..65535, got '" + c.listen + "'");
  }
  if (c.data_dir.empty()) throw ConfigError("data_dir", "must not be empty");
  if (!c.store.empty() && !has_scheme(c.store, {"postgres://", "postgresql://"}))
    throw ConfigError("store", "must be a postgres:// URL, or empty for SQLite in data_dir");
  if (!c.bus.empty()) {
    for (std::size_t start = 0; start <= c.bus.size();) {
      auto comma = std::min(c.bus.find(',', start), c.bus.size());
      if (!has_scheme(c.bus.substr(start, comma - start), {"nats://"}))
        throw ConfigError("bus", "must be nats://HOST:PORT (several separated by commas)");
      start = comma + 1;
    }
    if (c.store.empty())
      throw ConfigError("bus",
                        "needs a store that the nodes share: set store to a postgres:// URL");
  }
  if (c.sqlite_synchronous != "normal" && c.sqlite_synchronous != "full")
    throw ConfigError("sqlite_synchronous", "must be 'normal' or 'full'");
  static const char* levels[] = {"trace", "debug", "info", "warn", "error", "off"};
  if (std::find(std::begin(levels), std::end(levels), c.log_level) == std::end(levels))
    throw ConfigError("log_level", "must be one of trace, debug, info, warn, error, off");
  if (!c.tls_cert_file.empty() && !file_readable(c.tls_cert_file))
    throw ConfigError("tls_cert_file", "cannot read '" + c.tls_cert_file + "'");
  if (c.tls_cert_file.empty() != c.tls_key_file.empty())
    throw ConfigError(c.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file",
                      "tls_cert_file and tls_key_file go together");
  check_secret_file("tls_key_file", c.tls_key_file);
  validate_identity(c);
  if (!c.jwks_file.empty() && !file_readable(c.jwks_file))
    throw ConfigError("jwks_file", "cannot read '" + c.jwks_file + "'");
  if (!c.jwks_file.empty() && c.jwt_issuer.empty())
    throw ConfigError("jwt_issuer", "is required with jwks_file");
  if (!c.jwks_file.empty() && c.jwt_audience.empty())
    throw ConfigError("jwt_audience", "is required with jwks_file");
  for (const auto& u : c.stun_urls)
    if (!has_scheme(u, {"stun:", "stuns:"}))
      throw ConfigError("stun_urls", "'" + u + "' must start with stun: or stuns:");
  for (const auto& u : c.turn_urls)
    if (!has_scheme(u, {"turn:", "turns:"}))
      throw ConfigError("turn_urls", "'" + u + "' must start with turn: or turns:");
  bool turn = !c.turn_secret.empty() || !c.turn_secret_file.empty();
  if (!c.turn_urls.empty() && !turn)
    throw ConfigError("turn_secret", "is required with turn_urls (or turn_secret_file)");
  if (turn && c.turn_urls.empty()) throw ConfigError("turn_urls", "is required with turn_secret");
  if (turn) turn_secret(c);
  for (const auto& u : c.public_urls) {
    if (!http_url_shape(u))
      throw ConfigError("public_urls", "'" + u + "' must be an http(s)://host[:port] URL");
    auto parsed = boost::urls::parse_absolute_uri(u);
    if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") ||
        parsed->host().empty() || parsed->has_query() || parsed->has_userinfo())
      throw ConfigError("public_urls", "'" + u + "' must be an http(s)://host[:port] URL");
  }
  validate_push(c);
  validate_privacy(c);
  validate_dev_exposure(c);
}

std::vector<std::string> Config::public_origins() const {
  std::vector<std::string> out;
  for (const auto& u : public_urls) {
    auto parsed = boost::urls::parse_absolute_uri(u);
    if (!parsed) continue;
    std::string origin = std::string(parsed->scheme()) + "://" + std::string(parsed->host());
    if (parsed->has_port()) origin += ":" + std::string(parsed->port());
    out.push_back(std::move(origin));
  }
  return out;
}

Config parse_config_text(std::string_view toml_text) {
  toml::table tbl;
  try {
    tbl = toml::parse(toml_text);
  } catch (const toml::parse_error& e) {
    throw ConfigError("config", std::string(e.description()));
  }
  Config c;
  apply_table(tbl, "", c);
  validate(c);
  return c;
}

bool load_config(int argc, char** argv, Config& out) {
  CLI::App app{"dialtoned — the Dialtone call server"};
  app.set_version_flag("--version", "dialtoned " + std::string(version()));
  std::string config_file;
  app.add_option("--config", config_file, "TOML config file (env DIALTONED_CONFIG)");
  std::optional<std::string> str_flags[std::size(kStrKeys)];
  std::optional<int> int_flags[std::size(kIntKeys)];
  std::optional<std::string> list_flags[std::size(kListKeys)];
  std::optional<std::int64_t> i64_flags[std::size(kI64Keys)];
  std::optional<std::string> bool_flags[std::size(kBoolKeys)];
  for (size_t i = 0; i < std::size(kBoolKeys); ++i)
    app.add_option(flag_name(kBoolKeys[i].key), bool_flags[i],
                   std::string(kBoolKeys[i].key) + " (true or false)");
  for (size_t i = 0; i < std::size(kI64Keys); ++i)
    app.add_option(flag_name(kI64Keys[i].key), i64_flags[i], kI64Keys[i].key);
  for (size_t i = 0; i < std::size(kStrKeys); ++i)
    app.add_option(flag_name(kStrKeys[i].key), str_flags[i], kStrKeys[i].key);
  for (size_t i = 0; i < std::size(kIntKeys); ++i)
    app.add_option(flag_name(kIntKeys[i].key), int_flags[i], kIntKeys[i].key);
  for (size_t i = 0; i < std::size(kListKeys); ++i)
    app.add_option(flag_name(kListKeys[i].key), list_flags[i],
                   std::string(kListKeys[i].key) + " (comma-separated)");
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    std::cout << app.help();
    return false;
  } catch (const CLI::CallForVersion& e) {
    std::cout << "dialtoned " << version() << "\n";
    return false;
  } catch (const CLI::ParseError& e) {
    throw ConfigError("flags", e.what());
  }

  Config c;
  if (config_file.empty())
    if (const char* env = std::getenv("DIALTONED_CONFIG")) config_file = env;
  if (!config_file.empty()) {
    if (!std::filesystem::exists(config_file))
      throw ConfigError("config", "no such file '" + config_file + "'");
    apply_toml(config_file, c);
  }
  apply_env(c);
  for (size_t i = 0; i < std::size(kStrKeys); ++i)
    if (str_flags[i]) set_string(kStrKeys[i], *str_flags[i], c);
  for (size_t i = 0; i < std::size(kIntKeys); ++i)
    if (int_flags[i]) c.*kIntKeys[i].field = *int_flags[i];
  for (size_t i = 0; i < std::size(kListKeys); ++i)
    if (list_flags[i]) c.*kListKeys[i].field = split_list(*list_flags[i]);
  for (size_t i = 0; i < std::size(kI64Keys); ++i)
    if (i64_flags[i]) c.*kI64Keys[i].field = *i64_flags[i];
  for (size_t i = 0; i < std::size(kBoolKeys); ++i)
    if (bool_flags[i]) c.*kBoolKeys[i].field = parse_bool(kBoolKeys[i].key, *bool_flags[i]);
  validate(c);
  out = std::move(c);
  return true;
}

}  // namespace dialtone
