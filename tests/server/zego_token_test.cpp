// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "push/vectors.hpp"
#include "server/zego_token.hpp"

namespace dialtone {
namespace {

namespace json = boost::json;
using test::load_vector;
using test::str;

ZegoTokenSpec spec_for(const json::value& common, const json::value& vec) {
  ZegoTokenSpec s;
  s.appId = static_cast<std::uint32_t>(common.at("app_id").as_int64());
  s.userId = str(common, "user_id");
  s.secret = str(vec, "key_ascii");
  s.payload = str(vec, "payload_string");
  s.ctime = common.at("ctime").as_int64();
  s.ttlSeconds = common.at("effective_time_seconds").as_int64();
  s.nonce = static_cast<std::int32_t>(common.at("nonce").as_int64());
  s.mode = str(vec, "mode") == "gcm" ? ZegoMode::gcm : ZegoMode::cbc;
  s.iv = s.mode == ZegoMode::gcm ? str(vec, "gcm_nonce_ascii") : str(vec, "iv_ascii");
  return s;
}

TEST(ZegoToken04, AllFourVectorsByteForByte) {
  auto v = load_vector("zego-token04.json");
  const auto& vecs = v.at("vectors").as_array();
  ASSERT_EQ(vecs.size(), 4u);
  for (const auto& vec : vecs) {
    ZegoTokenSpec s = spec_for(v.at("common"), vec);
    EXPECT_EQ(zego_token04(s), str(vec, "token")) << str(vec, "name");
    auto opened = zego_token04_open(str(vec, "token"), s.secret);
    ASSERT_TRUE(opened) << str(vec, "name");
    EXPECT_EQ(opened->plaintext, str(vec, "plaintext_json"));
    EXPECT_EQ(opened->expire, 1700003600);
    EXPECT_EQ(opened->mode, s.mode);
  }
}

TEST(ZegoToken04, PrivilegePayloadForACallRoom) {
  json::value p = json::parse(zego_room_payload("call-1"));
  EXPECT_EQ(p.at("room_id"), "call-1");
  EXPECT_EQ(p.at("privilege").at("1"), 1);
  EXPECT_EQ(p.at("privilege").at("2"), 1);
  auto v = load_vector("zego-token04.json");
  // The vector's privilege document has the same shape (its stream list is restricted).
  json::value want = json::parse(str(v.at("vectors").at(2), "payload_string"));
  EXPECT_EQ(want.at("privilege"), p.at("privilege"));
}

TEST(ZegoToken04, NegativeVectorsFail) {
  auto v = load_vector("zego-token04.json");
  const auto& neg = v.at("negative").as_array();
  std::string secret = str(v.at("vectors").at(0), "key_ascii");
  EXPECT_FALSE(zego_token04_open(str(neg.at(0), "token"), secret)) << "tampered GCM";
  for (int i : {0, 1})
    EXPECT_FALSE(zego_token04_open(str(v.at("vectors").at(i), "token"), str(neg.at(1), "secret")));
  // Hex-decoding the secret is the classic mistake: it cannot even make a key.
  ZegoTokenSpec s = spec_for(v.at("common"), v.at("vectors").at(1));
  s.secret = s.secret.substr(0, 16);
  EXPECT_THROW(zego_token04(s), std::invalid_argument);
  for (const char* junk : {"", "04", "05AAAA", "04!!!!", "04AAAAAGVT/xAAEA=="})
    EXPECT_FALSE(zego_token04_open(junk, secret)) << junk;
}

TEST(ZegoToken04, RandomTokensDifferAndOpen) {
  auto v = load_vector("zego-token04.json");
  for (ZegoMode m : {ZegoMode::gcm, ZegoMode::cbc}) {
    ZegoTokenSpec s = spec_for(v.at("common"), v.at("vectors").at(m == ZegoMode::gcm ? 1 : 0));
    std::string a = zego_token04_random(s), b = zego_token04_random(s);
    EXPECT_NE(a, b);
    auto opened = zego_token04_open(a, s.secret);
    ASSERT_TRUE(opened);
    json::value doc = json::parse(opened->plaintext);
    EXPECT_EQ(doc.at("user_id"), "demo");
    EXPECT_GE(doc.at("nonce").as_int64(), 0);
  }
}

TEST(ZegoToken04, RefusesWhatZegoWouldRefuse) {
  auto v = load_vector("zego-token04.json");
  ZegoTokenSpec s = spec_for(v.at("common"), v.at("vectors").at(1));
  auto bad = [&](auto mutate) {
    ZegoTokenSpec t = s;
    mutate(t);
    EXPECT_THROW(zego_token04(t), std::invalid_argument);
  };
  bad([](ZegoTokenSpec& t) { t.appId = 0; });
  bad([](ZegoTokenSpec& t) { t.userId = ""; });
  bad([](ZegoTokenSpec& t) { t.userId = std::string(65, 'u'); });
  bad([](ZegoTokenSpec& t) { t.ttlSeconds = 0; });
  bad([](ZegoTokenSpec& t) { t.iv = "short"; });
}

}  // namespace
}  // namespace dialtone
