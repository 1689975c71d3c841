// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "auth/jwt.hpp"
#include "core/errors.hpp"
#include "push/vectors.hpp"
#include "push/webpush.hpp"
#include "push/webpush_crypto.hpp"

namespace dialtone {
namespace {

namespace json = boost::json;
using test::b64u;
using test::es256_ok;
using test::load_vector;
using test::str;

TEST(WebPushEncryption, ReproducesRfc8291AppendixAByteForByte) {
  auto v = load_vector("webpush-rfc8291.json");
  const auto& in = v.at("inputs");
  PKey as = p256_from_scalar(b64u(in, "as_private"), b64u(in, "as_public"));
  ASSERT_TRUE(as);
  std::string body = webpush_encrypt(str(in, "plaintext_utf8"), b64u(in, "ua_public"),
                                     b64u(in, "auth_secret"), as.get(), b64u(in, "salt"),
                                     static_cast<std::uint32_t>(in.at("record_size").as_int64()));
  EXPECT_EQ(base64url_encode(body), str(v.at("outputs"), "body"));
  EXPECT_EQ(body.size(), 144u);
}

TEST(WebPushEncryption, TheReceiverDecryptsAndTamperingIsDetected) {
  auto v = load_vector("webpush-rfc8291.json");
  const auto& in = v.at("inputs");
  PKey ua = p256_from_scalar(b64u(in, "ua_private"), b64u(in, "ua_public"));
  ASSERT_TRUE(ua);
  std::string body = b64u(v.at("outputs"), "body");
  EXPECT_EQ(webpush_decrypt(body, ua.get(), b64u(in, "auth_secret")).value_or("<none>"),
            str(in, "plaintext_utf8"));
  // A fresh message (new key pair and salt every time) decrypts too, and differs each time.
  std::string a = webpush_encrypt("hello", b64u(in, "ua_public"), b64u(in, "auth_secret"));
  std::string b = webpush_encrypt("hello", b64u(in, "ua_public"), b64u(in, "auth_secret"));
  EXPECT_NE(a, b);
  EXPECT_EQ(webpush_decrypt(a, ua.get(), b64u(in, "auth_secret")).value_or(""), "hello");
  body[100] ^= 1;
  EXPECT_FALSE(webpush_decrypt(body, ua.get(), b64u(in, "auth_secret")));
  EXPECT_FALSE(webpush_decrypt(body.substr(0, 50), ua.get(), b64u(in, "auth_secret")));
  EXPECT_FALSE(webpush_decrypt(a, ua.get(), std::string(16, 'x')));
}

TEST(WebPushEncryption, RefusesAKeyThatIsNotOnTheCurve) {
  std::string bogus(65, '\x01');
  bogus[0] = 0x04;
  EXPECT_FALSE(p256_public_from_bytes(bogus));
  EXPECT_THROW(webpush_encrypt("x", bogus, std::string(16, 'a')), std::runtime_error);
}

TEST(Vapid, Rfc8292ExampleVerifiesWithItsKey) {
  auto v = load_vector("vapid.json").at("rfc8292_example");
  PKey k = p256_public_from_bytes(b64u(v, "k"));
  ASSERT_TRUE(k);
  std::string t = str(v, "t");
  EXPECT_TRUE(es256_ok(t, k.get()));
  EXPECT_EQ(str(v, "authorization_header"), "vapid t=" + t + ", k=" + str(v, "k"));
  std::string flipped = t;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(es256_ok(flipped, k.get()));
}

TEST(Vapid, OurTokenHasTheVectorsSigningInputAndVerifies) {
  // OpenSSL 3.0 has no RFC 6979 signer: the signing input is compared byte for byte and the
  // (randomized) signature verified; the vector's own tokens verify with our code.
  auto v = load_vector("vapid.json").at("generated_example");
  PKey key = private_key_from_pem(str(v, "private_key_pkcs8_pem"));
  ASSERT_TRUE(key);
  Vapid vapid(key, "mailto:ops@example.com");
  EXPECT_EQ(vapid.public_key_b64url(), str(v, "public_key_uncompressed_b64url"));
  std::string jwt = vapid.token(str(v, "audience"), 1700043200);
  EXPECT_EQ(jwt.substr(0, jwt.rfind('.')), str(v, "signing_input"));
  PKey pub = public_key_from_pem(str(v, "public_key_pem"));
  EXPECT_TRUE(es256_ok(jwt, pub.get()));
  EXPECT_TRUE(es256_ok(str(v, "jwt_rfc6979"), pub.get()));
  EXPECT_TRUE(es256_ok(str(v, "jwt_random_k"), pub.get()));

  std::string header = vapid.authorization(str(v, "push_endpoint"), 1700000000000);
  EXPECT_EQ(header.rfind("vapid t=", 0), 0u);
  EXPECT_NE(header.find(", k=" + str(v, "public_key_uncompressed_b64url")), std::string::npos);
  // Cached per origin: the same token again; another origin gets its own.
  EXPECT_EQ(vapid.authorization(str(v, "push_endpoint") + "x", 1700000001000), header);
  EXPECT_NE(
      vapid.authorization("https://updates.push.services.mozilla.com/wpush/v2/x", 1700000001000),
      header);
}

TEST(Vapid, KeyIsCreatedOnceAndKept) {
  std::string path = ::testing::TempDir() + "/vapid-test.pem";
  std::remove(path.c_str());
  auto a = Vapid::load_or_create(path, "mailto:a@example.com");
  auto b = Vapid::load_or_create(path, "mailto:a@example.com");
  EXPECT_EQ(a->public_key_b64url(), b->public_key_b64url());
  std::remove(path.c_str());
}

TEST(WebPushSubscription, ParsesTheBrowsersJsonAndRejectsDefects) {
  auto v = load_vector("webpush-rfc8291.json");
  std::string good = json::serialize(v.at("inputs").at("subscription_json_equivalent"));
  WebPushSubscription s = parse_subscription(good);
  EXPECT_EQ(s.p256dh.size(), 65u);
  EXPECT_EQ(s.auth.size(), 16u);
  // Padded standard base64 from some browsers is accepted too.
  std::string padded = R"({"endpoint":"https://push.example.net/x","keys":{"p256dh":")" +
                       base64_encode(s.p256dh) + R"(","auth":")" + base64_encode(s.auth) + "\"}}";
  EXPECT_EQ(parse_subscription(padded).p256dh, s.p256dh);
  for (
      const char* bad : {
          "[]",
          R"({"keys":{}})",
          R"({"endpoint":"http://push.example.net/x","keys":{"p256dh":"BCVx","auth":"BTBZ"}})",
          R"({"endpoint":"https://push.example.net/x"})",
          R"({"endpoint":"https://push.example.net/x","keys":{"p256dh":"!!","auth":"BTBZMqHH6r4Tts7J_aSIgg"}})",
          R"({"endpoint":"https://push.example.net/x","keys":{"p256dh":"BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4","auth":"BTBZ"}})",
      })
    EXPECT_THROW(parse_subscription(bad), Error) << bad;
}

TEST(WebPushSubscription, OnlyAllowedPushServices) {
  EXPECT_TRUE(push_host_allowed("https://fcm.googleapis.com/fcm/send/abc", kDefaultWebPushHosts));
  EXPECT_TRUE(push_host_allowed("https://updates.push.services.mozilla.com/wpush/v2/x",
                                kDefaultWebPushHosts));
  EXPECT_TRUE(push_host_allowed("https://web.push.apple.com/Q", kDefaultWebPushHosts));
  EXPECT_FALSE(push_host_allowed("https://evilfcm.googleapis.com.example/x", kDefaultWebPushHosts));
  EXPECT_FALSE(push_host_allowed("https://127.0.0.1:5432/x", kDefaultWebPushHosts));
  EXPECT_FALSE(push_host_allowed("http://fcm.googleapis.com/x", kDefaultWebPushHosts));
  EXPECT_FALSE(push_host_allowed("https://xpush.apple.com/x", kDefaultWebPushHosts));
  EXPECT_TRUE(push_host_allowed("https://127.0.0.1:5432/x", {"127.0.0.1"}));
}

}  // namespace
}  // namespace dialtone
