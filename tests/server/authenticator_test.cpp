// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <openssl/evp.h>

#include "auth/jwt.hpp"
#include "core/errors.hpp"
#include "server/authenticator.hpp"

namespace dialtone {
namespace {

namespace json = boost::json;
constexpr TimeMs kNow = 1'800'000'000'000;

TrustedKey ec_key(const std::string& kid) {
  TrustedKey k;
  k.alg = JwtAlg::ES256;
  k.kid = kid;
  k.pkey = adopt_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  return k;
}

TEST(KeyRotation, KeysThatLeaveStayUntilTheOverlapEnds) {
  TrustedKey a = ec_key("a"), b = ec_key("b");
  auto keys = rotate_keys({}, {a}, kNow + 1000, kNow);
  ASSERT_EQ(keys.size(), 1u);
  EXPECT_EQ(keys[0].retiresAt, 0);
  // a leaves the JWKS, b arrives: a retires at the end of the overlap.
  keys = rotate_keys(keys, {b}, kNow + 1000, kNow);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].kid, "b");
  EXPECT_EQ(keys[0].retiresAt, 0);
  EXPECT_EQ(keys[1].kid, "a");
  EXPECT_EQ(keys[1].retiresAt, kNow + 1000);
  // Another reload during the overlap does not extend it.
  keys = rotate_keys(keys, {b}, kNow + 5000, kNow + 500);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[1].retiresAt, kNow + 1000);
  // After it, a is gone; a key that comes back is current again.
  EXPECT_EQ(rotate_keys(keys, {b}, kNow + 9000, kNow + 1000).size(), 1u);
  keys = rotate_keys(keys, {a, b}, kNow + 5000, kNow + 500);
  ASSERT_EQ(keys.size(), 2u);
  EXPECT_EQ(keys[0].retiresAt, 0);
  EXPECT_EQ(keys[1].retiresAt, 0);
  // The same kid with other key material is another key.
  TrustedKey a2 = ec_key("a");
  EXPECT_FALSE(same_key(a, a2));
  EXPECT_TRUE(same_key(a, a));
}

TEST(KeyRotation, ARetiredKeyNoLongerVerifies) {
  TrustedKey k;
  k.alg = JwtAlg::HS256;
  k.secret = std::string(40, 'k');
  k.retiresAt = kNow + 1000;
  JwtVerifier v;
  v.add({{k}, "", ""});
  std::string t =
      sign_jwt(JwtAlg::HS256, k, json::object{{"sub", "alice"}, {"exp", kNow / 1000 + 600}});
  EXPECT_EQ(v.verify(t, kNow).userId, "alice");
  EXPECT_THROW(v.verify(t, kNow + 1000), Error);
}

TEST(PhotoUrls, HttpsOnTheConfiguredHostsOrLoopbackHttpInDevelopment) {
  const std::vector<std::string> hosts = {"cdn.example.org", "*.googleusercontent.com"};
  EXPECT_TRUE(photo_url_allowed("https://cdn.example.org/a.png", hosts, false));
  EXPECT_TRUE(photo_url_allowed("https://CDN.example.org/a.png", hosts, false));
  EXPECT_TRUE(photo_url_allowed("https://lh3.googleusercontent.com/a/x=s96", hosts, false));
  // Any other host would learn the address of whoever loads the photo (a callee, when it rings).
  EXPECT_FALSE(photo_url_allowed("https://tracker.example/a.png", hosts, false));
  EXPECT_FALSE(photo_url_allowed("https://googleusercontent.com/a.png", hosts, false));
  EXPECT_FALSE(photo_url_allowed("https://evilgoogleusercontent.com/a.png", hosts, false));
  EXPECT_FALSE(photo_url_allowed("https://cdn.example.org.evil.example/a.png", hosts, false));
  EXPECT_FALSE(photo_url_allowed("https://cdn.example.org/a.png", {}, false));
  EXPECT_FALSE(photo_url_allowed("http://cdn.example.org/a.png", hosts, true));
  EXPECT_TRUE(photo_url_allowed("http://127.0.0.1:8080/a.png", {}, true));
  EXPECT_TRUE(photo_url_allowed("http://localhost/a.png", {}, true));
  EXPECT_TRUE(photo_url_allowed("http://[::1]:9/a.png", {}, true));
  EXPECT_FALSE(photo_url_allowed("http://127.0.0.1/a.png", hosts, false));
  EXPECT_FALSE(photo_url_allowed("http://127.0.0.1.evil.example/a.png", hosts, true));
  for (const char* bad :
       {"javascript:alert(1)", "data:image/png;base64,AAAA", "//example.org/a.png",
        "https://user:pw@cdn.example.org/a", "ftp://cdn.example.org/a", "", "https://"})
    EXPECT_FALSE(photo_url_allowed(bad, hosts, true)) << bad;
}

}  // namespace
}  // namespace dialtone
