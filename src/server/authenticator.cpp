#include "server/authenticator.hpp"

#include <sys/stat.h>

#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"
#include "core/request.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

std::string load_or_create_dev_key(const std::string& dir) {
  std::filesystem::path path = std::filesystem::path(dir) / "dev-token.key";
  if (std::filesystem::exists(path)) {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    auto key = base64url_decode(text);
    if (!key || key->size() < 32)
      throw std::runtime_error(path.string() + " is not a valid development key");
    return *key;
  }
  std::string key = random_bytes(32);
  std::filesystem::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << base64url_encode(key) << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  ::chmod(tmp.c_str(), 0600);
  std::filesystem::rename(tmp, path);
  return key;
}

Authenticator::Authenticator(const Config& config) : dev_mode_(config.dev_tokens()) {
  if (dev_mode_) {
    dev_key_.alg = JwtAlg::HS256;
    dev_key_.secret = load_or_create_dev_key(config.data_dir);
    verifier_.add({{dev_key_}, kDevIssuer, kDevAudience});
    return;
  }
  if (!config.jwt_hs256_secret.empty()) {
    TrustedKey k;
    k.alg = JwtAlg::HS256;
    k.secret = config.jwt_hs256_secret;
    verifier_.add({{k}, config.jwt_issuer, config.jwt_audience});
  }
  if (!config.jwks_file.empty()) {
    std::ifstream in(config.jwks_file);
    std::stringstream text;
    text << in.rdbuf();
    try {
      verifier_.add({parse_jwks(text.str()), config.jwt_issuer, config.jwt_audience});
    } catch (const std::exception& e) {
      throw ConfigError("jwks_file", e.what());
    }
  }
}

Principal Authenticator::authenticate(std::string_view token, TimeMs now) const {
  if (token.empty()) throw Error(ErrorCode::unauthorized, "no token");
  Principal p = verifier_.verify(token, now);
  if (!valid_id(p.userId)) throw Error(ErrorCode::unauthorized, "token sub is not a valid user id");
  if (p.name.size() > kMaxNameLength)
    throw Error(ErrorCode::unauthorized, "token name is too long");
  if (p.photo.size() > kMaxPhotoLength)
    throw Error(ErrorCode::unauthorized, "token picture is too long");
  return p;
}

std::pair<std::string, TimeMs> Authenticator::issue_dev_token(const Profile& p, TimeMs now) const {
  TimeMs exp = now + 30LL * 24 * 3600 * 1000;
  json::object claims{{"iss", kDevIssuer}, {"aud", kDevAudience}, {"sub", p.userId},
                      {"name", p.name},    {"picture", p.photo},  {"iat", now / 1000},
                      {"exp", exp / 1000}};
  return {sign_jwt(JwtAlg::HS256, dev_key_, claims), exp / 1000 * 1000};
}

}  // namespace dialtone
