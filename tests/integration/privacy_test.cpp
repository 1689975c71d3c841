// SPDX-License-Identifier: Apache-2.0
// Who may see whom: the directory policy (open, contacts, none) over profiles, online state
// and busy, contacts made by calls and by both people adding each other, and photo URLs
// limited to the configured hosts (so no third party learns a callee's address).
#include <gtest/gtest.h>

#include <thread>

#include "auth/jwt.hpp"
#include "core/time.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

const std::string kSecret(40, 'p');

std::string token_with_picture(const std::string& user, const std::string& picture) {
  TrustedKey k;
  k.alg = JwtAlg::HS256;
  k.secret = kSecret;
  return sign_jwt(
      JwtAlg::HS256, k,
      json::object{
          {"sub", user}, {"name", user}, {"picture", picture}, {"exp", now_ms() / 1000 + 3600}});
}

std::vector<std::string> listed(int port, const std::string& token) {
  auto r = http(port, "GET", "/v1/users", "", token);
  EXPECT_EQ(r.status, 200);
  std::vector<std::string> ids;
  for (auto& u : r.body.at("users").as_array()) ids.emplace_back(u.at("userId").as_string());
  return ids;
}

// Every read that shows `target` to `viewer`: all 200, or all 404 (as for an unknown user).
bool sees(ServerProcess& server, const std::string& viewer, const std::string& target) {
  auto profile = http(server.port(), "GET", "/v1/users/" + target, "", viewer);
  auto busy = http(server.port(), "GET", "/v1/users/" + target + "/busy", "", viewer);
  EXPECT_EQ(profile.status, busy.status) << target;
  EXPECT_TRUE(profile.status == 200 || profile.status == 404) << profile.status;
  if (profile.status == 404) {
    EXPECT_EQ(profile.body.at("error").at("message"), "unknown user");
  }
  return profile.status == 200;
}

class Privacy : public ::testing::Test {
 protected:
  // With an identity provider, the directory is "contacts" unless configured.
  ServerProcess server{{"--jwt-hs256-secret", kSecret}};
  std::string ann = issuer_token(kSecret, "ann"), bob = issuer_token(kSecret, "bob"),
              eve = issuer_token(kSecret, "eve");
  void SetUp() override {
    for (auto* t : {&ann, &bob, &eve})  // each signs in once
      ASSERT_EQ(http(server.port(), "GET", "/v1/calls", "", *t).status, 200);
  }
};

TEST_F(Privacy, StrangersSeeNothingOfEachOtherUntilTheyHaveHadACall) {
  EXPECT_TRUE(sees(server, ann, "ann")) << "everyone sees themselves";
  EXPECT_FALSE(sees(server, eve, "bob"));
  EXPECT_FALSE(sees(server, ann, "bob"));
  EXPECT_TRUE(listed(server.port(), eve).empty());
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/nobody", "", eve).status, 404);

  // Ann calls Bob (he has never had a call with her): it still rings.
  WsClient a(server.port(), ann), b(server.port(), bob);
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b.wait_call(id, "calling");
  ASSERT_EQ(b.request(op("accept", id)).at("ok"), true);
  // Now they are each other's contacts: profile, online and busy; Eve still sees neither.
  EXPECT_TRUE(sees(server, ann, "bob"));
  EXPECT_TRUE(sees(server, bob, "ann"));
  bool online = false;  // on a cluster, presence reaches the other nodes within moments
  for (int i = 0; i < 100 && !online; ++i) {
    online = http(server.port(), "GET", "/v1/users/bob", "", ann).body.at("online").as_bool();
    if (!online) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(online);
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/bob/busy", "", ann).body.at("busy"), true);
  EXPECT_EQ(listed(server.port(), ann), std::vector<std::string>{"bob"});
  EXPECT_FALSE(sees(server, eve, "bob"));
  EXPECT_FALSE(sees(server, eve, "ann"));
  // Busy is not a secret to a caller: Eve's call attempt says so (and leaves a busy call in
  // both histories, as the contract says).
  auto attempt = http(server.port(), "POST", "/v1/calls", R"({"receiverId":"bob"})", eve);
  EXPECT_EQ(attempt.status, 409);
  EXPECT_EQ(attempt.body.at("error").at("code"), "busy");
  EXPECT_EQ(a.request(op("end", id)).at("ok"), true);
}

TEST_F(Privacy, AddingAContactTakesBothPeople) {
  auto add = [&](const std::string& who, const std::string& whom) {
    return http(server.port(), "POST", "/v1/contacts",
                json::serialize(json::object{{"userId", whom}}), who);
  };
  auto r = add(eve, "bob");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("mutual"), false);
  EXPECT_FALSE(sees(server, eve, "bob")) << "adding someone does not let you watch them";
  EXPECT_TRUE(listed(server.port(), eve).empty());
  r = add(bob, "eve");
  EXPECT_EQ(r.body.at("mutual"), true);
  EXPECT_TRUE(sees(server, eve, "bob"));
  EXPECT_TRUE(sees(server, bob, "eve"));
  EXPECT_EQ(listed(server.port(), eve), std::vector<std::string>{"bob"});
  // Either one taking it back ends it for both.
  EXPECT_EQ(http(server.port(), "DELETE", "/v1/contacts/eve", "", bob).status, 200);
  EXPECT_EQ(http(server.port(), "DELETE", "/v1/contacts/eve", "", bob).status, 404);
  EXPECT_FALSE(sees(server, eve, "bob"));
  EXPECT_FALSE(sees(server, bob, "eve"));
  // Bad input changes nothing.
  EXPECT_EQ(add(eve, "nobody").status, 404);
  EXPECT_EQ(add(eve, "eve").status, 400);
  EXPECT_EQ(http(server.port(), "POST", "/v1/contacts", "{oops", eve).status, 400);
  EXPECT_EQ(http(server.port(), "POST", "/v1/contacts", R"({"userId":"bad id!"})", eve).status,
            400);
  EXPECT_EQ(http(server.port(), "POST", "/v1/contacts", R"({"userId":"bob"})").status, 401);
}

TEST(PrivacyPolicies, NoneShowsNobodyOpenShowsEveryone) {
  ServerProcess none({"--jwt-hs256-secret", kSecret, "--directory", "none"});
  std::string ann = issuer_token(kSecret, "ann"), bob = issuer_token(kSecret, "bob");
  WsClient a(none.port(), ann), b(none.port(), bob);
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  EXPECT_EQ(b.request(op("reject", id)).at("ok"), true);
  EXPECT_FALSE(sees(none, ann, "bob")) << "not even after a call";
  EXPECT_TRUE(sees(none, ann, "ann"));
  EXPECT_TRUE(listed(none.port(), ann).empty());

  // Development mode: open, so that a demo shows who is online.
  ServerProcess dev;
  std::string carl = dev_token(dev.port(), "carl"), dora = dev_token(dev.port(), "dora");
  EXPECT_TRUE(sees(dev, carl, "dora"));
  EXPECT_EQ(listed(dev.port(), carl), (std::vector<std::string>{"carl", "dora"}));
}

TEST(PhotoHosts, PhotosOnlyFromTheConfiguredHosts) {
  ServerProcess server({"--jwt-hs256-secret", kSecret, "--directory", "open", "--photo-hosts",
                        "lh3.googleusercontent.com,*.cdn.example.org"});
  auto photo_of = [&](const std::string& user, const std::string& picture) {
    std::string t = token_with_picture(user, picture);
    return std::string(
        http(server.port(), "GET", "/v1/users/" + user, "", t).body.at("photo").as_string());
  };
  EXPECT_EQ(photo_of("u1", "https://lh3.googleusercontent.com/a/x=s96"),
            "https://lh3.googleusercontent.com/a/x=s96");
  EXPECT_EQ(photo_of("u2", "https://img.cdn.example.org/u2.png"),
            "https://img.cdn.example.org/u2.png");
  // Elsewhere: dropped (the person still signs in), so no client ever asks that host.
  EXPECT_EQ(photo_of("u3", "https://tracker.example/u3.png?callee=1"), "");
  EXPECT_EQ(photo_of("u4", "http://lh3.googleusercontent.com/a.png"), "");
  // The page may load images from those hosts only.
  auto page = http(server.port(), "GET", "/");
  std::string csp = page.header("Content-Security-Policy");
  EXPECT_NE(csp.find("img-src 'self' data: https://lh3.googleusercontent.com "
                     "https://*.cdn.example.org;"),
            std::string::npos)
      << csp;
  EXPECT_EQ(csp.find("https: "), std::string::npos) << csp;

  // Development mode: no photo hosts configured, so https photos are refused at sign-in;
  // http on this machine is allowed (a photo served next to the server).
  ServerProcess dev;
  auto sign_in = [&](const std::string& photo) {
    return http(dev.port(), "POST", "/v1/dev/token",
                json::serialize(json::object{{"userId", "ann"}, {"photo", photo}}))
        .status;
  };
  EXPECT_EQ(sign_in("https://tracker.example/a.png"), 400);
  EXPECT_EQ(sign_in("http://127.0.0.1:9/a.png"), 200);
}

}  // namespace
}  // namespace dialtone::test
