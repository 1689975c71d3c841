// SPDX-License-Identifier: Apache-2.0
// The TURN credentials' answer read into ICE servers: what has the documented shape is taken,
// anything else is skipped, and the TTL has a floor (credentials are refreshed at 80 % of it).
#include "sdk/ice_credentials.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace dialtone::sdk {
namespace {

namespace json = boost::json;

TEST(IceCredentials, ReadsTheDocumentedAnswer) {
  auto got = parse_ice_credentials(json::parse(R"({
    "iceServers": [
      {"urls": "stun:turn.example.org:3478"},
      {"urls": ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:443"],
       "username": "1760000000:alice", "credential": "c2VjcmV0"}],
    "ttlSeconds": 3600})"));
  ASSERT_EQ(got.servers.size(), 2u);
  EXPECT_EQ(got.servers[0].urls, std::vector<std::string>{"stun:turn.example.org:3478"});
  EXPECT_TRUE(got.servers[0].username.empty());
  EXPECT_EQ(got.servers[1].urls.size(), 2u);
  EXPECT_EQ(got.servers[1].urls[1], "turns:turn.example.org:443");
  EXPECT_EQ(got.servers[1].username, "1760000000:alice");
  EXPECT_EQ(got.servers[1].credential, "c2VjcmV0");
  EXPECT_EQ(got.ttl, std::chrono::seconds(3600));
}

TEST(IceCredentials, SkipsWhatHasAnotherShapeAndKeepsTheTtlFloor) {
  auto got = parse_ice_credentials(json::parse(R"({
    "iceServers": [42, "turn:x", {"urls": [7, "stun:a:3478"], "username": 5, "credential": null}],
    "ttlSeconds": 10})"));
  ASSERT_EQ(got.servers.size(), 1u);
  EXPECT_EQ(got.servers[0].urls, std::vector<std::string>{"stun:a:3478"});
  EXPECT_TRUE(got.servers[0].username.empty());
  EXPECT_TRUE(got.servers[0].credential.empty());
  EXPECT_EQ(got.ttl, std::chrono::seconds(120));
}

TEST(IceCredentials, AnAnswerWithoutServersOrTtlIsAskedAgainSoon) {
  for (const char* body : {"{}", "[]", "null", R"({"iceServers": {}, "ttlSeconds": "3600"})"}) {
    auto got = parse_ice_credentials(json::parse(body));
    EXPECT_TRUE(got.servers.empty()) << body;
    EXPECT_EQ(got.ttl, std::chrono::seconds(30)) << body;
  }
}

}  // namespace
}  // namespace dialtone::sdk
