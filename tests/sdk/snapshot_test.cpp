// SPDX-License-Identifier: Apache-2.0
// The SDK's pure parts: the clock offset, server URLs, quality levels.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "sdk/call_media.hpp"
#include "sdk/signaling.hpp"
#include "sdk/snapshot.hpp"

namespace dialtone::sdk {
namespace {

namespace json = boost::json;

TEST(ClockOffset, TheShortestRoundTripWins) {
  ClockOffset c;
  c.add(1000, 1200, 5100);  // rtt 200, offset 5100 - 1100 = 4000
  EXPECT_EQ(c.offset(), 4000);
  c.add(2000, 2010, 7005);  // rtt 10, offset 7005 - 2005 = 5000: more precise
  EXPECT_EQ(c.offset(), 5000);
  c.add(3000, 3300, 9000);  // rtt 300: ignored while the better sample is recent
  EXPECT_EQ(c.offset(), 5000);
  c.add(4000, 3000, 0);  // time going backwards: dropped
  EXPECT_EQ(c.offset(), 5000);
}

TEST(ServerUrl, HttpOnlyWithAHost) {
  auto u = parse_server_url("http://127.0.0.1:8080");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(parse_server_url("http://calls.example.org/dialtone/").prefix, "/dialtone");
  EXPECT_EQ(parse_server_url("http://calls.example.org").port, "80");
  for (const char* bad : {"", "127.0.0.1:8080", "ftp://x", "http://", "wss://x"})
    EXPECT_THROW(parse_server_url(bad), std::invalid_argument) << bad;
}

TEST(Quality, TheSpecsFiveLevels) {
  EXPECT_EQ(quality_for_loss(0), QualityLevel::excellent);
  EXPECT_EQ(quality_for_loss(2), QualityLevel::excellent);
  EXPECT_EQ(quality_for_loss(2.1), QualityLevel::good);
  EXPECT_EQ(quality_for_loss(5), QualityLevel::good);
  EXPECT_EQ(quality_for_loss(7), QualityLevel::fair);
  EXPECT_EQ(quality_for_loss(12), QualityLevel::poor);
  EXPECT_EQ(quality_for_loss(15.5), QualityLevel::very_poor);
  EXPECT_EQ(quality_name(QualityLevel::very_poor), "very_poor");
}

TEST(Quality, LossFromDeltasAndSustainedCounts) {
  QualityTracker t;
  media::RtpStats s;
  s.haveInbound = true;
  s.packetsReceived = 100;
  auto r = t.update(s, 20);
  EXPECT_EQ(r.lossPercent, 0);                  // the first poll has nothing to compare with
  s.packetsReceived = 175, s.packetsLost = 25;  // 75 received, 25 lost: 25 %
  r = t.update(s, 20);
  EXPECT_DOUBLE_EQ(r.lossPercent, 25);
  EXPECT_EQ(r.level, QualityLevel::very_poor);
  EXPECT_EQ(t.highLossPolls, 1);
  s.packetsReceived = 250, s.packetsLost = 50;
  t.update(s, 20);
  EXPECT_EQ(t.highLossPolls, 2);  // two in a row: time to recover
  s.packetsReceived = 350;
  r = t.update(s, 20);
  EXPECT_EQ(r.level, QualityLevel::excellent);
  EXPECT_EQ(t.highLossPolls, 0);
  r = t.update(s, 20);  // nothing arrived: everything was lost, and it is a stall
  EXPECT_EQ(r.lossPercent, 100);
  EXPECT_EQ(r.level, QualityLevel::very_poor);
  t.update(s, 20);
  EXPECT_EQ(t.silentPolls, 2);
  EXPECT_EQ(t.highLossPolls, 0) << "recovered as a stall, not as loss";
  s.packetsReceived = 450;
  r = t.update(s, 20);
  EXPECT_EQ(r.lossPercent, 0);
  EXPECT_EQ(t.silentPolls, 0);
}

}  // namespace
}  // namespace dialtone::sdk
