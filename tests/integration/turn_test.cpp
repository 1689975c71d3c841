// SPDX-License-Identifier: Apache-2.0
// GET /v1/turn-credentials against a real coturn: the credentials dialtoned mints allocate a
// relay; a tampered one does not; the secret never appears in an answer or the log.
#include <gtest/gtest.h>

#include "support/coturn.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

TEST(TurnCredentials, MintedCredentialsAllocateOnCoturn) {
  const std::string secret = "test-secret-NoOneKnows-42";
  CoturnProcess turn(secret);
  ServerProcess server({"--turn-urls", turn.url(), "--turn-secret", secret, "--stun-urls",
                        "stun:127.0.0.1:" + std::to_string(turn.port()), "--turn-ttl-s", "600"});
  auto token = dev_token(server.port(), "alice");

  auto r = http(server.port(), "GET", "/v1/turn-credentials", "", token);
  ASSERT_EQ(r.status, 200) << r.raw;
  EXPECT_EQ(r.raw.find(secret), std::string::npos);
  EXPECT_EQ(r.body.at("ttlSeconds").as_int64(), 600);
  const auto& servers = r.body.at("iceServers").as_array();
  ASSERT_EQ(servers.size(), 2u);
  const auto& ice = servers[1].as_object();
  EXPECT_EQ(ice.at("urls").as_array()[0].as_string(), turn.url());
  std::string username(ice.at("username").as_string()),
      credential(ice.at("credential").as_string());
  long long expiry = std::stoll(username.substr(0, username.find(':')));
  long long now = std::chrono::duration_cast<std::chrono::seconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
  EXPECT_NEAR(static_cast<double>(expiry - now), 600.0, 5.0);
  EXPECT_EQ(username.substr(username.find(':') + 1), "alice");

  EXPECT_TRUE(turn_allocation_works(turn.port(), username, credential)) << turn.log();
  std::string tampered = credential;
  tampered[0] = tampered[0] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(turn_allocation_works(turn.port(), username, tampered));
  EXPECT_EQ(server.log().find(secret), std::string::npos);
}

TEST(TurnCredentials, NeedsAToken) {
  ServerProcess server({"--turn-urls", "turn:127.0.0.1:3478", "--turn-secret", "s"});
  EXPECT_EQ(http(server.port(), "GET", "/v1/turn-credentials").status, 401);
  EXPECT_EQ(http(server.port(), "POST", "/v1/turn-credentials", "{}", dev_token(server.port(), "a"))
                .status,
            404);
}

TEST(TurnCredentials, WithoutIceServersTheListIsEmpty) {
  ServerProcess server;
  auto r = http(server.port(), "GET", "/v1/turn-credentials", "", dev_token(server.port(), "a"));
  ASSERT_EQ(r.status, 200);
  EXPECT_TRUE(r.body.at("iceServers").as_array().empty());
}

}  // namespace
}  // namespace dialtone::test
