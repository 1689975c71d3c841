// SPDX-License-Identifier: Apache-2.0
#include "server/authenticator.hpp"

#include <sys/stat.h>

#include <boost/json.hpp>
#include <boost/url/parse.hpp>

#include <filesystem>
#include <fstream>

#include "core/errors.hpp"
#include "core/request.hpp"
#include "util/encoding.hpp"
#include "util/secret_file.hpp"
#include "util/text.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

bool host_listed(std::string_view host, const std::vector<std::string>& hosts) {
  std::string h(host);
  for (auto& ch : h) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  for (const auto& pattern : hosts) {
    if (pattern.substr(0, 2) == "*.") {
      std::string_view domain = std::string_view(pattern).substr(1);  // ".example.com"
      if (h.size() > domain.size() &&
          h.compare(h.size() - domain.size(), domain.size(), domain.data(), domain.size()) == 0)
        return true;
    } else if (h == pattern) {
      return true;
    }
  }
  return false;
}

}  // namespace

bool photo_url_allowed(std::string_view url, const std::vector<std::string>& hosts,
                       bool allowLoopbackHttp) {
  if (url.empty() || url.size() > kMaxPhotoLength || !http_url_shape(url)) return false;
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || u->host().empty() || u->has_userinfo()) return false;
  // Boost.URL 1.81 reads "http://127.0.0.1.evil.example/x" as host 127.0.0.1 with the path
  // ".evil.example/x"; after an authority, a path is empty or starts with '/'.
  if (!u->encoded_path().empty() && u->encoded_path().front() != '/') return false;
  if (u->scheme() == "https") return host_listed(u->encoded_host(), hosts);
  if (u->scheme() != "http" || !allowLoopbackHttp) return false;
  return loopback_host(u->encoded_host());
}

std::string load_or_create_dev_key(const std::string& dir) {
  std::filesystem::path path = std::filesystem::path(dir) / "dev-token.key";
  if (std::filesystem::exists(path)) {
    std::string text;
    try {
      text = read_secret_line(path.string());
    } catch (const SecretFileError& e) {
      throw ConfigError("data_dir", e.what());
    }
    auto key = base64url_decode(text);
    if (!key || key->size() < 32)
      throw ConfigError("data_dir", path.string() + " is not a valid development key");
    return *key;
  }
  std::string key = random_bytes(32);
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    ::chmod(tmp.c_str(), 0600);
    out << base64url_encode(key) << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  std::filesystem::rename(tmp, path);
  return key;
}

std::string shared_dev_key(Store& store, const std::string& dir) {
  std::filesystem::path file = std::filesystem::path(dir) / "dev-token.key";
  std::string candidate =
      std::filesystem::exists(file) ? load_or_create_dev_key(dir) : random_bytes(32);
  store.begin();
  std::string stored;
  try {
    stored = store.shared_secret("dev_token_key", base64url_encode(candidate));
    store.commit();
  } catch (...) {
    store.rollback();
    throw;
  }
  auto key = base64url_decode(stored);
  if (!key || key->size() < 32)
    throw StoreError(StoreError::Kind::failure, "the stored development key is not valid");
  return *key;
}

std::vector<TrustedKey> rotate_keys(const std::vector<TrustedKey>& old,
                                    std::vector<TrustedKey> fresh, TimeMs retireAt, TimeMs now) {
  std::vector<TrustedKey> out = std::move(fresh);
  std::size_t current = out.size();
  for (const auto& k : old) {
    bool kept = false;
    for (std::size_t i = 0; i < current && !kept; ++i) kept = same_key(out[i], k);
    if (kept) continue;
    TimeMs until = k.retiresAt != 0 ? std::min(k.retiresAt, retireAt) : retireAt;
    if (until <= now) continue;
    TrustedKey retiring = k;
    retiring.retiresAt = until;
    out.push_back(std::move(retiring));
  }
  return out;
}

namespace {

std::vector<TrustedKey> hs256_keys(const Config& c) {
  std::vector<TrustedKey> out;
  for (auto& s : jwt_hs256_secrets(c)) {
    TrustedKey k;
    k.alg = JwtAlg::HS256;
    k.secret = std::move(s);
    out.push_back(std::move(k));
  }
  return out;
}

std::vector<TrustedKey> jwks_keys(const Config& c) {
  if (c.jwks_file.empty()) return {};
  std::ifstream in(c.jwks_file);
  if (!in) throw ConfigError("jwks_file", "cannot read '" + c.jwks_file + "'");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  try {
    return parse_jwks(text);
  } catch (const std::exception& e) {
    throw ConfigError("jwks_file", e.what());
  }
}

}  // namespace

Authenticator::Authenticator(const Config& config, TimeMs now, std::string devKey)
    : config_(config), dev_mode_(config.dev_tokens()) {
  if (dev_mode_) {
    dev_key_.alg = JwtAlg::HS256;
    dev_key_.secret = devKey.empty() ? load_or_create_dev_key(config.data_dir) : std::move(devKey);
    auto v = std::make_shared<JwtVerifier>();
    v->add({{dev_key_}, kDevIssuer, kDevAudience});
    verifier_ = std::move(v);
    return;
  }
  reload(now);
}

std::size_t Authenticator::reload(TimeMs now) {
  if (dev_mode_) return 1;
  auto hs = hs256_keys(config_);
  auto jw = jwks_keys(config_);
  std::lock_guard lk(mu_);
  TimeMs retireAt = now + config_.key_rotation_overlap_s * 1000LL;
  hs256_ = rotate_keys(hs256_, std::move(hs), retireAt, now);
  jwks_ = rotate_keys(jwks_, std::move(jw), retireAt, now);
  rebuild_verifier();
  return hs256_.size() + jwks_.size() + remote_.size();
}

void Authenticator::set_remote_keys(std::vector<TrustedKey> keys, TimeMs now) {
  std::lock_guard lk(mu_);
  remote_ =
      rotate_keys(remote_, std::move(keys), now + config_.key_rotation_overlap_s * 1000LL, now);
  rebuild_verifier();
}

void Authenticator::rebuild_verifier() {
  auto v = std::make_shared<JwtVerifier>();
  for (const auto* keys : {&hs256_, &jwks_, &remote_})
    if (!keys->empty()) v->add({*keys, config_.jwt_issuer, config_.jwt_audience});
  verifier_ = std::move(v);
}

bool Authenticator::kid_unknown(std::string_view token, TimeMs now) const {
  if (dev_mode_) return false;
  std::string kid = jwt_header_kid(token);
  if (kid.empty()) return false;
  std::lock_guard lk(mu_);
  for (const auto* keys : {&hs256_, &jwks_, &remote_})
    for (const auto& k : *keys)
      if (k.kid == kid && (k.retiresAt == 0 || k.retiresAt > now)) return false;
  return true;
}

std::shared_ptr<const JwtVerifier> Authenticator::verifier() const {
  std::lock_guard lk(mu_);
  return verifier_;
}

Principal Authenticator::authenticate(std::string_view token, TimeMs now) const {
  if (token.empty()) throw Error(ErrorCode::unauthorized, "no token");
  Principal p = verifier()->verify(token, now);
  if (!valid_id(p.userId)) throw Error(ErrorCode::unauthorized, "token sub is not a valid user id");
  if (p.name.size() > kMaxNameLength)
    throw Error(ErrorCode::unauthorized, "token name is too long");
  if (p.photo.size() > kMaxPhotoLength)
    throw Error(ErrorCode::unauthorized, "token picture is too long");
  Profile kept = profile(std::move(p.userId), p.name, std::move(p.photo));
  p.userId = std::move(kept.userId);
  p.name = std::move(kept.name);
  p.photo = std::move(kept.photo);
  return p;
}

Profile Authenticator::profile(std::string userId, std::string_view name, std::string photo) const {
  Profile p;
  p.name = display_text(name, kMaxNameLength);
  if (p.name.empty()) p.name = userId;
  p.userId = std::move(userId);
  // A photo the clients must not load is dropped rather than refusing the person.
  if (!photo.empty() && photo_allowed(photo)) p.photo = std::move(photo);
  return p;
}

std::pair<std::string, TimeMs> Authenticator::issue_dev_token(const Profile& p, TimeMs now) const {
  TimeMs exp = now + config_.dev_token_lifetime_s * 1000LL;
  json::object claims{{"iss", kDevIssuer}, {"aud", kDevAudience}, {"sub", p.userId},
                      {"name", p.name},    {"picture", p.photo},  {"iat", now / 1000},
                      {"exp", exp / 1000}};
  return {sign_jwt(JwtAlg::HS256, dev_key_, claims), exp / 1000 * 1000};
}

}  // namespace dialtone
