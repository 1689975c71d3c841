// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "push/apns.hpp"
#include "push/vectors.hpp"

namespace dialtone {
namespace {

namespace json = boost::json;
using test::es256_ok;
using test::load_vector;
using test::str;

ApnsOptions vector_options() {
  auto v = load_vector("apns-jwt.json");
  ApnsOptions o;
  o.key = private_key_from_pem(str(v, "p8_private_key_pem"));
  o.keyId = str(v, "key_id");
  o.teamId = str(v, "team_id");
  o.bundleId = "com.example.callapp";
  return o;
}

TEST(ApnsAuth, ProviderTokenHasTheVectorsSigningInputAndVerifies) {
  auto v = load_vector("apns-jwt.json");
  ApnsOptions o = vector_options();
  ASSERT_TRUE(o.key);
  std::string jwt = apns_provider_token(o.key.get(), o.keyId, o.teamId, v.at("iat").as_int64());
  EXPECT_EQ(jwt.substr(0, jwt.rfind('.')), str(v, "signing_input"));
  PKey pub = public_key_from_pem(str(v, "public_key_pem"));
  EXPECT_TRUE(es256_ok(jwt, pub.get()));  // raw r||s, not DER
  EXPECT_EQ(base64url_decode(jwt.substr(jwt.rfind('.') + 1))->size(), 64u);
  EXPECT_TRUE(es256_ok(str(v, "jwt_rfc6979"), pub.get()));
  EXPECT_TRUE(es256_ok(str(v, "jwt_random_k"), pub.get()));
  // The vector's DER form and raw form are the same signature.
  EXPECT_EQ(base64url_encode(ecdsa_der_to_raw(*hex_decode(str(v, "signature_der_hex_rfc6979")))),
            str(v, "signature_raw_rs_b64url_rfc6979"));
  std::string flipped = str(v, "jwt_rfc6979");
  flipped.back() = flipped.back() == 'q' ? 'r' : 'q';
  EXPECT_FALSE(es256_ok(flipped, pub.get()));
}

TEST(ApnsRequest, IncomingCallIsAVoipPushToTheVoipTopic) {
  auto v = load_vector("apns-jwt.json");
  auto p = make_apns_provider(vector_options());
  PushDevice d{"bob", "phone", Platform::apns, "aabbcc", "", "", 0};
  Notice n;
  n.kind = NoticeKind::incoming_call;
  n.callId = "abc123";
  n.callerName = "Alice";
  n.expiresAt = 1757592045000;
  std::string token;
  auto req = p->request(d, n, 1757592000000, token);
  ASSERT_TRUE(req);
  EXPECT_EQ(token, "aabbcc");
  EXPECT_EQ(req->url, "https://api.push.apple.com/3/device/aabbcc");
  auto header = [&](const std::string& k) {
    for (auto& [hk, hv] : req->headers)
      if (hk == k) return hv;
    return std::string("<missing>");
  };
  const auto& want = v.at("voip_request_example").at("headers").as_object();
  for (const char* k : {"apns-push-type", "apns-topic", "apns-priority", "apns-expiration"})
    EXPECT_EQ(header(k), std::string(want.at(k).as_string())) << k;
  EXPECT_EQ(header("authorization").rfind("bearer ey", 0), 0u);
  EXPECT_EQ(header("apns-id").size(), 36u);
  json::value body = json::parse(req->body);
  EXPECT_EQ(body.at("type"), "incoming_call");
  EXPECT_EQ(body.at("callId"), "abc123");
  EXPECT_TRUE(body.at("aps").as_object().empty());
  // The provider token is reused, not minted per request.
  auto again = p->request(d, n, 1757592001000, token);
  EXPECT_EQ(again->headers[0], req->headers[0]);
}

TEST(ApnsAuth, ProviderTokenIsRenewedWithinApplesWindow) {
  auto p = make_apns_provider(vector_options());
  PushDevice d{"bob", "phone", Platform::apns, "aabbcc", "", "", 0};
  Notice n;
  n.callId = "c";
  n.expiresAt = 4000000000000;
  auto auth_at = [&](TimeMs t) {
    std::string token;
    return p->request(d, n, t, token)->headers[0].second;
  };
  TimeMs t0 = 1700000000000;
  std::string first = auth_at(t0);
  EXPECT_EQ(auth_at(t0 + 39 * 60'000), first) << "not more often than every 20 minutes";
  std::string renewed = auth_at(t0 + 41 * 60'000);
  EXPECT_NE(renewed, first) << "well before Apple's one-hour limit";
  p->invalidate_auth();  // APNs said ExpiredProviderToken
  EXPECT_NE(auth_at(t0 + 42 * 60'000), renewed);
}

TEST(ApnsRequest, NonCallPushesAreNeverVoip) {
  auto p = make_apns_provider(vector_options());
  PushDevice d{"bob", "phone", Platform::apns, "aabbcc", "", "sandbox", 0};
  Notice n;
  n.kind = NoticeKind::call_cancelled;
  n.callId = "abc123";
  n.reason = "answered_elsewhere";
  n.expiresAt = 2000000000000;
  std::string token;
  EXPECT_FALSE(p->request(d, n, 0, token)) << "no regular token: nothing to send";
  d.alertToken = "ddeeff";
  auto req = p->request(d, n, 0, token);
  ASSERT_TRUE(req);
  EXPECT_EQ(token, "ddeeff");
  EXPECT_EQ(req->url, "https://api.sandbox.push.apple.com/3/device/ddeeff");
  for (auto& [k, v] : req->headers) {
    if (k == "apns-push-type") EXPECT_EQ(v, "background");
    if (k == "apns-topic") EXPECT_EQ(v, "com.example.callapp");
    if (k == "apns-priority") EXPECT_EQ(v, "5");
  }
  n.kind = NoticeKind::missed_call;
  req = p->request(d, n, 0, token);
  for (auto& [k, v] : req->headers)
    if (k == "apns-push-type") EXPECT_EQ(v, "alert");
}

TEST(ApnsErrors, EachDocumentedReasonGetsItsAction) {
  auto v = load_vector("apns-jwt.json");
  auto p = make_apns_provider(vector_options());
  for (const auto& ex : v.at("responses").as_array()) {
    HttpReply r;
    r.status = ex.at("status").as_int64();
    if (!ex.at("body").is_null()) r.body = json::serialize(ex.at("body"));
    std::string action(ex.at("action").as_string());
    Verdict got = p->classify(r);
    Verdict::Kind want = Verdict::Kind::failed;
    auto says = [&](const char* s) { return action.find(s) != std::string::npos; };
    if (action == "done") {
      want = Verdict::Kind::delivered;
    } else if (says("delete token") || says("stop using") || says("fix bookkeeping")) {
      want = Verdict::Kind::dead_token;  // the registration can never work again
    } else if (says("do not retry")) {
      want = Verdict::Kind::failed;
    } else if (says("retry once")) {
      want = Verdict::Kind::reauth;
    } else if (says("retry")) {
      want = Verdict::Kind::retry;
    }
    EXPECT_EQ(static_cast<int>(got.kind), static_cast<int>(want)) << r.status << " " << r.body;
  }
}

}  // namespace
}  // namespace dialtone
