// SPDX-License-Identifier: Apache-2.0
// The SDK's report buffer: events leave in order with their age, at most 32 per report, and
// when too many wait, the quality samples go first.
#include <gtest/gtest.h>

#include "sdk/report_buffer.hpp"

namespace dialtone::sdk {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;

json::object ev(const char* type) {
  return json::object{{"type", type}};
}

TEST(ReportBuffer, EventsLeaveInOrderWithTheirAge) {
  ReportBuffer b;
  auto t0 = ReportBuffer::Clock::now();
  b.add(ev("media_connected"), t0);
  b.add(ev("first_audio_received"), t0 + 1500ms);
  auto out = b.take(t0 + 4s);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].at("type"), "media_connected");
  EXPECT_EQ(out[0].at("ago"), 4000);
  EXPECT_EQ(out[1].at("ago"), 2500);
  EXPECT_TRUE(b.empty());
  EXPECT_FALSE(out[0].as_object().contains("at")) << "the server's clock is not known yet";
  EXPECT_TRUE(b.take(t0 + 5s).empty());
}

TEST(ReportBuffer, OnceTheServersClockIsKnownEachEventAlsoCarriesItsTimeInIt) {
  ReportBuffer b;
  auto t0 = ReportBuffer::Clock::now();
  b.add(ev("media_connected"), t0);
  b.add(ev("first_audio_received"), t0 + 1500ms);
  const TimeMs serverNow = 1'700'000'004'000;  // at t0 + 4 s
  auto out = b.take(t0 + 4s, serverNow);
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0].at("at"), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(out[1].at("at"), "2023-11-14T22:13:21.500Z");
  EXPECT_EQ(out[1].at("ago"), 2500);
}

TEST(ReportBuffer, AtMost32PerReportTheRestNextTime) {
  ReportBuffer b;
  auto t0 = ReportBuffer::Clock::now();
  for (int i = 0; i < 40; ++i) b.add(ev("first_audio_sent"), t0);
  EXPECT_EQ(b.take(t0).size(), 32u);
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(b.take(t0).size(), 8u);
}

TEST(ReportBuffer, WhenTooManyWaitQualitySamplesGoFirst) {
  ReportBuffer b;
  auto t0 = ReportBuffer::Clock::now();
  b.add(ev("media_connected"), t0);
  for (std::size_t i = 0; i < ReportBuffer::kMaxHeld; ++i) b.add(ev("quality"), t0 + 1s);
  b.add(ev("recovery_started"), t0 + 2s);
  std::size_t quality = 0, other = 0;
  while (!b.empty())
    for (const auto& e : b.take(t0 + 3s)) (e.at("type") == "quality" ? quality : other)++;
  EXPECT_EQ(other, 2u) << "media_connected and recovery_started were kept";
  EXPECT_EQ(quality + other, ReportBuffer::kMaxHeld);
}

TEST(ReportBuffer, EventsOlderThanTheServerTakesAreDropped) {
  ReportBuffer b;
  auto t0 = ReportBuffer::Clock::now();
  b.add(ev("first_audio_sent"), t0);
  b.add(ev("first_audio_received"), t0 + 5min);
  auto out = b.take(t0 + 11min);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].at("type"), "first_audio_received");
}

}  // namespace
}  // namespace dialtone::sdk
