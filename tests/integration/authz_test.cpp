// SPDX-License-Identifier: Apache-2.0
// The authorization matrix: every endpoint and op × every kind of caller — no token, an expired
// one, a wrong signature, a wrong issuer, a wrong audience, another user, the call's caller, its
// receiver, and the receiver's other device. Every cell is checked, and every refused cell is
// checked to have changed nothing.
#include <gtest/gtest.h>

#include <map>

#include "auth/jwt.hpp"
#include "core/time.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

const std::string kSecret(40, 'z');
const std::string kIssuer = "https://auth.example", kAudience = "dialtone-app";

enum class Who {
  none,
  expired,
  bad_signature,
  wrong_issuer,
  wrong_audience,
  eve,
  caller,
  receiver,
  other_device
};
const Who kEveryone[] = {Who::none,         Who::expired,        Who::bad_signature,
                         Who::wrong_issuer, Who::wrong_audience, Who::eve,
                         Who::caller,       Who::receiver,       Who::other_device};
const char* name(Who w) {
  static const char* n[] = {"no token",     "expired",        "wrong signature",
                            "wrong issuer", "wrong audience", "eve",
                            "caller",       "receiver",       "other device"};
  return n[static_cast<int>(w)];
}
bool unauthenticated(Who w) {
  return w <= Who::wrong_audience;
}

std::string token_for(Who w) {
  TrustedKey k{JwtAlg::HS256, "", kSecret, nullptr};
  std::string sub = w == Who::eve ? "eve" : w == Who::caller ? "alice" : "bob";
  json::object c{{"iss", kIssuer},
                 {"aud", kAudience},
                 {"sub", sub},
                 {"name", sub},
                 {"exp", now_ms() / 1000 + 600}};
  switch (w) {
    case Who::none:
      return "";
    case Who::expired:
      c["exp"] = now_ms() / 1000 - 3600;
      break;
    case Who::bad_signature:
      k.secret = std::string(40, 'x');
      break;
    case Who::wrong_issuer:
      c["iss"] = "https://evil.example";
      break;
    case Who::wrong_audience:
      c["aud"] = "another-app";
      break;
    default:
      break;
  }
  return sign_jwt(JwtAlg::HS256, k, c);
}
std::string device_for(Who w) {
  return w == Who::other_device ? "bob-tablet" : w == Who::receiver ? "bob-phone" : "d1";
}

class Authz : public ::testing::Test {
 protected:
  Authz()
      : server({"--jwt-hs256-secret", kSecret, "--jwt-issuer", kIssuer, "--jwt-audience", kAudience,
                "--zego-app-id", "1234567890", "--zego-server-secret",
                "fa94dd0f974cf2e293728a526b028271"}) {
    for (Who w : {Who::eve, Who::caller, Who::receiver})  // every user signs in once
      EXPECT_EQ(call(w, "GET", "/v1/users").status, 200);
  }
  HttpResult call(Who w, const std::string& method, const std::string& target,
                  const std::string& body = "") {
    return http(server.port(), method, target, body, token_for(w),
                {{"X-Device-Id", device_for(w)}});
  }
  // A fresh call alice → bob, in `state` (accepted: on bob's phone).
  std::string fresh_call(const std::string& state) {
    // Each cell's call ends before the next one (a caller has one active call at a time).
    for (auto& id : open_) call(Who::caller, "POST", "/v1/calls/" + id + "/end");
    open_.clear();
    auto r = call(Who::caller, "POST", "/v1/calls", R"({"receiverId":"bob"})");
    EXPECT_EQ(r.status, 201) << r.raw;
    std::string id(r.body.at("callId").as_string());
    open_.push_back(id);
    if (state == "accepted")
      EXPECT_EQ(call(Who::receiver, "POST", "/v1/calls/" + id + "/accept").status, 200);
    return id;
  }
  json::value version(const std::string& id) {
    return call(Who::caller, "GET", "/v1/calls/" + id).body.at("version");
  }
  ServerProcess server;
  std::vector<std::string> open_;
};

TEST_F(Authz, EveryCallOpOverHttp) {
  struct Row {
    std::string op, state;
    std::map<Who, int> expect;  // the authenticated identities
  };
  const std::map<Who, int> participants{
      {Who::eve, 404}, {Who::caller, 200}, {Who::receiver, 200}, {Who::other_device, 200}};
  const std::map<Who, int> receiverOnly{
      {Who::eve, 404}, {Who::caller, 403}, {Who::receiver, 200}, {Who::other_device, 200}};
  std::vector<Row> rows = {
      {"GET", "calling", participants},         {"ringing", "calling", receiverOnly},
      {"accept", "calling", receiverOnly},      {"reject", "calling", receiverOnly},
      {"ready", "accepted", participants},      {"mute", "accepted", participants},
      {"fail", "accepted", participants},       {"end", "accepted", participants},
      {"zego-token", "accepted", participants},
  };
  for (const auto& row : rows) {
    for (Who w : kEveryone) {
      SCOPED_TRACE(row.op + " by " + name(w));
      std::string id = fresh_call(row.state);
      json::value before = version(id);
      HttpResult r;
      if (row.op == "GET")
        r = call(w, "GET", "/v1/calls/" + id);
      else if (row.op == "zego-token")
        r = call(w, "POST", "/v1/zego-token", json::serialize(json::object{{"callId", id}}));
      else
        r = call(w, "POST", "/v1/calls/" + id + "/" + row.op,
                 row.op == "mute"   ? R"({"muted":true})"
                 : row.op == "fail" ? R"({"reason":"media_failed"})"
                                    : "");
      int want = unauthenticated(w) ? 401 : row.expect.at(w);
      EXPECT_EQ(r.status, want) << r.raw;
      if (want == 401) EXPECT_EQ(r.header("WWW-Authenticate"), "Bearer");
      if (want == 404)
        EXPECT_EQ(r.raw.find(id), std::string::npos) << "a non-participant learns nothing";
      if (want != 200) EXPECT_EQ(version(id), before) << "a refused request changes nothing";
    }
  }
}

TEST_F(Authz, EveryCallOpOverTheWebSocket) {
  // The same ops over the WebSocket, plus signal (WebSocket only). Sessions need a valid token:
  // the unauthenticated identities are refused at the upgrade.
  for (Who w : kEveryone) {
    if (!unauthenticated(w)) continue;
    std::string target =
        "/v1/ws" + (w == Who::none ? std::string() : "?access_token=" + token_for(w));
    std::string answer = raw_http(
        server.port(),
        "GET " + target +
            " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n");
    EXPECT_NE(answer.find("401 Unauthorized"), std::string::npos) << name(w) << ": " << answer;
  }
  WsClient eve(server.port(), token_for(Who::eve), "d1"),
      alice(server.port(), token_for(Who::caller), "d1");
  WsClient phone(server.port(), token_for(Who::receiver), "bob-phone"),
      tablet(server.port(), token_for(Who::receiver), "bob-tablet");
  std::map<Who, WsClient*> ws{{Who::eve, &eve},
                              {Who::caller, &alice},
                              {Who::receiver, &phone},
                              {Who::other_device, &tablet}};
  const std::map<Who, std::string> participants{
      {Who::eve, "not_found"}, {Who::caller, ""}, {Who::receiver, ""}, {Who::other_device, ""}};
  const std::map<Who, std::string> receiverOnly{{Who::eve, "not_found"},
                                                {Who::caller, "forbidden"},
                                                {Who::receiver, ""},
                                                {Who::other_device, ""}};
  struct Row {
    std::string op, state;
    std::map<Who, std::string> expect;  // "" = ok
    json::object extra;
  };
  std::vector<Row> rows = {
      {"ringing", "calling", receiverOnly, {}},
      {"accept", "calling", receiverOnly, {}},
      {"reject", "calling", receiverOnly, {}},
      {"ready", "accepted", participants, {}},
      {"mute", "accepted", participants, {{"muted", true}}},
      {"fail", "accepted", participants, {{"reason", "x"}}},
      {"end", "accepted", participants, {}},
      {"signal",
       "accepted",
       participants,
       {{"data", json::object{{"type", "candidate"}, {"candidate", ""}}}}},
  };
  for (const auto& row : rows) {
    for (auto& [w, client] : ws) {
      SCOPED_TRACE(row.op + " by " + name(w));
      std::string id = fresh_call(row.state);
      json::value before = version(id);
      auto r = client->request(op(row.op, id, row.extra));
      std::string got = r.at("ok") == true ? "" : std::string(r.at("error").at("code").as_string());
      EXPECT_EQ(got, row.expect.at(w)) << json::serialize(r);
      if (!got.empty()) EXPECT_EQ(version(id), before);
      if (got == "not_found")
        EXPECT_FALSE(r.contains("call")) << "a non-participant learns nothing";
    }
  }
  // Nobody but the participants ever saw a snapshot of these calls.
  for (auto& m : eve.snapshot()) EXPECT_NE(m.at("type"), "call") << json::serialize(m);
}

TEST_F(Authz, ReadsAndAccountEndpoints) {
  std::string id = fresh_call("calling");
  for (Who w : kEveryone) {
    SCOPED_TRACE(name(w));
    if (unauthenticated(w)) {
      for (auto [method, target] :
           std::vector<std::pair<std::string, std::string>>{{"GET", "/v1/calls"},
                                                            {"POST", "/v1/calls"},
                                                            {"GET", "/v1/users"},
                                                            {"GET", "/v1/users/bob"},
                                                            {"GET", "/v1/users/bob/busy"},
                                                            {"GET", "/v1/turn-credentials"},
                                                            {"GET", "/v1/devices"},
                                                            {"POST", "/v1/devices"},
                                                            {"DELETE", "/v1/devices/d1"},
                                                            {"POST", "/v1/zego-token"}})
        EXPECT_EQ(call(w, method, target, method == "POST" ? R"({"receiverId":"eve"})" : "").status,
                  401)
            << method << " " << target;
      continue;
    }
    // History: one's own calls only.
    auto hist = call(w, "GET", "/v1/calls");
    ASSERT_EQ(hist.status, 200);
    bool mine = false;
    for (auto& c : hist.body.at("calls").as_array()) mine |= c.at("callId") == id.c_str();
    EXPECT_EQ(mine, w != Who::eve);
    // Profiles and busy state: with an identity provider the directory is "contacts", so the
    // two participants see each other (they share a call) and Eve sees neither — she gets what
    // an unknown user gets (docs/security.md, "Privacy").
    if (w == Who::eve) {
      EXPECT_EQ(call(w, "GET", "/v1/users/bob/busy").status, 404);
      EXPECT_EQ(call(w, "GET", "/v1/users/alice").status, 404);
    } else {
      EXPECT_EQ(call(w, "GET", "/v1/users/bob/busy").body.at("busy"), true);
      auto profile = call(w, "GET", "/v1/users/alice");
      EXPECT_EQ(profile.status, 200);
      EXPECT_EQ(profile.body.as_object().size(), 5u)
          << "userId, name, photo, online, status: nothing else";
      // status says no more than `busy` tells the same viewer.
      EXPECT_EQ(profile.body.at("status"), "in_call");
    }
    EXPECT_EQ(call(w, "GET", "/v1/users/nobody").status, 404);
    // TURN credentials are minted for the caller's own user id.
    auto turn = call(w, "GET", "/v1/turn-credentials");
    EXPECT_EQ(turn.status, 200);
  }
  // Devices: each user registers, lists and deletes their own only.
  std::string sub =
      R"({"deviceId":"eve-phone","platform":"webpush","subscription":{)"
      R"("endpoint":"https://fcm.googleapis.com/fcm/send/x","keys":{"p256dh":)"
      R"("BNcRdreALRFXTkOOUHK1EtK2wtaz5Ry4YfYCA_0QTpQtUbVlUls0VJXg7A8u-Ts1XbjhazAkj7I99e8QcYP7DkM",)"
      R"("auth":"tBHItJI5svbpez7KI4CCXg"}}})";
  EXPECT_EQ(call(Who::eve, "POST", "/v1/devices", sub).status, 200);
  EXPECT_EQ(call(Who::caller, "DELETE", "/v1/devices/eve-phone").status, 404);
  EXPECT_EQ(call(Who::caller, "GET", "/v1/devices").body.at("devices").as_array().size(), 0u);
  EXPECT_EQ(call(Who::eve, "GET", "/v1/devices").body.at("devices").as_array().size(), 1u);
  EXPECT_EQ(call(Who::eve, "DELETE", "/v1/devices/eve-phone").status, 200);
  // Development tokens do not exist with an identity provider; the probes are open.
  EXPECT_EQ(http(server.port(), "POST", "/v1/dev/token", R"({"userId":"x"})").status, 404);
  for (auto target : {"/healthz", "/readyz", "/v1/info", "/"})
    EXPECT_EQ(http(server.port(), "GET", target).status, 200) << target;
}

}  // namespace
}  // namespace dialtone::test
