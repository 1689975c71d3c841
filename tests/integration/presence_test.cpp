// SPDX-License-Identifier: Apache-2.0
// Presence pushed to those who watch (the `watch` op): online, in a call, offline, as it
// changes — here and (the cluster. variant) across nodes — and only of whom the directory
// policy shows. Runs on SQLite, on PostgreSQL and on three nodes.
#include <gtest/gtest.h>

#include <algorithm>

#include "support/harness.hpp"

namespace dialtone::test {
namespace {

const std::string kSecret(40, 'p');

// What one watching session was told, in order: (user, status) from every presence message.
class Told {
 public:
  explicit Told(WsClient& c) : c_(c) {}
  // Waits until the last status told of `user` is `want`.
  bool becomes(const std::string& user, const std::string& want,
               std::chrono::milliseconds timeout = 5s) {
    auto until = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      take(50ms);
      if (last(user) == want) return true;
      if (std::chrono::steady_clock::now() > until) return false;
    }
  }
  // How many times `user`'s status was told, after waiting `wait` for more.
  std::size_t times(const std::string& user, std::chrono::milliseconds wait = 0ms) {
    take(wait);
    return static_cast<std::size_t>(
        std::count_if(told_.begin(), told_.end(), [&](auto& t) { return t.first == user; }));
  }
  std::string last(const std::string& user) const {
    for (auto it = told_.rbegin(); it != told_.rend(); ++it)
      if (it->first == user) return it->second;
    return "";
  }

 private:
  void take(std::chrono::milliseconds wait) {
    auto until = std::chrono::steady_clock::now() + wait;
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      auto m = c_.next([](const json::object& o) { return o.at("type") == "presence"; },
                       std::max(left, 0ms));
      if (!m) return;
      for (const auto& u : m->at("users").as_array())
        told_.emplace_back(std::string(u.at("userId").as_string()),
                           std::string(u.at("status").as_string()));
    }
  }
  WsClient& c_;
  std::vector<std::pair<std::string, std::string>> told_;
};

json::object watch(WsClient& c, json::array ids) {
  return c.request({{"op", "watch"}, {"userIds", std::move(ids)}});
}

class Presence : public ::testing::Test {
 protected:
  ServerProcess server{{"--jwt-hs256-secret", kSecret, "--directory", "open"}};
  std::string token(const std::string& user) { return issuer_token(kSecret, user); }
};

TEST_F(Presence, WatchersSeeOnlineInACallAndOfflineAsTheyChange) {
  auto alice = std::make_unique<WsClient>(server.port(), token("alice"), "a-phone");
  auto bob = std::make_unique<WsClient>(server.port(), token("bob"), "b-phone");
  WsClient carol(server.port(), token("carol"), "c-phone");
  Told told(carol);

  auto r = watch(carol, {"alice", "bob", "zed"});  // zed never signed in
  ASSERT_EQ(r.at("ok"), true);
  EXPECT_EQ(r.at("userIds"), (json::array{"alice", "bob"}));
  // (On three nodes a session that opened on another node a moment ago may first be told
  // offline, then online.)
  EXPECT_TRUE(told.becomes("alice", "online"));
  EXPECT_TRUE(told.becomes("bob", "online"));

  // alice calls bob: both are in a call (a call to either now would be busy) while it rings.
  std::string id = call_id(alice->request({{"op", "create"}, {"receiverId", "bob"}}));
  EXPECT_TRUE(told.becomes("alice", "in_call"));
  EXPECT_TRUE(told.becomes("bob", "in_call"));
  std::size_t before = told.times("alice");
  ASSERT_EQ(bob->request(op("accept", id)).at("ok"), true);
  EXPECT_EQ(told.times("alice", 300ms), before) << "still in a call: nothing to tell";
  ASSERT_EQ(alice->request(op("end", id)).at("ok"), true);
  EXPECT_TRUE(told.becomes("alice", "online"));
  EXPECT_TRUE(told.becomes("bob", "online"));

  bob->close();
  bob.reset();
  EXPECT_TRUE(told.becomes("bob", "offline"));
  // GET /v1/users says the same.
  auto users = http(server.port(), "GET", "/v1/users", "", token("carol"));
  ASSERT_EQ(users.status, 200);
  for (const auto& u : users.body.at("users").as_array()) {
    if (u.at("userId") == "bob") EXPECT_EQ(u.at("status"), "offline");
    if (u.at("userId") == "alice") EXPECT_EQ(u.at("status"), "online");
  }
}

TEST_F(Presence, AnotherDeviceKeepsAUserOnlineAndANewWatchReplacesTheOld) {
  WsClient phone(server.port(), token("alice"), "a-phone");
  auto laptop = std::make_unique<WsClient>(server.port(), token("alice"), "a-laptop");
  auto bob = std::make_unique<WsClient>(server.port(), token("bob"), "b-phone");
  WsClient carol(server.port(), token("carol"), "c-phone");
  Told told(carol);
  ASSERT_EQ(watch(carol, {"alice"}).at("ok"), true);
  EXPECT_TRUE(told.becomes("alice", "online"));
  laptop->close();
  laptop.reset();
  EXPECT_EQ(told.last("alice"), "online");
  told.times("alice", 500ms);
  EXPECT_EQ(told.last("alice"), "online") << "her phone is still online";

  // Watching bob instead: nothing more of alice.
  ASSERT_EQ(watch(carol, {"bob"}).at("ok"), true);
  EXPECT_TRUE(told.becomes("bob", "online"));
  std::size_t aliceTold = told.times("alice");
  phone.close();
  bob->close();
  bob.reset();
  EXPECT_TRUE(told.becomes("bob", "offline"));
  EXPECT_EQ(told.times("alice", 300ms), aliceTold);

  // An empty list watches nobody.
  auto r = watch(carol, json::array{});
  EXPECT_EQ(r.at("ok"), true);
  EXPECT_EQ(r.at("userIds"), json::array{});
}

TEST_F(Presence, BadWatchListsAreRefusedAndChangeNothing) {
  WsClient alice(server.port(), token("alice"), "a-phone");
  WsClient carol(server.port(), token("carol"), "c-phone");
  Told told(carol);
  ASSERT_EQ(watch(carol, {"alice"}).at("ok"), true);
  EXPECT_TRUE(told.becomes("alice", "online"));
  json::array tooMany;
  for (int i = 0; i < 501; ++i) tooMany.emplace_back("u" + std::to_string(i));
  for (json::object bad :
       {json::object{{"op", "watch"}}, json::object{{"op", "watch"}, {"userIds", "alice"}},
        json::object{{"op", "watch"}, {"userIds", json::array{"bad id!"}}},
        json::object{{"op", "watch"}, {"userIds", json::array{1}}},
        json::object{{"op", "watch"}, {"userIds", tooMany}}}) {
    auto r = carol.request(bad);
    EXPECT_EQ(r.at("ok"), false) << json::serialize(bad);
    EXPECT_EQ(r.at("error").at("code"), "bad_request") << json::serialize(bad);
  }
  // Still watching alice.
  WsClient bob(server.port(), token("bob"), "b-phone");
  alice.request({{"op", "create"}, {"receiverId", "bob"}});
  EXPECT_TRUE(told.becomes("alice", "in_call"));
  // Over HTTP there is no such op.
  auto h = http(server.port(), "POST", "/v1/calls/x/watch", "{}", token("carol"));
  EXPECT_EQ(h.status, 400);
}

TEST(PresencePolicy, OnlyWhomTheDirectoryShowsCanBeWatched) {
  ServerProcess server({"--jwt-hs256-secret", kSecret, "--directory", "contacts"});
  WsClient alice(server.port(), issuer_token(kSecret, "alice"), "a-phone");
  WsClient bob(server.port(), issuer_token(kSecret, "bob"), "b-phone");
  WsClient carol(server.port(), issuer_token(kSecret, "carol"), "c-phone");
  // alice and bob have had a call: contacts. carol is a stranger to both.
  std::string id = call_id(alice.request({{"op", "create"}, {"receiverId", "bob"}}));
  ASSERT_EQ(bob.request(op("reject", id)).at("ok"), true);
  auto r = watch(carol, {"alice", "bob"});
  ASSERT_EQ(r.at("ok"), true);
  EXPECT_EQ(r.at("userIds"), json::array{}) << "a stranger learns nothing of them";
  Told told(alice);
  r = watch(alice, {"bob", "carol"});
  EXPECT_EQ(r.at("userIds"), json::array{"bob"});
  EXPECT_TRUE(told.becomes("bob", "online"));
  EXPECT_EQ(told.times("carol", 200ms), 0u);
}

}  // namespace
}  // namespace dialtone::test
