// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

#include "server/turn_credentials.hpp"
#include "support/build_paths.hpp"

namespace dialtone {
namespace {

namespace json = boost::json;

json::value load_vectors() {
  std::ifstream f(std::string(dialtone::build_paths::source_dir) +
                  "/tests/server/data/turn-rest.json");
  std::stringstream ss;
  ss << f.rdbuf();
  return json::parse(ss.str());
}

TEST(TurnCredentials, MatchesTheVectors) {
  auto v = load_vectors();
  const auto& rows = v.at("vectors").as_array();
  ASSERT_GE(rows.size(), 6u);
  for (const auto& row : rows) {
    std::string secret(row.at("secret").as_string()), user(row.at("username").as_string());
    EXPECT_EQ(turn_password(secret, user), std::string(row.at("credential").as_string())) << user;
  }
}

TEST(TurnCredentials, UsernameIsExpiryThenUser) {
  EXPECT_EQ(turn_username(2145916800, "alice"), "2145916800:alice");
  // coturn splits at the first ':' and needs digits before it.
  EXPECT_EQ(turn_username(2145916800, "a:b%c"), "2145916800:a%3Ab%25c");
}

TEST(TurnCredentials, AnswerIsAnRtcConfiguration) {
  Config c;
  c.stun_urls = {"stun:turn.example.org:3478"};
  c.turn_urls = {"turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"};
  c.turn_secret = "north";
  c.turn_ttl_s = 86400;
  const TimeMs now = (2145916800LL - 86400) * 1000 + 999;  // expiry = now + ttl, in seconds
  auto o = ice_servers_for(c, c.turn_secret, "alice", now);
  EXPECT_EQ(o.at("ttlSeconds").as_int64(), 86400);
  const auto& servers = o.at("iceServers").as_array();
  ASSERT_EQ(servers.size(), 2u);
  EXPECT_EQ(servers[0].as_object().size(), 1u);  // STUN: urls only
  EXPECT_EQ(servers[0].at("urls").as_array().size(), 1u);
  const auto& turn = servers[1].as_object();
  EXPECT_EQ(turn.at("urls").as_array().size(), 2u);
  EXPECT_EQ(turn.at("username").as_string(), "2145916800:alice");
  EXPECT_EQ(turn.at("credential").as_string(), "HmlJAoUmyqkKrYLmEjdJ5S5+AZs=");
  EXPECT_EQ(json::serialize(o).find("north"), std::string::npos);  // the secret never leaves
}

TEST(TurnCredentials, NothingConfiguredIsAnEmptyList) {
  Config c;
  auto o = ice_servers_for(c, c.turn_secret, "alice", 0);
  EXPECT_TRUE(o.at("iceServers").as_array().empty());
}

}  // namespace
}  // namespace dialtone
