// SPDX-License-Identifier: Apache-2.0
// The controlling side's hold on the other side's relay candidates (media/relay_hold.hpp).
#include <gtest/gtest.h>

#include "media/relay_hold.hpp"

namespace dialtone::media {
namespace {

const char* kHost = "candidate:1 1 UDP 2122252543 10.0.2.2 38026 typ host";
const char* kSrflx =
    "candidate:2 1 UDP 1686052607 198.51.100.20 38026 typ srflx raddr 10.0.2.2 rport 38026";
const char* kRelay =
    "candidate:3 1 UDP 41885439 198.51.100.1 50123 typ relay raddr 198.51.100.20 rport 38026";

TEST(RelayHold, CandidateTypes) {
  EXPECT_EQ(candidate_type(kHost), "host");
  EXPECT_EQ(candidate_type(kSrflx), "srflx");
  EXPECT_EQ(candidate_type(kRelay), "relay");
  EXPECT_EQ(candidate_type("candidate:4 1 TCP 1 ::1 9 typ host tcptype active"), "host");
  EXPECT_EQ(candidate_type("candidate:5 1 UDP 1 10.0.0.1 9"), "");
  EXPECT_EQ(candidate_type("typ"), "");
  EXPECT_EQ(candidate_type(""), "");
}

TEST(RelayHold, TheControllingSideHoldsRelaysOfAPeerWhoseUdpGetsOut) {
  RelayHold hold(true);
  EXPECT_TRUE(hold.admit(kHost));
  EXPECT_TRUE(hold.admit(kRelay));  // no srflx yet: nothing says a direct path may work
  EXPECT_TRUE(hold.admit(kSrflx));
  EXPECT_FALSE(hold.admit(kRelay));
  EXPECT_TRUE(hold.admit(kHost));  // only relays wait
  hold.release();
  EXPECT_TRUE(hold.admit(kRelay));
}

TEST(RelayHold, WithoutUdpOutOrWhenControlledNothingWaits) {
  RelayHold noUdp(true);  // the other side sends host and relay (TURN over TCP) only
  EXPECT_TRUE(noUdp.admit(kHost));
  EXPECT_TRUE(noUdp.admit(kRelay));
  RelayHold controlled(false);  // the controlling peer moves to a better pair by itself
  EXPECT_TRUE(controlled.admit(kSrflx));
  EXPECT_TRUE(controlled.admit(kRelay));
}

}  // namespace
}  // namespace dialtone::media
