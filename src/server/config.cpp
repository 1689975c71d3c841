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

#include "server/config_keys.hpp"
#include "util/encoding.hpp"
#include "util/secret_file.hpp"
#include "util/version.hpp"

namespace dialtone {

std::string host_of(std::string_view hostport) {
  std::string h(hostport.substr(0, hostport.rfind(':')));
  if (h.size() >= 2 && h.front() == '[' && h.back() == ']') h = h.substr(1, h.size() - 2);
  return h;
}

std::string Config::host() const {
  return host_of(listen);
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

// A value for `k`, from any source: the same checks wherever it comes from.
void set_string(const ConfigKey& k, std::string value, Config& c) {
  if (value.empty() && k.neverEmpty)
    throw ConfigError(k.name, "is given but empty; give a value, or leave the key out");
  c.*std::get<std::string Config::*>(k.field) = std::move(value);
}

void check_range(const ConfigKey& k, std::int64_t v) {
  if (v < k.min || v > k.max)
    throw ConfigError(k.name, "must be between " + std::to_string(k.min) + " and " +
                                  std::to_string(k.max) + ", got " + std::to_string(v));
}

void set_integer(const ConfigKey& k, std::int64_t v, Config& c) {
  check_range(k, v);
  if (auto* f = std::get_if<int Config::*>(&k.field))
    c.** f = static_cast<int>(v);
  else
    c.*std::get<std::int64_t Config::*>(k.field) = v;
}

bool parse_bool(const std::string& key, const std::string& text) {
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  throw ConfigError(key, "'" + text + "' is not true or false");
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
  for (const auto& k : config_keys()) {
    std::size_t d = edit_distance(key, k.name);
    if (d < bestDistance) {
      bestDistance = d;
      best = k.name;
    }
  }
  return best;
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
  for (auto&& entry : tbl) {
    // Not a structured binding: clang 14 cannot capture one in the lambda below.
    const toml::node& node = entry.second;
    std::string key(entry.first.str());
    const ConfigKey* k = find_config_key(key);
    if (!k) {
      std::string near = nearest_key(key);
      throw ConfigError(key, "unknown key in " + (path.empty() ? "the config" : path) +
                                 (near.empty() ? "" : " (did you mean " + near + "?)"));
    }
    std::visit(
        [&](auto field) {
          using T = std::decay_t<decltype(c.*field)>;
          if constexpr (std::is_same_v<T, std::string>) {
            if (!node.is_string()) throw ConfigError(key, "must be a string");
            set_string(*k, *node.template value<std::string>(), c);
          } else if constexpr (std::is_same_v<T, bool>) {
            if (!node.is_boolean()) throw ConfigError(key, "must be true or false");
            c.*field = *node.template value<bool>();
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            auto* arr = node.as_array();
            if (!arr) throw ConfigError(key, "must be an array of strings");
            std::vector<std::string> items;
            for (auto&& item : *arr) {
              if (!item.is_string()) throw ConfigError(key, "must be an array of strings");
              items.push_back(*item.template value<std::string>());
            }
            c.*field = std::move(items);
          } else {
            // is_integer() first: toml++ converts a float to an integer with undefined
            // behaviour when it is out of range.
            auto v = node.is_integer() ? node.template value<std::int64_t>() : std::nullopt;
            if (!v) throw ConfigError(key, "must be an integer");
            set_integer(*k, *v, c);
          }
        },
        k->field);
    if (!path.empty() && k->secret) {
      try {
        check_secret_permissions(path);
      } catch (const SecretFileError& e) {
        throw ConfigError(
            key, std::string(e.what()) + " (or keep the secret in its own file: " + key + "_file)");
      }
    }
  }
}

// "PATH:LINE:COLUMN: " of a TOML syntax error, as compilers and editors write it.
std::string where(const std::string& path, const toml::parse_error& e) {
  const auto& at = e.source().begin;
  return (path.empty() ? "" : path + ":") + std::to_string(at.line) + ":" +
         std::to_string(at.column) + ": ";
}

void apply_toml(const std::string& path, Config& c) {
  toml::table tbl;
  try {
    tbl = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    throw ConfigError("config", where(path, e) + std::string(e.description()));
  }
  apply_table(tbl, path, c);
}

// Every DIALTONED_* variable must be a key (or DIALTONED_CONFIG), and none may be empty: a
// typo or a template that expanded to nothing stops the start instead of leaving a default in
// place (a mistyped DIALTONED_JWT_HS256_SECRT once meant development tokens on).
void check_env_names() {
  constexpr std::string_view kPrefix = "DIALTONED_";
  std::vector<std::string> known;
  for (const auto& k : config_keys()) known.push_back(env_name(k));
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
          name,
          "unknown environment variable" +
              (near.empty() ? "" : " (did you mean " + env_name(*find_config_key(near)) + "?)"));
    }
    if (value.empty())
      throw ConfigError(name, "is set but empty; give a value, or unset it for the default");
  }
}

// A key's value given as text (the environment, a flag).
void apply_text(const ConfigKey& k, const std::string& text, Config& c) {
  std::visit(
      [&](auto field) {
        using T = std::decay_t<decltype(c.*field)>;
        if constexpr (std::is_same_v<T, std::string>)
          set_string(k, text, c);
        else if constexpr (std::is_same_v<T, bool>)
          c.*field = parse_bool(k.name, text);
        else if constexpr (std::is_same_v<T, std::vector<std::string>>)
          c.*field = split_list(text);
        else
          set_integer(k, parse_i64(k.name, text), c);
      },
      k.field);
}

void apply_env(Config& c) {
  check_env_names();
  for (const auto& k : config_keys())
    if (const char* v = std::getenv(env_name(k).c_str())) apply_text(k, v, c);
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

void check_host_port(const char* key, const std::string& v) {
  auto colon = v.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == v.size())
    throw ConfigError(key, "must be HOST:PORT, got '" + v + "'");
  try {
    size_t used = 0;
    int port = std::stoi(v.substr(colon + 1), &used);
    if (used != v.size() - colon - 1 || port < 0 || port > 65535) throw 0;
  } catch (...) {
    throw ConfigError(key, "port must be 0..65535, got '" + v + "'");
  }
  std::string host = host_of(v);
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec && host != "localhost")
    throw ConfigError(key, "'" + host + "' must be an IP address (or localhost)");
}

// The bus's TLS files and credentials: each needs the bus, and the keys their owner only.
void validate_nats(const Config& c) {
  for (auto [key, v] :
       {std::pair{"nats_ca_file", &c.nats_ca_file}, std::pair{"nats_cert_file", &c.nats_cert_file},
        std::pair{"nats_key_file", &c.nats_key_file},
        std::pair{"nats_creds_file", &c.nats_creds_file}}) {
    if (v->empty()) continue;
    if (c.bus.empty()) throw ConfigError(key, "is only used with bus");
    if (!file_readable(*v)) throw ConfigError(key, "cannot read '" + *v + "'");
  }
  if (c.nats_cert_file.empty() != c.nats_key_file.empty())
    throw ConfigError(c.nats_cert_file.empty() ? "nats_cert_file" : "nats_key_file",
                      "nats_cert_file and nats_key_file go together");
  check_secret_file("nats_key_file", c.nats_key_file);
  check_secret_file("nats_creds_file", c.nats_creds_file);
}

// jwks_url: https:, or http: to this machine (the keys that let people in must not be
// swappable on the way).
void validate_jwks_url(const Config& c) {
  if (c.jwks_url.empty()) {
    if (!c.jwks_ca_file.empty()) throw ConfigError("jwks_ca_file", "is only used with jwks_url");
    return;
  }
  auto u = http_url_shape(c.jwks_url) ? boost::urls::parse_absolute_uri(c.jwks_url)
                                      : boost::system::result<boost::urls::url_view>();
  if (!u || u->encoded_host().empty() || u->has_userinfo() || u->has_fragment())
    throw ConfigError("jwks_url", "'" + c.jwks_url + "' must be an https URL");
  if (u->scheme() != "https" && !loopback_host(u->encoded_host()))
    throw ConfigError("jwks_url",
                      "'" + c.jwks_url + "' must be https (http: only to this machine's loopback)");
  if (!c.jwks_ca_file.empty() && !file_readable(c.jwks_ca_file))
    throw ConfigError("jwks_ca_file", "cannot read '" + c.jwks_ca_file + "'");
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
  bool key = !c.jwt_hs256_secret.empty() || !c.jwt_hs256_secret_file.empty() ||
             !c.jwks_file.empty() || !c.jwks_url.empty();
  for (auto [name, v] :
       {std::pair{"jwt_issuer", &c.jwt_issuer}, std::pair{"jwt_audience", &c.jwt_audience}})
    if (!key && !v->empty())
      throw ConfigError(name,
                        "is set but no identity provider key is: add jwks_url or jwks_file (or "
                        "jwt_hs256_secret_file), or remove it. Development tokens stay off "
                        "while any identity key is set, so this server would let nobody in");
  jwt_hs256_secrets(c);  // throws when they cannot be read or one is too short
}

// Development tokens beyond loopback: anyone who reaches the port may sign in as anyone.
void validate_dev_exposure(const Config& c) {
  if (!c.dev_tokens() || c.loopback_only() || c.dev_tokens_public) return;
  throw ConfigError(
      "listen",
      "'" + c.listen +
          "' reaches beyond this machine while development tokens are on (no identity "
          "provider is configured), so anyone who reaches it could sign in as anyone. "
          "Configure an identity provider (jwks_url or jwks_file with jwt_issuer and jwt_audience, "
          "or jwt_hs256_secret_file), listen on 127.0.0.1, or set "
          "dev_tokens_public = true to allow it deliberately");
}

void validate_privacy(const Config& c) {
  static const char* const kToneRegions[] = {"auto", "us", "eu", "uk", "fr", "au", "jp"};
  if (std::find(std::begin(kToneRegions), std::end(kToneRegions), c.tone_region) ==
      std::end(kToneRegions))
    throw ConfigError("tone_region", "must be one of auto, us, eu, uk, fr, au, jp, got '" +
                                         c.tone_region.substr(0, 64) + "'");
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
  for (const auto& k : config_keys()) {
    std::int64_t v;
    if (auto* f = std::get_if<int Config::*>(&k.field))
      v = c.**f;
    else if (auto* g = std::get_if<std::int64_t Config::*>(&k.field))
      v = c.**g;
    else
      continue;
    check_range(k, v);  // a Config built in code, not read: the same ranges
  }
  check_host_port("listen", c.listen);
  if (!c.metrics_listen.empty()) check_host_port("metrics_listen", c.metrics_listen);
  if (c.data_dir.empty()) throw ConfigError("data_dir", "must not be empty");
  if (!c.store.empty() && !has_scheme(c.store, {"postgres://", "postgresql://"}))
    throw ConfigError("store", "must be a postgres:// URL, or empty for SQLite in data_dir");
  if (!c.bus.empty()) {
    for (std::size_t start = 0; start <= c.bus.size();) {
      auto comma = std::min(c.bus.find(',', start), c.bus.size());
      if (!has_scheme(c.bus.substr(start, comma - start), {"nats://", "tls://"}))
        throw ConfigError("bus",
                          "must be nats:// or tls://HOST:PORT (several separated by commas)");
      start = comma + 1;
    }
    if (c.store.empty())
      throw ConfigError("bus",
                        "needs a store that the nodes share: set store to a postgres:// URL");
  }
  validate_nats(c);
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
  for (auto [key, v] : {std::pair{"jwks_file", &c.jwks_file}, std::pair{"jwks_url", &c.jwks_url}}) {
    if (v->empty()) continue;
    if (c.jwt_issuer.empty())
      throw ConfigError("jwt_issuer", std::string("is required with ") + key);
    if (c.jwt_audience.empty())
      throw ConfigError("jwt_audience", std::string("is required with ") + key);
  }
  validate_jwks_url(c);
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
    throw ConfigError("config", where("", e) + std::string(e.description()));
  }
  Config c;
  apply_table(tbl, "", c);
  validate(c);
  return c;
}

bool load_config(int argc, char** argv, Config& out) {
  CLI::App app{"dialtoned — the Dialtone call server"};
  app.set_help_flag();  // config_help() lists every key its own way
  bool help = false;
  app.add_flag("-h,--help", help);
  app.set_version_flag("--version", "dialtoned " + std::string(version()));
  std::string config_file;
  app.add_option("--config", config_file);
  auto keys = config_keys();
  std::vector<std::optional<std::string>> flags(keys.size());
  for (std::size_t i = 0; i < keys.size(); ++i) app.add_option(flag_name(keys[i]), flags[i]);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForVersion& e) {
    std::cout << "dialtoned " << version() << "\n";
    return false;
  } catch (const CLI::ParseError& e) {
    throw ConfigError("flags", e.what());
  }
  if (help) {
    std::cout << config_help();
    return false;
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
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (flags[i]) apply_text(keys[i], *flags[i], c);
  validate(c);
  out = std::move(c);
  return true;
}

}  // namespace dialtone
