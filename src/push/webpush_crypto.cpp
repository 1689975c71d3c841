// SPDX-License-Identifier: Apache-2.0
#include "push/webpush_crypto.hpp"

#include <boost/json.hpp>
#include <boost/url.hpp>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/jwt.hpp"
#include "core/errors.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

std::string be32(std::uint32_t v) {
  std::string out(4, '\0');
  for (int i = 0; i < 4; ++i) out[i] = static_cast<char>(v >> (24 - 8 * i));
  return out;
}

// RFC 8291 §3.3-3.4: from the ECDH secret to the content encryption key and nonce.
struct Keys {
  std::string cek, nonce;
};
Keys derive(std::string_view ecdh_secret, std::string_view auth_secret, std::string_view ua_public,
            std::string_view as_public, std::string_view salt) {
  std::string prk_key = hmac_sha256(auth_secret, ecdh_secret);
  std::string key_info = std::string("WebPush: info") + '\0';
  key_info.append(ua_public).append(as_public);
  std::string ikm = hmac_sha256(prk_key, key_info + '\x01');
  std::string prk = hmac_sha256(salt, ikm);
  std::string cek = hmac_sha256(prk, std::string("Content-Encoding: aes128gcm") + '\0' + '\x01');
  std::string nonce = hmac_sha256(prk, std::string("Content-Encoding: nonce") + '\0' + '\x01');
  return {cek.substr(0, 16), nonce.substr(0, 12)};
}

std::string b64_field(const json::object& o, std::string_view key, const char* what) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) throw Error(ErrorCode::bad_request, std::string(what) + " is missing");
  std::string_view text = v->get_string();
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string norm(text);
  for (char& c : norm) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  auto bytes = base64url_decode(norm);
  if (!bytes) throw Error(ErrorCode::bad_request, std::string(what) + " is not base64url");
  return *bytes;
}

}  // namespace

std::optional<std::string> url_origin(std::string_view url) {
  auto u = boost::urls::parse_absolute_uri(url);
  if (!u || !u->has_authority() || u->host().empty()) return std::nullopt;
  std::string out = std::string(u->scheme()) + "://" + std::string(u->encoded_host());
  if (u->has_port()) out += ":" + std::string(u->port());
  return out;
}

WebPushSubscription parse_subscription(std::string_view json_text) {
  boost::system::error_code ec;
  json::value v = json::parse(json_text, ec);
  if (ec || !v.is_object()) throw Error(ErrorCode::bad_request, "subscription must be an object");
  const auto& o = v.get_object();
  auto* ep = o.if_contains("endpoint");
  if (!ep || !ep->is_string() || ep->get_string().size() > 2048)
    throw Error(ErrorCode::bad_request, "subscription.endpoint must be a URL string");
  WebPushSubscription s;
  s.endpoint = std::string(ep->get_string());
  auto u = boost::urls::parse_absolute_uri(s.endpoint);
  if (!u || u->scheme() != "https" || u->host().empty())
    throw Error(ErrorCode::bad_request, "subscription.endpoint must be an https URL");
  auto* keys = o.if_contains("keys");
  if (!keys || !keys->is_object())
    throw Error(ErrorCode::bad_request, "subscription.keys is missing");
  s.p256dh = b64_field(keys->get_object(), "p256dh", "subscription.keys.p256dh");
  s.auth = b64_field(keys->get_object(), "auth", "subscription.keys.auth");
  if (!p256_public_from_bytes(s.p256dh))
    throw Error(ErrorCode::bad_request, "subscription.keys.p256dh is not a P-256 public key");
  if (s.auth.size() != 16)
    throw Error(ErrorCode::bad_request, "subscription.keys.auth must be 16 bytes");
  return s;
}

std::string webpush_encrypt(std::string_view plaintext, std::string_view ua_public,
                            std::string_view auth_secret, EVP_PKEY* as_key, std::string_view salt,
                            std::uint32_t record_size) {
  PKey ua = p256_public_from_bytes(ua_public);
  if (!ua) throw std::runtime_error("the subscription's p256dh is not a P-256 point");
  if (salt.size() != 16) throw std::runtime_error("salt must be 16 bytes");
  if (plaintext.size() + 17 > record_size) throw std::runtime_error("message too long");
  std::string as_public = p256_public_bytes(as_key);
  Keys k = derive(ecdh(as_key, ua.get()), auth_secret, ua_public, as_public, salt);
  std::string record(plaintext);
  record += '\x02';  // the last (only) record's delimiter; no padding
  std::string body(salt);
  body += be32(record_size);
  body += static_cast<char>(as_public.size());
  body += as_public;
  body += aes_gcm_encrypt(k.cek, k.nonce, record);
  return body;
}

std::string webpush_encrypt(std::string_view plaintext, std::string_view ua_public,
                            std::string_view auth_secret) {
  PKey eph = p256_generate();
  return webpush_encrypt(plaintext, ua_public, auth_secret, eph.get(), random_bytes(16));
}

std::optional<std::string> webpush_decrypt(std::string_view body, EVP_PKEY* ua_key,
                                           std::string_view auth_secret) {
  if (body.size() < 21) return std::nullopt;
  std::string_view salt = body.substr(0, 16);
  std::uint32_t rs = 0;
  for (int i = 0; i < 4; ++i) rs = rs << 8 | static_cast<unsigned char>(body[16 + i]);
  size_t idlen = static_cast<unsigned char>(body[20]);
  if (idlen != 65 || body.size() < 21 + idlen + 17 || rs < 18) return std::nullopt;
  std::string_view as_public = body.substr(21, idlen);
  std::string_view sealed = body.substr(21 + idlen);
  if (sealed.size() > rs) return std::nullopt;  // one record only
  PKey as = p256_public_from_bytes(as_public);
  if (!as) return std::nullopt;
  Keys k = derive(ecdh(ua_key, as.get()), auth_secret, p256_public_bytes(ua_key), as_public, salt);
  auto record = aes_gcm_decrypt(k.cek, k.nonce, sealed);
  if (!record) return std::nullopt;
  auto end = record->find_last_not_of('\0');
  if (end == std::string::npos || (*record)[end] != '\x02') return std::nullopt;
  record->resize(end);
  return record;
}

Vapid::Vapid(PKey key, std::string subject) : key_(std::move(key)), subject_(std::move(subject)) {
  public_b64_ = base64url_encode(p256_public_bytes(key_.get()));
}

std::shared_ptr<Vapid> Vapid::load_or_create(const std::string& path, std::string subject) {
  if (std::filesystem::exists(path)) {
    std::ifstream f(path);
    std::stringstream ss;
    ss << f.rdbuf();
    PKey key = private_key_from_pem(ss.str());
    if (!key || EVP_PKEY_get_base_id(key.get()) != EVP_PKEY_EC)
      throw std::runtime_error(path + " is not a P-256 private key in PEM");
    return std::make_shared<Vapid>(std::move(key), std::move(subject));
  }
  PKey key = p256_generate();
  std::string pem = private_key_to_pem(key.get());
  std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    if (!f) throw std::runtime_error("cannot write " + tmp);
    ::chmod(tmp.c_str(), 0600);
    f << pem;
    if (!f.flush()) throw std::runtime_error("cannot write " + tmp);
  }
  std::filesystem::rename(tmp, path);
  return std::make_shared<Vapid>(std::move(key), std::move(subject));
}

std::string Vapid::token(std::string_view audience, std::int64_t exp) const {
  json::object claims{{"aud", audience}, {"exp", exp}, {"sub", subject_}};
  TrustedKey k;
  k.alg = JwtAlg::ES256;
  k.pkey = key_;
  return sign_jws(JwtAlg::ES256, k, R"({"typ":"JWT","alg":"ES256"})", json::serialize(claims));
}

std::string Vapid::authorization(std::string_view endpoint, TimeMs now) {
  auto aud = url_origin(endpoint);
  if (!aud) throw std::runtime_error("push endpoint has no origin");
  std::int64_t now_s = now / 1000;
  std::lock_guard lk(mu_);
  auto it = cache_.find(*aud);
  if (it == cache_.end() || it->second.second - 3600 <= now_s) {
    std::int64_t exp = now_s + 12 * 3600;
    it = cache_.insert_or_assign(*aud, std::make_pair(token(*aud, exp), exp)).first;
  }
  return "vapid t=" + it->second.first + ", k=" + public_b64_;
}

}  // namespace dialtone
