// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <boost/json.hpp>

#include "auth/jwt.hpp"
#include "core/errors.hpp"
#include "util/encoding.hpp"

namespace dialtone {
namespace {

namespace json = boost::json;
constexpr TimeMs kNow = 1'800'000'000'000;

json::object claims(std::int64_t expSec = kNow / 1000 + 600) {
  return {{"sub", "alice"},          {"name", "Alice"}, {"picture", "https://p"},
          {"iss", "https://issuer"}, {"aud", "my-app"}, {"exp", expSec}};
}

TrustedKey hs(std::string secret) {
  TrustedKey k;
  k.alg = JwtAlg::HS256;
  k.secret = std::move(secret);
  return k;
}

ErrorCode verify_error(const JwtVerifier& v, const std::string& token) {
  try {
    v.verify(token, kNow);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::ok;
}

TEST(Jwt, Hs256RoundTripAndClaims) {
  JwtVerifier v;
  v.add({{hs("s3cret-s3cret-s3cret-s3cret-s3cret")}, "https://issuer", "my-app"});
  auto p =
      v.verify(sign_jwt(JwtAlg::HS256, hs("s3cret-s3cret-s3cret-s3cret-s3cret"), claims()), kNow);
  EXPECT_EQ(p.userId, "alice");
  EXPECT_EQ(p.name, "Alice");
  EXPECT_EQ(p.photo, "https://p");
}

TEST(Jwt, RejectsEveryDefect) {
  const std::string secret = "s3cret-s3cret-s3cret-s3cret-s3cret";
  JwtVerifier v;
  v.add({{hs(secret)}, "https://issuer", "my-app"});
  auto good = sign_jwt(JwtAlg::HS256, hs(secret), claims());
  EXPECT_EQ(verify_error(v, good), ErrorCode::ok);
  EXPECT_EQ(
      verify_error(v, sign_jwt(JwtAlg::HS256, hs("wrong-wrong-wrong-wrong-wrong-wrong"), claims())),
      ErrorCode::unauthorized);
  EXPECT_EQ(verify_error(v, sign_jwt(JwtAlg::HS256, hs(secret), claims(kNow / 1000 - 3600))),
            ErrorCode::unauthorized);
  auto c = claims();
  c["aud"] = "other-app";
  EXPECT_EQ(verify_error(v, sign_jwt(JwtAlg::HS256, hs(secret), c)), ErrorCode::unauthorized);
  c = claims();
  c["aud"] = json::array{"x", "my-app"};
  EXPECT_EQ(verify_error(v, sign_jwt(JwtAlg::HS256, hs(secret), c)), ErrorCode::ok);
  c = claims();
  c["iss"] = "https://evil";
  EXPECT_EQ(verify_error(v, sign_jwt(JwtAlg::HS256, hs(secret), c)), ErrorCode::unauthorized);
  c = claims();
  c.erase("exp");
  EXPECT_EQ(verify_error(v, sign_jwt(JwtAlg::HS256, hs(secret), c)), ErrorCode::unauthorized);
  c = claims();
  c.erase("sub");
  EXPECT_EQ(verify_error(v, sign_jwt(JwtAlg::HS256, hs(secret), c)), ErrorCode::unauthorized);
  c = claims();
  c["nbf"] = kNow / 1000 + 3600;
  EXPECT_EQ(verify_error(v, sign_jwt(JwtAlg::HS256, hs(secret), c)), ErrorCode::unauthorized);

  // alg=none, with and without a signature part.
  std::string none = base64url_encode(R"({"alg":"none","typ":"JWT"})") + "." +
                     base64url_encode(json::serialize(claims()));
  EXPECT_EQ(verify_error(v, none + "."), ErrorCode::unauthorized);
  EXPECT_EQ(verify_error(v, none + ".AAAA"), ErrorCode::unauthorized);
  // Tampered payload keeps the old signature.
  auto dot = good.rfind('.');
  std::string evil =
      good.substr(0, good.find('.') + 1) +
      base64url_encode(
          R"({"sub":"mallory","exp":9999999999,"iss":"https://issuer","aud":"my-app"})") +
      good.substr(dot);
  EXPECT_EQ(verify_error(v, evil), ErrorCode::unauthorized);
  for (const char* junk : {"", "a", "a.b", "a.b.c.d", "!!!.###.$$$", "e30.e30.e30"})
    EXPECT_EQ(verify_error(v, junk), ErrorCode::unauthorized) << junk;
}

// A JWKS document for a freshly generated key, as an identity provider would publish it
// (with "alg" when `alg` is given).
std::string jwk_for(EVP_PKEY* key, const char* kid, const char* alg = nullptr) {
  json::object k{{"kid", kid}, {"use", "sig"}};
  if (alg) k["alg"] = alg;
  if (EVP_PKEY_is_a(key, "RSA")) {
    BIGNUM *n = nullptr, *e = nullptr;
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_N, &n);
    EVP_PKEY_get_bn_param(key, OSSL_PKEY_PARAM_RSA_E, &e);
    std::string nb(BN_num_bytes(n), '\0'), eb(BN_num_bytes(e), '\0');
    BN_bn2bin(n, reinterpret_cast<unsigned char*>(nb.data()));
    BN_bn2bin(e, reinterpret_cast<unsigned char*>(eb.data()));
    BN_free(n);
    BN_free(e);
    k["kty"] = "RSA";
    k["n"] = base64url_encode(nb);
    k["e"] = base64url_encode(eb);
  } else {
    unsigned char pub[65];
    size_t len = 0;
    EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &len);
    k["kty"] = "EC";
    k["crv"] = "P-256";
    k["x"] = base64url_encode(std::string(reinterpret_cast<char*>(pub) + 1, 32));
    k["y"] = base64url_encode(std::string(reinterpret_cast<char*>(pub) + 33, 32));
  }
  return json::serialize(json::object{{"keys", json::array{k}}});
}

TEST(Jwks, AKeyVerifiesOnlyTheAlgorithmItIsDeclaredFor) {
  PKey rsa = adopt_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  PKey ec = adopt_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  TrustedKey rsaSigner{JwtAlg::RS256, "r1", "", rsa};
  auto verifies = [&](const std::string& jwks) {
    JwtVerifier v;
    v.add({parse_jwks(jwks), "https://issuer", "my-app"});
    return verify_error(v, sign_jwt(JwtAlg::RS256, rsaSigner, claims())) == ErrorCode::ok;
  };
  EXPECT_TRUE(verifies(jwk_for(rsa.get(), "r1")));
  EXPECT_TRUE(verifies(jwk_for(rsa.get(), "r1", "RS256")));
  // Declared for RS512 (or anything else): the key is not used for RS256 tokens, and a JWKS with
  // no usable key is refused altogether.
  EXPECT_THROW(verifies(jwk_for(rsa.get(), "r1", "RS512")), std::runtime_error);
  EXPECT_THROW(verifies(jwk_for(rsa.get(), "r1", "ES256")), std::runtime_error);
  EXPECT_THROW(parse_jwks(jwk_for(ec.get(), "e1", "ES384")), std::runtime_error);
  EXPECT_EQ(parse_jwks(jwk_for(ec.get(), "e1", "ES256")).size(), 1u);
  // Beside a usable key, a mis-declared one is skipped.
  std::string both =
      R"({"keys":[)" +
      json::serialize(json::parse(jwk_for(rsa.get(), "r1", "RS512")).at("keys").at(0)) + "," +
      json::serialize(json::parse(jwk_for(ec.get(), "e1")).at("keys").at(0)) + "]}";
  EXPECT_EQ(parse_jwks(both).size(), 1u);
  EXPECT_FALSE(verifies(both));
}

TEST(Jwt, Rs256AndEs256ThroughJwks) {
  PKey rsa = adopt_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}));
  PKey ec = adopt_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  ASSERT_TRUE(rsa && ec);
  auto rsaKeys = parse_jwks(jwk_for(rsa.get(), "r1"));
  auto ecKeys = parse_jwks(jwk_for(ec.get(), "e1"));
  JwtVerifier v;
  TrustedIssuer iss{rsaKeys, "https://issuer", "my-app"};
  iss.keys.insert(iss.keys.end(), ecKeys.begin(), ecKeys.end());
  v.add(iss);

  TrustedKey rsaSigner{JwtAlg::RS256, "r1", "", rsa};
  TrustedKey ecSigner{JwtAlg::ES256, "e1", "", ec};
  EXPECT_EQ(v.verify(sign_jwt(JwtAlg::RS256, rsaSigner, claims()), kNow).userId, "alice");
  EXPECT_EQ(v.verify(sign_jwt(JwtAlg::ES256, ecSigner, claims()), kNow).userId, "alice");

  // A token signed by another key with a known kid fails; so does an HS256 token made with
  // the public key's bytes (algorithm confusion).
  PKey other = adopt_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  EXPECT_EQ(verify_error(v, sign_jwt(JwtAlg::ES256, {JwtAlg::ES256, "e1", "", other}, claims())),
            ErrorCode::unauthorized);
  EXPECT_EQ(verify_error(v, sign_jwt(JwtAlg::HS256, hs(jwk_for(rsa.get(), "r1")), claims())),
            ErrorCode::unauthorized);
}

TEST(Jwks, RejectsMalformedDocuments) {
  for (const char* bad :
       {"", "{}", R"({"keys":5})", R"({"keys":[]})", R"({"keys":[{"kty":"RSA"}]})",
        R"({"keys":[{"kty":"EC","crv":"P-384","x":"AA","y":"AA"}]})",
        R"({"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]})"})
    EXPECT_THROW(parse_jwks(bad), std::runtime_error) << bad;
}

TEST(Encoding, Base64Url) {
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), "\xfb\xff");
  EXPECT_FALSE(base64url_decode("a"));
  EXPECT_FALSE(base64url_decode("ab+c"));
  EXPECT_EQ(random_id().size(), 22u);
  EXPECT_NE(random_id(), random_id());
}

}  // namespace
}  // namespace dialtone
