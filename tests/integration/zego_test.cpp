// SPDX-License-Identifier: Apache-2.0
// POST /v1/zego-token against a real dialtoned: only the call's participants, only while the
// call is accepted and lasts, a token ZEGO's server can open with the secret, for the call's room.
#include <gtest/gtest.h>

#include "server/zego_token.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

const std::string kSecret = "fa94dd0f974cf2e293728a526b028271";

HttpResult zego(int port, const std::string& token, const std::string& callId) {
  return http(port, "POST", "/v1/zego-token", json::serialize(json::object{{"callId", callId}}),
              token);
}

void expect_token_for(const HttpResult& r, const std::string& user, const std::string& room,
                      ZegoMode mode) {
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.body.at("appId"), 1234567890);
  std::string token(r.body.at("token").as_string());
  auto opened = zego_token04_open(token, kSecret);
  ASSERT_TRUE(opened) << token;
  EXPECT_EQ(opened->mode, mode);
  json::value doc = json::parse(opened->plaintext);
  EXPECT_EQ(doc.at("app_id"), 1234567890);
  EXPECT_EQ(doc.at("user_id"), user.c_str());
  json::value payload = json::parse(doc.at("payload").as_string());
  EXPECT_EQ(payload.at("room_id"), room.c_str());
  EXPECT_EQ(payload.at("privilege").at("1"), 1);
  EXPECT_EQ(payload.at("privilege").at("2"), 1);
  auto expires = parse_iso_for_test(std::string(r.body.at("expiresAt").as_string()));
  ASSERT_TRUE(expires);
  EXPECT_EQ(std::chrono::duration_cast<std::chrono::seconds>(expires->time_since_epoch()).count(),
            doc.at("expire").as_int64());
  EXPECT_EQ(doc.at("expire").as_int64() - doc.at("ctime").as_int64(), 600);
  EXPECT_EQ(r.raw.find(kSecret), std::string::npos);
}

TEST(ZegoTokens, OnlyParticipantsOfAnAcceptedCall) {
  setenv("DIALTONED_ZEGO_SERVER_SECRET", kSecret.c_str(), 1);  // the child inherits it
  ServerProcess server({"--zego-app-id", "1234567890", "--zego-token-ttl-s", "600"});
  unsetenv("DIALTONED_ZEGO_SERVER_SECRET");
  int port = server.port();
  std::string alice = dev_token(port, "alice"), bob = dev_token(port, "bob"),
              eve = dev_token(port, "eve");
  WsClient a(port, alice), b(port, bob);
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));

  auto early = zego(port, alice, id);
  EXPECT_EQ(early.status, 409) << "no token before the call is accepted";
  EXPECT_EQ(early.body.at("error").at("code"), "invalid_transition");
  b.request(op("accept", id));
  expect_token_for(zego(port, alice, id), "alice", id, ZegoMode::gcm);
  expect_token_for(zego(port, bob, id), "bob", id, ZegoMode::gcm);

  EXPECT_EQ(zego(port, eve, id).status, 404) << "not a participant";
  EXPECT_EQ(zego(port, "", id).status, 401);
  EXPECT_EQ(zego(port, alice, "no-such-call").status, 404);
  EXPECT_EQ(http(port, "POST", "/v1/zego-token", "{", alice).status, 400);
  EXPECT_EQ(http(port, "POST", "/v1/zego-token", R"({"callId":7})", alice).status, 400);

  a.request(op("end", id));
  EXPECT_EQ(zego(port, bob, id).status, 409) << "the call is over";
  EXPECT_EQ(server.log().find(kSecret), std::string::npos);
}

TEST(ZegoTokens, LegacyCbcFormBehindTheSwitch) {
  setenv("DIALTONED_ZEGO_SERVER_SECRET", kSecret.c_str(), 1);
  ServerProcess server(
      {"--zego-app-id", "1234567890", "--zego-token-mode", "cbc", "--zego-token-ttl-s", "600"});
  unsetenv("DIALTONED_ZEGO_SERVER_SECRET");
  int port = server.port();
  std::string alice = dev_token(port, "alice"), bob = dev_token(port, "bob");
  WsClient a(port, alice), b(port, bob);
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b.request(op("accept", id));
  expect_token_for(zego(port, bob, id), "bob", id, ZegoMode::cbc);
}

TEST(ZegoTokens, NotConfiguredSaysSo) {
  ServerProcess server;
  std::string alice = dev_token(server.port(), "alice");
  auto r = zego(server.port(), alice, "x");
  EXPECT_EQ(r.status, 404);
  EXPECT_NE(std::string(r.body.at("error").at("message").as_string()).find("not configured"),
            std::string::npos);
}

}  // namespace
}  // namespace dialtone::test
