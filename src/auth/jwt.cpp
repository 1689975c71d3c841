#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/hmac.h>
#include <boost/json.hpp>

#include "core/errors.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

PKey adopt_pkey(EVP_PKEY* raw) {
  return PKey(raw, EVP_PKEY_free);
}

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

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

using MdCtx = std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)>;

bool verify_pkey(EVP_PKEY* key, std::string_view data, std::string_view der_sig) {
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1)
    return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(der_sig.data()),
                          der_sig.size(), reinterpret_cast<const unsigned char*>(data.data()),
                          data.size()) == 1;
}

std::string sign_pkey(EVP_PKEY* key, std::string_view data) {
  MdCtx ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  size_t len = 0;
  if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                     data.size()) != 1)
    throw std::runtime_error("signing failed");
  std::string sig(len, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1)
    throw std::runtime_error("signing failed");
  sig.resize(len);
  return sig;
}

// JWS carries ECDSA signatures as r||s (RFC 7518 §3.4); OpenSSL speaks DER.
std::optional<std::string> es256_raw_to_der(std::string_view raw) {
  if (raw.size() != 64) return std::nullopt;
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  int len = i2d_ECDSA_SIG(sig, &der);
  ECDSA_SIG_free(sig);
  if (len <= 0) return std::nullopt;
  std::string out(reinterpret_cast<char*>(der), static_cast<size_t>(len));
  OPENSSL_free(der);
  return out;
}

std::string es256_der_to_raw(std::string_view der) {
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (!sig) throw std::runtime_error("bad ECDSA signature");
  std::string out(64, '\0');
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), reinterpret_cast<unsigned char*>(out.data()), 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), reinterpret_cast<unsigned char*>(out.data()) + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

bool signature_ok(const TrustedKey& key, std::string_view signing_input, std::string_view sig) {
  switch (key.alg) {
    case JwtAlg::HS256: {
      std::string mac = hmac_sha256(key.secret, signing_input);
      return sig.size() == mac.size() && CRYPTO_memcmp(sig.data(), mac.data(), mac.size()) == 0;
    }
    case JwtAlg::RS256:
      return key.pkey && verify_pkey(key.pkey.get(), signing_input, sig);
    case JwtAlg::ES256: {
      auto der = es256_raw_to_der(sig);
      return der && key.pkey && verify_pkey(key.pkey.get(), signing_input, *der);
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

std::string sign_jwt(JwtAlg alg, const TrustedKey& key, const json::object& claims) {
  json::object header{{"alg", alg_name(alg)}, {"typ", "JWT"}};
  if (!key.kid.empty()) header["kid"] = key.kid;
  std::string input =
      base64url_encode(json::serialize(header)) + "." + base64url_encode(json::serialize(claims));
  std::string sig;
  switch (alg) {
    case JwtAlg::HS256:
      sig = hmac_sha256(key.secret, input);
      break;
    case JwtAlg::RS256:
      sig = sign_pkey(key.pkey.get(), input);
      break;
    case JwtAlg::ES256:
      sig = es256_der_to_raw(sign_pkey(key.pkey.get(), input));
      break;
  }
  return input + "." + base64url_encode(sig);
}

}  // namespace dialtone
