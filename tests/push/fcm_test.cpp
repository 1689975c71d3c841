// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "push/fcm.hpp"
#include "push/vectors.hpp"

namespace dialtone {
namespace {

namespace json = boost::json;
using test::load_vector;
using test::str;

ServiceAccount vector_account() {
  auto v = load_vector("fcm-oauth-jwt.json");
  return parse_service_account(json::serialize(v.at("service_account_json")));
}

Notice incoming() {
  Notice n;
  n.kind = NoticeKind::incoming_call;
  n.callId = "abc123";
  n.callerId = "uid_caller";
  n.callerName = "Alice";
  n.callerPhoto = "https://example.com/alice.png";
  n.timestamp = *parse_iso("2025-09-11T12:00:00Z");
  n.ringDeadline = n.timestamp + 45000;
  n.expiresAt = n.ringDeadline;
  return n;
}

TEST(FcmAuth, AssertionReproducesTheVectorByteForByte) {
  auto v = load_vector("fcm-oauth-jwt.json");
  std::string jwt = fcm_assertion(vector_account(), v.at("now").as_int64());
  EXPECT_EQ(jwt, str(v, "assertion_jwt"));  // RSASSA-PKCS1-v1_5 is deterministic
}

TEST(FcmAuth, TokenRequestIsTheJwtBearerGrant) {
  auto v = load_vector("fcm-oauth-jwt.json");
  FcmOptions o;
  o.account = vector_account();
  auto p = make_fcm_provider(o);
  EXPECT_FALSE(p->auth_ready(0));
  auto req = p->auth_request(v.at("now").as_int64() * 1000);
  ASSERT_TRUE(req);
  EXPECT_EQ(req->url, str(v.at("token_request"), "url"));
  EXPECT_EQ(req->body, str(v.at("token_request"), "body"));
  // A good answer makes it ready until five minutes before expiry.
  HttpReply ok{200, "", {}, R"({"access_token":"ya29.x","expires_in":3599,"token_type":"Bearer"})"};
  std::string err;
  ASSERT_TRUE(p->auth_result(ok, 1000, err));
  EXPECT_TRUE(p->auth_ready(1000 + 3599000 - 300001));
  EXPECT_FALSE(p->auth_ready(1000 + 3599000 - 299999));
  HttpReply bad{400, "", {}, R"({"error":"invalid_grant"})"};
  EXPECT_FALSE(p->auth_result(bad, 1000, err));
  EXPECT_NE(err.find("invalid_grant"), std::string::npos);
  // Whatever else comes back is refused, never thrown (found by fuzz_push).
  for (const char* body :
       {"2222", "[1]", "null", "{\"access_token\":7}", "",
        R"({"access_token":"x","expires_in":1e300})", R"({"access_token":"x","expires_in":-5})"})
    for (long status : {200L, 500L})
      EXPECT_FALSE(p->auth_result({status, "", {}, body}, 1000, err));
  p->invalidate_auth();
  EXPECT_FALSE(p->auth_ready(2000));
}

TEST(FcmMessage, IsDataOnlyHighPriorityWithTheRingAsTtl) {
  auto v = load_vector("fcm-messages.json");
  Notice n = incoming();
  json::value got = json::parse(fcm_message("tok", n, n.timestamp));
  json::value want = v.at("incoming_call_android_data_only");
  const auto& m = got.at("message");
  EXPECT_EQ(m.at("token"), "tok");
  EXPECT_FALSE(m.as_object().contains("notification"));
  for (const auto& [k, val] : want.at("message").at("data").as_object()) {
    if (k == "timestamp")  // ours carries milliseconds, as every time in protocol v1
      EXPECT_EQ(parse_iso(m.at("data").at(k).as_string()), parse_iso(val.as_string()));
    else
      EXPECT_EQ(m.at("data").at(k), val) << k;  // the seed's keys, all strings
  }
  for (const auto& [k, val] : m.at("data").as_object()) EXPECT_TRUE(val.is_string()) << k;
  EXPECT_EQ(m.at("android").at("priority"), "high");
  EXPECT_EQ(m.at("android").at("ttl"), "45s");
  // Ten seconds later only 35 s of ringing are left.
  json::value later = json::parse(fcm_message("tok", n, n.timestamp + 10000));
  EXPECT_EQ(later.at("message").at("android").at("ttl"), "35s");

  Notice stop = n;
  stop.kind = NoticeKind::call_cancelled;
  stop.reason = "answered_elsewhere";
  stop.expiresAt = n.timestamp + 60000;
  json::value s = json::parse(fcm_message("tok", stop, n.timestamp));
  EXPECT_EQ(s.at("message").at("android").at("priority"), "normal");
  EXPECT_EQ(s.at("message").at("data").at("type"), "call_cancelled");
  EXPECT_EQ(s.at("message").at("data").at("reason"), "answered_elsewhere");
}

TEST(FcmErrors, EachDocumentedErrorGetsItsAction) {
  auto v = load_vector("fcm-messages.json");
  FcmOptions o;
  o.account = vector_account();
  auto p = make_fcm_provider(o);
  for (const auto& ex : v.at("error_examples").as_array()) {
    HttpReply r;
    r.status = ex.at("status").as_int64();
    r.body = json::serialize(ex.at("body"));
    Verdict got = p->classify(r);
    std::string action(ex.at("action").as_string());
    bool retry = ex.at("retry").as_bool();
    if (action.rfind("delete_token", 0) == 0)
      EXPECT_EQ(got.kind, Verdict::Kind::dead_token) << r.body;
    else if (action.find("OAuth token once") != std::string::npos)
      EXPECT_EQ(got.kind, Verdict::Kind::reauth) << r.body;
    else if (retry)
      EXPECT_EQ(got.kind, Verdict::Kind::retry) << r.body;
    else
      EXPECT_EQ(got.kind, Verdict::Kind::failed) << r.body;
  }
  EXPECT_EQ(p->classify(HttpReply{200, "", {}, "{}"}).kind, Verdict::Kind::delivered);
  EXPECT_EQ(p->classify(HttpReply{401, "", {}, "{}"}).kind, Verdict::Kind::reauth);
  EXPECT_EQ(p->classify(HttpReply{0, "timeout", {}, ""}).kind, Verdict::Kind::retry);
}

TEST(FcmAuth, RejectsABrokenServiceAccount) {
  EXPECT_THROW(parse_service_account("{"), std::runtime_error);
  EXPECT_THROW(parse_service_account(R"({"client_email":"a@b"})"), std::runtime_error);
  EXPECT_THROW(parse_service_account(R"({"private_key":"x"})"), std::runtime_error);
}

TEST(RetryAfter, SecondsOrAnHttpDate) {
  EXPECT_EQ(parse_retry_after("2", 0), 2000);
  EXPECT_EQ(parse_retry_after(" 60 ", 0), 60000);
  TimeMs now = *parse_iso("2015-10-21T07:28:00Z");
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), 30000);
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now), 0);
  EXPECT_FALSE(parse_retry_after("soon", 0));
  EXPECT_FALSE(parse_retry_after("", 0));
  EXPECT_FALSE(parse_retry_after("99999999999999", 0));
}

}  // namespace
}  // namespace dialtone
