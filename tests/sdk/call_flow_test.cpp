// SPDX-License-Identifier: Apache-2.0
// The spec's checklist from the client's side, through the SDK and a real dialtoned, with media
// on (tones, recordings off): outgoing, accept, reject, timeout, busy, end, multi-device, mute.
#include <gtest/gtest.h>

#include <filesystem>

#include "sdk/sdk_support.hpp"
#include "support/audio_analysis.hpp"
#include "support/harness.hpp"
#include "support/temp_dir.hpp"

namespace dialtone::test {
namespace {

class SdkCallFlow : public TempDirTest {
 protected:
  ClientConfig config(const ServerProcess& s, const std::string& user,
                      const std::string& device = "", const std::string& input = "silence",
                      const std::string& output = "none") {
    ClientConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(s.port());
    c.token = dev_token(s.port(), user);
    c.deviceId = device.empty() ? user + "-dev" : device;
    c.media.input = input;
    c.media.output = output;
    c.media.iceLocalAddresses = {"127.0.0.1"};
    return c;
  }
};

TEST_F(SdkCallFlow, OutgoingRingsAndTheTimerStartsOnlyOnConnected) {
  ServerProcess server;
  Recorder ra, rb;
  Client alice(config(server, "alice"), ra), bob(config(server, "bob"), rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());
  EXPECT_EQ(alice.user_id(), "alice");
  EXPECT_EQ(bob.device_id(), "bob-dev");

  auto created = alice.start_call("bob").get();
  ASSERT_TRUE(created.ok()) << created.message;
  const std::string id = created.value->callId;
  EXPECT_EQ(created.value->state, CallState::calling);
  EXPECT_EQ(created.value->receiverName, "Bob");
  auto incoming = rb.wait_state(CallState::calling);
  ASSERT_TRUE(incoming);
  EXPECT_EQ(incoming->callerName, "Alice");
  auto ringing = ra.wait_state(CallState::ringing);  // bob's device reported ringing by itself
  ASSERT_TRUE(ringing);
  EXPECT_EQ(ringing->ringingDevices, 1);
  EXPECT_FALSE(alice.elapsed(id));

  auto accepted = bob.accept(id).get();
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted.value->answeredBy.value_or(""), "bob-dev");
  ASSERT_TRUE(ra.wait_state(CallState::connected));
  ASSERT_TRUE(rb.wait_state(CallState::connected));
  // Media joined only after accept, and connected only once audio flowed on both sides.
  EXPECT_LT(rb.position("call:accepted"), rb.position("media:connected"));
  EXPECT_LT(ra.position("call:accepted"), ra.position("media:connected"));
  EXPECT_TRUE(ra.wait_media(MediaEvent::connected));
  EXPECT_TRUE(rb.wait_media(MediaEvent::connected));
  // Both timers run from the server's connectedAt: they agree.
  auto ea = alice.elapsed(id), eb = bob.elapsed(id);
  ASSERT_TRUE(ea && eb);
  EXPECT_LT(std::abs((*ea - *eb).count()), 200);
  EXPECT_LT(ea->count(), 5000);
  EXPECT_LT(std::abs(alice.clock_offset().count()), 50);  // same machine, same clock

  auto ended = bob.end(id).get();  // the receiver hangs up; the caller sees it
  ASSERT_TRUE(ended.ok());
  auto seen = ra.wait_state(CallState::ended);
  ASSERT_TRUE(seen);
  EXPECT_TRUE(seen->durationSeconds.has_value());
  EXPECT_FALSE(alice.elapsed(id));
  EXPECT_TRUE(ra.errors.empty() && rb.errors.empty());
}

TEST_F(SdkCallFlow, RejectReachesTheCaller) {
  ServerProcess server;
  Recorder ra, rb;
  Client alice(config(server, "alice"), ra), bob(config(server, "bob"), rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());
  auto id = alice.start_call("bob").get().value->callId;
  ASSERT_TRUE(rb.wait_state(CallState::ringing));
  ASSERT_TRUE(bob.reject(id).get().ok());
  auto r = ra.wait_state(CallState::rejected);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reason.value_or(""), "rejected_by_receiver");
  EXPECT_EQ(ra.position("media:connected"), -1);
}

TEST_F(SdkCallFlow, UnansweredCallTimesOutOnBothSides) {
  ServerProcess server({"--ring-timeout-s", "2"});
  Recorder ra, rb;
  Client alice(config(server, "alice"), ra), bob(config(server, "bob"), rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());
  ASSERT_TRUE(alice.start_call("bob").get().ok());
  EXPECT_TRUE(ra.wait_state(CallState::timeout, 6s));
  EXPECT_TRUE(rb.wait_state(CallState::timeout, 6s));
}

TEST_F(SdkCallFlow, BusyWhileInACall) {
  ServerProcess server;
  Recorder ra, rb, rc;
  Client alice(config(server, "alice"), ra), bob(config(server, "bob"), rb),
      carol(config(server, "carol"), rc);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online() && rc.wait_online());
  auto id = alice.start_call("bob").get().value->callId;
  ASSERT_TRUE(bob.accept(id).get().ok());
  ASSERT_TRUE(ra.wait_state(CallState::connected));
  auto busy = carol.is_user_busy("alice").get();
  ASSERT_TRUE(busy.ok());
  EXPECT_TRUE(*busy.value);
  auto r = carol.start_call("alice").get();
  EXPECT_EQ(r.code, ErrorCode::busy);
  ASSERT_TRUE(r.call);
  EXPECT_EQ(r.call->state, CallState::busy);
  EXPECT_TRUE(ra.wait_state(CallState::busy));  // the stored busy call reaches alice too
  ASSERT_TRUE(alice.end(id).get().ok());
  EXPECT_FALSE(*carol.is_user_busy("alice").get().value);
}

TEST_F(SdkCallFlow, SecondDeviceStopsRingingWhenTheFirstAnswers) {
  ServerProcess server;
  Recorder ra, rb1, rb2;
  Client alice(config(server, "alice"), ra), bob1(config(server, "bob", "bob-phone"), rb1),
      bob2(config(server, "bob", "bob-laptop"), rb2);
  ASSERT_TRUE(ra.wait_online() && rb1.wait_online() && rb2.wait_online());
  auto id = alice.start_call("bob").get().value->callId;
  ASSERT_TRUE(ra.wait([&] {
    for (auto& c : ra.calls)
      if (c.ringingDevices == 2) return true;
    return false;
  }));
  ASSERT_TRUE(bob2.accept(id).get().ok());
  ASSERT_TRUE(ra.wait_state(CallState::connected));
  EXPECT_TRUE(rb2.wait_media(MediaEvent::connected));
  auto other = rb1.wait_state(CallState::connected);  // the phone sees it, without media
  ASSERT_TRUE(other);
  EXPECT_EQ(other->answeredBy.value_or(""), "bob-laptop");
  EXPECT_EQ(rb1.position("media:connected"), -1);
  EXPECT_TRUE(rb1.errors.empty());
}

TEST_F(SdkCallFlow, MuteIsSilenceAndShowsInMetadata) {
  ServerProcess server;
  Recorder ra, rb;
  const std::string rec = dir + "/bob.wav";
  {
    Client alice(config(server, "alice", "", "tone:440"), ra),
        bob(config(server, "bob", "", "silence", rec), rb);
    ASSERT_TRUE(ra.wait_online() && rb.wait_online());
    auto id = alice.start_call("bob").get().value->callId;
    ASSERT_TRUE(bob.accept(id).get().ok());
    ASSERT_TRUE(rb.wait_media(MediaEvent::connected));
    std::this_thread::sleep_for(1500ms);  // tone to record
    std::promise<CallResult> muted;
    alice.set_muted(id, true, [&](CallResult r) { muted.set_value(r); });
    ASSERT_TRUE(muted.get_future().get().ok());
    auto seen = rb.wait([&] {
      for (auto& c : rb.calls)
        if (c.callerMuted) return true;
      return false;
    });
    EXPECT_TRUE(seen);
    std::this_thread::sleep_for(2000ms);  // muted: silence (or nothing, with DTX)
    ASSERT_TRUE(alice.end(id).get().ok());
    ASSERT_TRUE(rb.wait_state(CallState::ended));
  }
  auto pcm = read_wav(rec);
  const size_t win = 4800;  // 100 ms
  size_t windows = pcm.samples.size() / win;
  ASSERT_GT(windows, 12u);
  double loud = 0;
  for (size_t w = 2; w < 10; ++w) loud = std::max(loud, power_at(pcm, 440, w * win, (w + 1) * win));
  // Whatever arrived after the mute (allowing 300 ms for what was in flight) has no tone.
  double tail = power_at(pcm, 440, (windows - 3) * win, windows * win);
  EXPECT_GT(loud, 1000.0);
  EXPECT_LT(tail, loud / 1000) << "loud " << loud << " tail " << tail;
}

}  // namespace
}  // namespace dialtone::test

namespace dialtone::test {
namespace {

// The server dies (kill -9) and comes back on the same port: both clients reconnect by
// themselves, resync, and the call goes on to a normal end.
TEST_F(SdkCallFlow, ClientsReconnectAndResyncAfterTheServerRestarts) {
  ServerProcess server({"--presence-grace-s", "30"});
  Recorder ra, rb;
  auto ca = config(server, "alice"), cb = config(server, "bob");
  ca.reconnectMax = cb.reconnectMax = std::chrono::milliseconds(1000);
  Client alice(ca, ra), bob(cb, rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());
  auto id = alice.start_call("bob").get().value->callId;
  ASSERT_TRUE(bob.accept(id).get().ok());
  ASSERT_TRUE(ra.wait_state(CallState::connected));
  auto before = ra.locked([&] { return ra.calls.back().version; });

  server.kill9();
  ASSERT_TRUE(ra.wait([&] { return ra.connection != ConnectionState::online; }));
  server.start();
  ASSERT_TRUE(ra.wait_online(15s) && rb.wait_online(15s));
  // The media never depended on the server: still up, nothing failed.
  EXPECT_FALSE(ra.wait_state(CallState::failed, 10ms));
  auto ended = alice.end(id).get();
  ASSERT_TRUE(ended.ok()) << ended.message;
  EXPECT_GT(ended.value->version, before);
  auto seen = rb.wait_state(CallState::ended);
  ASSERT_TRUE(seen);
  EXPECT_TRUE(seen->durationSeconds.has_value());
  EXPECT_TRUE(ra.errors.empty() && rb.errors.empty());
}

}  // namespace
}  // namespace dialtone::test
