// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <ctime>
#include <random>

#include "core/errors.hpp"
#include "core/request.hpp"

namespace dialtone {
namespace {

ErrorCode error_of(std::string_view text) {
  try {
    parse_ws_request(text);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::ok;
}

TEST(Request, ParsesEachOp) {
  auto c = parse_ws_request(R"({"id":1,"op":"create","receiverId":"bob"})");
  EXPECT_EQ(c.op, Op::create);
  EXPECT_EQ(c.receiverId, "bob");
  EXPECT_EQ(c.id, 1);
  auto e = parse_ws_request(R"({"id":"x","op":"end","callId":"abc","reason":"bye"})");
  EXPECT_EQ(e.op, Op::end);
  EXPECT_EQ(e.reason, "bye");
  auto m = parse_ws_request(R"({"op":"mute","callId":"abc","muted":true})");
  EXPECT_TRUE(m.muted);
  EXPECT_TRUE(m.id.is_null());
  auto s = parse_ws_request(
      R"({"op":"signal","callId":"abc","data":{"type":"candidate","candidate":"candidate:1 1 udp 1 1.2.3.4 5 typ host","sdpMid":"0","sdpMLineIndex":0}})");
  EXPECT_EQ(s.data.at("type"), "candidate");
  EXPECT_EQ(parse_ws_request(R"({"op":"signal","callId":"a","data":{"type":"restart"}})").op,
            Op::signal);
  EXPECT_EQ(parse_ws_request(R"({"op":"fail","callId":"a","reason":"media_failed"})").reason,
            "media_failed");
}

TEST(Request, RejectsBadInput) {
  for (
      const char* bad : {
          "",
          "{",
          "[]",
          "42",
          "null",
          R"({"op":1})",
          R"({"op":"nope","callId":"a"})",
          R"({"op":"create"})",
          R"({"op":"create","receiverId":5})",
          R"({"op":"create","receiverId":""})",
          R"({"op":"create","receiverId":"a b"})",
          R"({"op":"accept"})",
          R"({"op":"accept","callId":7})",
          R"({"op":"mute","callId":"a"})",
          R"({"op":"mute","callId":"a","muted":"yes"})",
          R"({"op":"fail","callId":"a"})",
          R"({"op":"end","callId":"a","reason":7})",
          R"({"op":"signal","callId":"a"})",
          R"({"op":"signal","callId":"a","data":"x"})",
          R"({"op":"signal","callId":"a","data":{"type":"offer"}})",
          R"({"op":"signal","callId":"a","data":{"type":"bogus"}})",
          R"({"op":"signal","callId":"a","data":{"type":"candidate","candidate":"c","sdpMLineIndex":"0"}})",
          R"({"id":{},"op":"ready","callId":"a"})",
      })
    EXPECT_EQ(error_of(bad), ErrorCode::bad_request) << bad;
}

TEST(Request, WatchTakesEachUserOnceAndNoCall) {
  auto w = parse_ws_request(R"({"id":2,"op":"watch","userIds":["bob","carol","bob"]})");
  EXPECT_EQ(w.op, Op::watch);
  EXPECT_EQ(w.userIds, (std::vector<std::string>{"bob", "carol"}));
  EXPECT_TRUE(w.callId.empty());
  EXPECT_TRUE(parse_ws_request(R"({"op":"watch","userIds":[]})").userIds.empty());
  std::string many = R"({"op":"watch","userIds":[)";
  for (int i = 0; i < 500; ++i) many += (i ? ",\"u" : "\"u") + std::to_string(i) + "\"";
  EXPECT_EQ(parse_ws_request(many + "]}").userIds.size(), 500u);
  EXPECT_EQ(error_of(many + R"(,"one-more"]})"), ErrorCode::bad_request);
  EXPECT_EQ(error_of(R"({"op":"watch"})"), ErrorCode::bad_request);
  EXPECT_EQ(error_of(R"({"op":"watch","userIds":"bob"})"), ErrorCode::bad_request);
  EXPECT_EQ(error_of(R"({"op":"watch","userIds":["bad id"]})"), ErrorCode::bad_request);
  EXPECT_EQ(error_of(R"({"op":"watch","userIds":[null]})"), ErrorCode::bad_request);
}

TEST(Request, DeepNestingIsRefused) {
  std::string deep(1000, '[');
  EXPECT_EQ(error_of(deep), ErrorCode::bad_request);
}

TEST(Request, OversizeIsPayloadTooLarge) {
  std::string big =
      R"({"id":9,"op":"end","callId":"a","reason":")" + std::string(kMaxMessageBytes, 'x') + "\"}";
  EXPECT_EQ(error_of(big), ErrorCode::payload_too_large);
  EXPECT_EQ(try_extract_id(big), 9);
  EXPECT_TRUE(try_extract_id("{not json").is_null());
}

TEST(Request, HttpBodies) {
  EXPECT_EQ(parse_http_request(Op::accept, "abc", "").callId, "abc");
  EXPECT_EQ(parse_http_request(Op::create, "", R"({"receiverId":"bob"})").receiverId, "bob");
  EXPECT_THROW(parse_http_request(Op::accept, "a/b", ""), Error);
  EXPECT_THROW(parse_http_request(Op::mute, "abc", "[1]"), Error);
}

TEST(Time, FormatAgreesWithTheCLibrary) {
  std::mt19937_64 rng(42);
  for (int i = 0; i < 100000; ++i) {
    TimeMs t = static_cast<TimeMs>(rng() % 8'000'000'000'000ULL);  // 1970 .. 2223
    std::time_t secs = static_cast<std::time_t>(t / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char want[32];
    std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, int(t % 1000));
    ASSERT_EQ(format_iso(t), want) << t;
    ASSERT_EQ(parse_iso(want), t);
  }
}

TEST(Time, IsoRoundTrip) {
  EXPECT_EQ(format_iso(0), "1970-01-01T00:00:00.000Z");
  TimeMs t = 1'757'592'000'123;
  EXPECT_EQ(parse_iso(format_iso(t)), t);
  EXPECT_EQ(parse_iso("2025-09-11T12:00:00Z"), 1'757'592'000'000);
  EXPECT_FALSE(parse_iso("2025-09-11 12:00:00"));
  EXPECT_FALSE(parse_iso("2025-13-11T12:00:00Z"));
  EXPECT_FALSE(parse_iso("garbage"));
}

}  // namespace
}  // namespace dialtone
