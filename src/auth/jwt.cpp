// SPDX-License-Identifier: Apache-2.0
#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <boost/json.hpp>

#include "core/errors.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

[[noreturn]] void unauthorized(std::string msg) {
  throw Error(ErrorCode::unauthorized, std::move(msg));
}

std::string_view alg_name(JwtAlg a) {
  switch (a) {
    case JwtAlg::HS256:
      return "HS256";
    case JwtAlg::RS256:
      return "RS256";
    case JwtAlg::ES256:
      return "ES256";
  }
  return "none";
}

bool signature_ok(const TrustedKey& key, std::string_view signing_input, std::string_view sig) {
  switch (key.alg) {
    case JwtAlg::HS256: {
      std::string mac = hmac_sha256(key.secret, signing_input);
      return sig.size() == mac.size() && CRYPTO_memcmp(sig.data(), mac.data(), mac.size()) == 0;
    }
    case JwtAlg::RS256:
      return key.pkey && verify_sha256(key.pkey.get(), signing_input, sig);
    case JwtAlg::ES256: {
      auto der = ecdsa_raw_to_der(sig);
      return der && key.pkey && verify_sha256(key.pkey.get(), signing_input, *der);
    }
  }
  return false;
}

json::object decode_part(std::string_view part, const char* what) {
  auto bytes = base64url_decode(part);
  if (!bytes) unauthorized(std::string("token ") + what + " is not base64url");
  boost::system::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) unauthorized(std::string("token ") + what + " is not a JSON object");
  return std::move(v.get_object());
}

std::optional<double> number_claim(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v) return std::nullopt;
  if (!v->is_number()) unauthorized("claim '" + std::string(k) + "' must be a number");
  return v->to_number<double>();
}

bool audience_matches(const json::object& claims, std::string_view want) {
  auto* aud = claims.if_contains("aud");
  if (!aud) return false;
  if (aud->is_string()) return aud->get_string() == want;
  if (aud->is_array())
    for (auto& a : aud->get_array())
      if (a.is_string() && a.get_string() == want) return true;
  return false;
}

std::string string_claim(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::string jwt_header_kid(std::string_view token) {
  auto dot = token.find('.');
  if (dot == std::string_view::npos || token.size() > 16 * 1024) return {};
  auto bytes = base64url_decode(token.substr(0, dot));
  if (!bytes) return {};
  boost::system::error_code ec;
  json::value v = json::parse(*bytes, ec);
  if (ec || !v.is_object()) return {};
  return string_claim(v.get_object(), "kid");
}

Principal JwtVerifier::verify(std::string_view token, TimeMs now) const {
  if (token.size() > 16 * 1024) unauthorized("token too long");
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    unauthorized("token is not a JWS compact serialization");
  json::object header = decode_part(token.substr(0, dot1), "header");
  auto* algv = header.if_contains("alg");
  if (!algv || !algv->is_string()) unauthorized("token header has no alg");
  std::string_view alg = algv->get_string();
  std::string kid = string_claim(header, "kid");
  auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!sig || sig->empty()) unauthorized("token signature is missing or not base64url");
  std::string_view signing_input = token.substr(0, dot2);

  const TrustedIssuer* matched = nullptr;
  for (const auto& iss : issuers_) {
    for (const auto& key : iss.keys) {
      if (alg_name(key.alg) != alg) continue;  // never `none`, never a downgrade
      if (key.retiresAt != 0 && key.retiresAt <= now) continue;
      if (!key.kid.empty() && !kid.empty() && key.kid != kid) continue;
      if (signature_ok(key, signing_input, *sig)) {
        matched = &iss;
        break;
      }
    }
    if (matched) break;
  }
  if (!matched) unauthorized("token signature is not valid for any trusted key");

  json::object claims = decode_part(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  auto exp = number_claim(claims, "exp");
  if (!exp) unauthorized("token has no exp");
  if (*exp * 1000.0 + kLeewayMs < static_cast<double>(now)) unauthorized("token expired");
  if (auto nbf = number_claim(claims, "nbf"); nbf && *nbf * 1000.0 - kLeewayMs > now)
    unauthorized("token not yet valid");
  if (!matched->issuer.empty() && string_claim(claims, "iss") != matched->issuer)
    unauthorized("token issuer is not trusted");
  if (!matched->audience.empty() && !audience_matches(claims, matched->audience))
    unauthorized("token audience does not match");
  Principal p;
  p.userId = string_claim(claims, "sub");
  if (p.userId.empty()) unauthorized("token has no sub");
  p.name = string_claim(claims, "name");
  p.photo = string_claim(claims, "picture");
  p.expiresAt = static_cast<TimeMs>(*exp * 1000.0);
  return p;
}

bool same_key(const TrustedKey& a, const TrustedKey& b) {
  if (a.alg != b.alg || a.kid != b.kid) return false;
  if (a.alg == JwtAlg::HS256) return a.secret == b.secret;
  return a.pkey && b.pkey && EVP_PKEY_eq(a.pkey.get(), b.pkey.get()) == 1;
}

std::string sign_jws(JwtAlg alg, const TrustedKey& key, std::string_view header_json,
                     std::string_view claims_json) {
  std::string input = base64url_encode(header_json) + "." + base64url_encode(claims_json);
  std::string sig;
  switch (alg) {
    case JwtAlg::HS256:
      sig = hmac_sha256(key.secret, input);
      break;
    case JwtAlg::RS256:
      sig = sign_sha256(key.pkey.get(), input);
      break;
    case JwtAlg::ES256:
      sig = ecdsa_der_to_raw(sign_sha256(key.pkey.get(), input));
      break;
  }
  return input + "." + base64url_encode(sig);
}

std::string sign_jwt(JwtAlg alg, const TrustedKey& key, const json::object& claims) {
  json::object header{{"alg", alg_name(alg)}, {"typ", "JWT"}};
  if (!key.kid.empty()) header["kid"] = key.kid;
  return sign_jws(alg, key, json::serialize(header), json::serialize(claims));
}

}  // namespace dialtone
