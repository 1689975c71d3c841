// SPDX-License-Identifier: Apache-2.0
// Loss and path cuts, with the whole test — dialtoned, both clients — inside a private network
// namespace that only has `lo`. nftables drops UDP (the media; signaling is TCP) at random:
// `tc netem` would do the same, but this kernel has no sch_netem.
#include <gtest/gtest.h>

#include <sched.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "sdk/sdk_support.hpp"
#include "support/audio_analysis.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

void sh(const std::string& cmd) {
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// Drops `percent` of UDP packets leaving any socket (each loopback packet leaves once).
void udp_loss(int percent) {
  std::system("nft delete table inet dtloss 2>/dev/null");
  if (percent == 0) return;
  std::string match = percent >= 100 ? "" : "numgen random mod 100 '<' " + std::to_string(percent);
  sh("nft add table inet dtloss && nft add chain inet dtloss out "
     "'{ type filter hook output priority 0; }' && nft add rule inet dtloss out meta l4proto "
     "udp " +
     match + " drop");
}

// Cuts (or restores) the whole network of the namespace but for the test's own requests: UDP
// (the media) and the TCP of the server's port (the clients' WebSockets; their reconnects too).
void blackout(int port, bool on) {
  std::system("nft delete table inet dtcut 2>/dev/null");
  if (!on) return;
  std::string p = std::to_string(port);
  sh("nft add table inet dtcut && nft add chain inet dtcut out "
     "'{ type filter hook output priority 0; }' && nft add rule inet dtcut out meta l4proto "
     "udp drop && nft add rule inet dtcut out tcp dport " +
     p + " drop && nft add rule inet dtcut out tcp sport " + p + " drop");
}

class Recovery : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    ASSERT_EQ(geteuid(), 0) << "network namespaces need root (CI runs as root)";
    ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "unshare(CLONE_NEWNET) failed";
    sh("ip link set lo up");
  }
  std::string dir =
      (std::filesystem::temp_directory_path() / ("dt-recovery-" + std::to_string(::getpid())))
          .string();
  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override {
    udp_loss(0);
    blackout(0, false);
    std::filesystem::remove_all(dir);
  }

  ClientConfig config(const ServerProcess& s, const std::string& user, const std::string& input,
                      const std::string& output) {
    ClientConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(s.port());
    c.token = dev_token(s.port(), user);
    c.deviceId = user + "-dev";
    c.media.input = input;
    c.media.output = output;
    // No ICE addresses: the namespace has only loopback, which the SDK then uses by itself.
    c.media.statsIntervalMs = 1000;
    return c;
  }
};

TEST_F(Recovery, LossLowersTheLevelAndRecoveryIsAttempted) {
  ServerProcess server;
  Recorder ra, rb;
  Client alice(config(server, "alice", "tone:440", "none"), ra),
      bob(config(server, "bob", "tone:880", "none"), rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());
  auto id = alice.start_call("bob").get().value->callId;
  ASSERT_TRUE(bob.accept(id).get().ok());
  ASSERT_TRUE(rb.wait_media(MediaEvent::connected));
  ASSERT_TRUE(rb.wait([&] { return !rb.quality.empty(); }));
  EXPECT_EQ(rb.locked([&] { return rb.quality.back().level; }), QualityLevel::excellent);

  udp_loss(25);
  // The level falls to poor or very poor as the loss shows in the stats.
  EXPECT_TRUE(rb.wait(
      [&] {
        return !rb.quality.empty() && rb.quality.back().level >= QualityLevel::poor &&
               rb.quality.back().lossPercent > 10;
      },
      15s));
  // Sustained loss above 20 %: the media path is rebuilt without ending the call.
  EXPECT_TRUE(ra.wait_media(MediaEvent::reconnecting, 20s) ||
              rb.wait_media(MediaEvent::reconnecting, 1s));
  udp_loss(0);
  EXPECT_TRUE(ra.wait_media(MediaEvent::reconnected, 20s));
  EXPECT_TRUE(rb.wait_media(MediaEvent::reconnected, 20s));
  EXPECT_TRUE(rb.wait(
      [&] { return !rb.quality.empty() && rb.quality.back().level == QualityLevel::excellent; },
      10s));
  EXPECT_FALSE(ra.wait_state(CallState::failed, 10ms));
  EXPECT_FALSE(ra.wait_state(CallState::ended, 10ms));
  ASSERT_TRUE(alice.end(id).get().ok());
}

TEST_F(Recovery, ACutPathComesBackAndTheCallSurvives) {
  ServerProcess server;
  Recorder ra, rb;
  const std::string rec = dir + "/bob.wav";
  {
    Client alice(config(server, "alice", "tone:440", "none"), ra),
        bob(config(server, "bob", "tone:880", rec), rb);
    ASSERT_TRUE(ra.wait_online() && rb.wait_online());
    auto id = alice.start_call("bob").get().value->callId;
    ASSERT_TRUE(bob.accept(id).get().ok());
    ASSERT_TRUE(rb.wait_media(MediaEvent::connected));
    std::this_thread::sleep_for(1s);  // audio before the cut

    udp_loss(100);
    EXPECT_TRUE(rb.wait_media(MediaEvent::reconnecting, 10s) ||
                ra.wait_media(MediaEvent::reconnecting, 1s));
    std::this_thread::sleep_for(2s);  // a cut of a few seconds in all
    udp_loss(0);
    EXPECT_TRUE(rb.wait_media(MediaEvent::reconnected, 20s));
    EXPECT_TRUE(ra.wait_media(MediaEvent::reconnected, 20s));
    std::this_thread::sleep_for(1500ms);  // audio after the path came back
    // The server never ended the call.
    EXPECT_FALSE(rb.wait_state(CallState::failed, 10ms));
    EXPECT_FALSE(rb.wait_state(CallState::ended, 10ms));
    ASSERT_TRUE(alice.end(id).get().ok());
    auto ended = rb.wait_state(CallState::ended);
    ASSERT_TRUE(ended);
    EXPECT_EQ(ended->reason.value_or(""), "ended_by_user");
  }
  // Audio resumed: the end of bob's recording is alice's tone again.
  auto pcm = read_wav(rec);
  const size_t second = 48000;
  ASSERT_GT(pcm.samples.size(), 2 * second);
  Pcm tail = pcm;
  tail.samples.assign(pcm.samples.end() - second, pcm.samples.end());
  EXPECT_NEAR(dominant_frequency(tail), 440, 10);
}

// The network gone under the WebSockets too (a blackout, not a UDP cut): a client whose media
// path went quiet checks its WebSocket, finds it stalled and replaces it — rather than leaving
// its restart's offer and its reports in a TCP connection that, once the network is back, sends
// them only when its retransmission backoff says so (seconds later), while the WebSocket's idle
// timeout (20 s) notices nothing. The call recovers, and the server has both sides' recovery.
TEST_F(Recovery, ABlackoutReplacesTheStalledWebSocketAndTheCallRecovers) {
  ServerProcess server;
  Recorder ra, rb;
  auto ca = config(server, "alice", "tone:440", "none");
  Client alice(ca, ra), bob(config(server, "bob", "tone:880", "none"), rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());
  auto id = alice.start_call("bob").get().value->callId;
  ASSERT_TRUE(bob.accept(id).get().ok());
  ASSERT_TRUE(ra.wait_media(MediaEvent::connected) && rb.wait_media(MediaEvent::connected));
  ASSERT_TRUE(ra.wait_state(CallState::connected));

  blackout(server.port(), true);
  ASSERT_TRUE(ra.wait_media(MediaEvent::reconnecting, 10s));
  ASSERT_TRUE(rb.wait_media(MediaEvent::reconnecting, 10s));
  // Well before the idle timeout: the probe's pong did not come, the WebSocket was dropped.
  EXPECT_TRUE(ra.wait([&] { return ra.connection != ConnectionState::online; }, 5s));
  EXPECT_TRUE(rb.wait([&] { return rb.connection != ConnectionState::online; }, 5s));
  blackout(server.port(), false);

  EXPECT_TRUE(ra.wait_online(15s) && rb.wait_online(15s));
  EXPECT_TRUE(ra.wait_media(MediaEvent::reconnected, 20s));
  EXPECT_TRUE(rb.wait_media(MediaEvent::reconnected, 20s));
  EXPECT_FALSE(ra.wait_state(CallState::failed, 10ms));
  // Both sides' recovery (started during the blackout, recovered after it) reached the server:
  // the reports held in the dropped connection were sent again on the new one.
  json::array recoveries[2];
  for (auto until = std::chrono::steady_clock::now() + 15s;
       std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(250ms)) {
    auto t = http(server.port(), "GET", "/v1/calls/" + id + "/timeline", "", ca.token);
    ASSERT_EQ(t.status, 200) << t.raw;
    const auto& summary = t.body.at("summary");
    recoveries[0] = summary.at("caller").at("recoveries").as_array();
    recoveries[1] = summary.at("receiver").at("recoveries").as_array();
    auto recovered = [](const json::array& r) {
      return std::any_of(r.begin(), r.end(),
                         [](auto& x) { return x.at("outcome") == "recovered"; });
    };
    if (recovered(recoveries[0]) && recovered(recoveries[1])) break;
  }
  for (const auto& r : recoveries) {
    ASSERT_FALSE(r.empty()) << "a side's recovery never reached the server";
    EXPECT_EQ(r.front().at("outcome"), "recovered") << json::serialize(r);
  }
  ASSERT_TRUE(alice.end(id).get().ok());
}

// A path that never comes back: both clients try for media_recovery_timeout_s, then the call
// ends `failed`/`network` — once, seen the same by both, each told why — and nothing goes on
// trying afterwards.
TEST_F(Recovery, APathThatNeverComesBackEndsTheCallOnce) {
  ServerProcess server;
  Recorder ra, rb;
  auto ca = config(server, "alice", "tone:440", "none");
  auto cb = config(server, "bob", "tone:880", "none");
  ca.media.mediaRecoveryTimeoutS = cb.media.mediaRecoveryTimeoutS = 4;
  Client alice(ca, ra), bob(cb, rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());
  auto id = alice.start_call("bob").get().value->callId;
  ASSERT_TRUE(bob.accept(id).get().ok());
  ASSERT_TRUE(ra.wait_media(MediaEvent::connected) && rb.wait_media(MediaEvent::connected));

  udp_loss(100);
  auto failedA = ra.wait_state(CallState::failed, 20s);
  auto failedB = rb.wait_state(CallState::failed, 5s);
  ASSERT_TRUE(failedA && failedB);
  EXPECT_EQ(failedA->reason.value_or(""), "network");
  EXPECT_EQ(failedB->reason.value_or(""), "network");
  EXPECT_EQ(failedA->version, failedB->version);  // one transition, the same for both
  // Whoever gave up first said so; the other learnt it from the call.
  auto told = [](Recorder& r) {
    return r.locked([&] {
      return std::count_if(r.errors.begin(), r.errors.end(),
                           [](auto& e) { return e.first == ErrorCode::network; });
    });
  };
  EXPECT_GE(told(ra) + told(rb), 1);
  EXPECT_LE(told(ra), 1);
  EXPECT_LE(told(rb), 1);
  udp_loss(0);
  // Media is closed on both sides: no recovery afterwards, no second terminal state.
  auto reconnects = [](Recorder& r) {
    return r.locked(
        [&] { return std::count(r.media.begin(), r.media.end(), MediaEvent::reconnecting); });
  };
  auto before = reconnects(ra) + reconnects(rb);
  std::this_thread::sleep_for(3s);  // time for a stray retry to show, not a wait for an event
  EXPECT_EQ(reconnects(ra) + reconnects(rb), before);
  EXPECT_FALSE(ra.wait_state(CallState::ended, 10ms));
  EXPECT_FALSE(rb.wait_state(CallState::ended, 10ms));
}

}  // namespace
}  // namespace dialtone::test
