// SPDX-License-Identifier: Apache-2.0
// Two SDK clients through a real dialtoned on loopback, with real audio: each records the
// other's tone. Then the same relayed through a real coturn only; then mute.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>

#include "sdk/sdk_support.hpp"
#include "support/audio_analysis.hpp"
#include "support/coturn.hpp"
#include "support/harness.hpp"
#include "support/temp_dir.hpp"

namespace dialtone::test {
namespace {

class ClientMedia : public TempDirTest {
 protected:
  ClientConfig config(int port, const std::string& user, const std::string& input,
                      const std::string& output) {
    ClientConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(port);
    c.token = dev_token(port, user);
    c.deviceId = user + "-dev";
    c.media.input = input;
    c.media.output = dir + "/" + output;
    c.media.iceLocalAddresses = {"127.0.0.1"};
    return c;
  }

  // alice calls bob, bob accepts; both sides connect; audio for `seconds`; alice hangs up.
  void talk(ServerProcess& server, bool relayOnly, double seconds,
            const std::function<void(Client&, Client&, const std::string&)>& during = {}) {
    Recorder ra, rb;
    {
      auto ca = config(server.port(), "alice", "tone:440", "alice.wav");
      auto cb = config(server.port(), "bob", "tone:880", "bob.wav");
      ca.media.relayOnly = cb.media.relayOnly = relayOnly;
      Client alice(ca, ra), bob(cb, rb);
      ASSERT_TRUE(ra.wait_online());
      ASSERT_TRUE(rb.wait_online());
      auto created = alice.start_call("bob").get();
      ASSERT_TRUE(created.ok()) << created.message;
      EXPECT_EQ(created.value->state, CallState::calling);
      const std::string id = created.value->callId;
      ASSERT_TRUE(rb.wait_state(CallState::ringing));
      auto accepted = bob.accept(id).get();
      ASSERT_TRUE(accepted.ok()) << accepted.message;
      auto connected = ra.wait_state(CallState::connected);
      ASSERT_TRUE(connected) << "alice never saw connected";
      ASSERT_TRUE(rb.wait_state(CallState::connected));
      EXPECT_TRUE(connected->callerReady && connected->receiverReady);
      ASSERT_TRUE(ra.wait_media(MediaEvent::connected));
      ASSERT_TRUE(rb.wait_media(MediaEvent::connected));
      // The path is reported as soon as media is up, not at the next statistics poll.
      EXPECT_TRUE(ra.wait([&] { return !ra.paths.empty(); }, 1s));
      EXPECT_TRUE(rb.wait([&] { return !rb.paths.empty(); }, 1s));
      if (during) during(alice, bob, id);
      std::this_thread::sleep_for(std::chrono::milliseconds(int(seconds * 1000)));
      auto ended = alice.end(id).get();
      ASSERT_TRUE(ended.ok());
      auto seen = rb.wait_state(CallState::ended);
      ASSERT_TRUE(seen);
      EXPECT_EQ(seen->reason.value_or(""), "ended_by_user");
      EXPECT_TRUE(ra.errors.empty()) << ra.errors.front().second;
      EXPECT_TRUE(rb.errors.empty()) << rb.errors.front().second;
      pathA = ra.locked([&] { return ra.paths; });
      pathB = rb.locked([&] { return rb.paths; });
      // Both SDKs reported their media (sent together when the call's media closed): the
      // timeline has each side's path, first audio and quality.
      auto until = std::chrono::steady_clock::now() + 5s;
      do {
        auto t = http(server.port(), "GET", "/v1/calls/" + id + "/timeline", "", ca.token);
        ASSERT_EQ(t.status, 200) << t.raw;
        summary = t.body.at("summary").as_object();
        if (summary.at("caller").at("firstAudioMs").is_int64() &&
            summary.at("receiver").at("firstAudioMs").is_int64() &&
            !summary.at("caller").at("path").is_null() &&
            !summary.at("receiver").at("path").is_null())
          break;
        std::this_thread::sleep_for(50ms);
      } while (std::chrono::steady_clock::now() < until);
    }
  }
  std::vector<MediaPath> pathA, pathB;  // the paths each side reported in the last talk()
  json::object summary;                 // the last talk()'s call summary

  // Each side's reported path in the summary, as "local remote protocol".
  std::string reported_path(const char* side) {
    const auto& p = summary.at(side).at("path");
    if (p.is_null()) return "none: " + json::serialize(summary);
    return std::string(p.at("local").as_string()) + " " + std::string(p.at("remote").as_string()) +
           " " + std::string(p.at("protocol").as_string());
  }

  // Each recorded the other's tone.
  void expect_tones_crossed() {
    auto a = read_wav(dir + "/alice.wav"), b = read_wav(dir + "/bob.wav");
    EXPECT_NEAR(dominant_frequency(a), 880, 10);  // alice hears bob
    EXPECT_NEAR(dominant_frequency(b), 440, 10);
  }
};

std::string text(const std::vector<MediaPath>& paths) {
  std::string s;
  for (auto& p : paths) s += p.local + " " + p.remote + " " + p.protocol + "; ";
  return s;
}

TEST_F(ClientMedia, TonesCrossOnLoopback) {
  ServerProcess server;
  talk(server, false, 1.5);
  EXPECT_EQ(text(pathA), "host host udp; ");
  EXPECT_EQ(text(pathB), "host host udp; ");
  EXPECT_EQ(reported_path("caller"), "host host udp");
  EXPECT_EQ(reported_path("receiver"), "host host udp");
  EXPECT_EQ(summary.at("state"), "ended");
  EXPECT_TRUE(summary.at("likelyCause").is_null()) << json::serialize(summary);
  for (const char* side : {"caller", "receiver"}) {
    const auto& s = summary.at(side).as_object();
    EXPECT_LT(s.at("firstAudioMs").as_int64(), 3000) << side;
    EXPECT_TRUE(s.at("firstAudioSentMs").is_int64()) << side;
    EXPECT_TRUE(s.at("recoveries").as_array().empty()) << json::serialize(s);
  }
  auto a = read_wav(dir + "/alice.wav"), b = read_wav(dir + "/bob.wav");
  EXPECT_GT(a.seconds(), 1.0);
  EXPECT_GT(b.seconds(), 1.0);
  EXPECT_NEAR(dominant_frequency(a), 880, 10);  // alice hears bob
  EXPECT_NEAR(dominant_frequency(b), 440, 10);
}

TEST_F(ClientMedia, TonesCrossThroughCoturnRelayOnly) {
  const std::string secret = "relay-test-secret";
  CoturnProcess turn(secret);
  ServerProcess server({"--turn-urls", turn.url(), "--turn-secret", secret});
  talk(server, true, 1.5);
  // Each side's own candidate is its relay; the other side's is the other relay.
  EXPECT_EQ(text(pathA), "relay relay udp; ");
  EXPECT_EQ(text(pathB), "relay relay udp; ");
  expect_tones_crossed();
  // The media went through the relay: both users allocated with dialtoned's credentials and
  // bound channels to their peer. (The clients are gone: their relays were released.)
  auto log = turn.log();
  for (const char* user : {"alice", "bob"}) {
    std::string who = std::string(":") + user + ">: incoming packet ";
    EXPECT_NE(log.find(who + "ALLOCATE processed, success"), std::string::npos) << user;
    EXPECT_NE(log.find(who + "CHANNEL_BIND processed, success"), std::string::npos) << user;
    // At the end of the call the relay was released, not left to expire.
    EXPECT_NE(log.find(std::string(":") + user + ">, lifetime=0"), std::string::npos) << user;
  }
}

// TURN over TCP (UDP blocked somewhere on the way): the path says so.
TEST_F(ClientMedia, TonesCrossThroughCoturnOverTcp) {
  const std::string secret = "relay-test-secret";
  CoturnProcess turn(secret);
  std::string url = turn.url();
  url.replace(url.find("transport=udp"), 13, "transport=tcp");
  ServerProcess server({"--turn-urls", url, "--turn-secret", secret});
  talk(server, true, 1.5);
  EXPECT_EQ(text(pathA), "relay relay tcp; ");
  EXPECT_EQ(text(pathB), "relay relay tcp; ");
  EXPECT_EQ(reported_path("caller"), "relay relay tcp");
  EXPECT_EQ(reported_path("receiver"), "relay relay tcp");
  expect_tones_crossed();
}

}  // namespace
}  // namespace dialtone::test

namespace dialtone::test {
namespace {

TEST_F(ClientMedia, WavFileInAndTheOutputSwitchedMidCall) {
  ServerProcess server;
  std::vector<std::int16_t> tone(48000 * 5);
  for (size_t i = 0; i < tone.size(); ++i)
    tone[i] = static_cast<std::int16_t>(8000 * std::sin(2 * M_PI * 660 * double(i) / 48000));
  write_wav(dir + "/in.wav", 48000, tone);
  Recorder ra, rb;
  {
    Client alice(config(server.port(), "alice", "file:" + dir + "/in.wav", "alice.wav"), ra),
        bob(config(server.port(), "bob", "silence", "first.wav"), rb);
    ASSERT_TRUE(ra.wait_online() && rb.wait_online());
    auto id = alice.start_call("bob").get().value->callId;
    ASSERT_TRUE(bob.accept(id).get().ok());
    ASSERT_TRUE(rb.wait_media(MediaEvent::connected));
    std::this_thread::sleep_for(1s);
    bob.set_output(dir + "/second.wav");  // e.g. from the speaker to a headset
    std::this_thread::sleep_for(1s);
    ASSERT_TRUE(alice.end(id).get().ok());
    ASSERT_TRUE(rb.wait_state(CallState::ended));
    EXPECT_TRUE(rb.errors.empty());
  }
  auto first = read_wav(dir + "/first.wav"), second = read_wav(dir + "/second.wav");
  EXPECT_GT(first.seconds(), 0.5);
  EXPECT_GT(second.seconds(), 0.5);
  EXPECT_NEAR(dominant_frequency(first), 660, 10);
  EXPECT_NEAR(dominant_frequency(second), 660, 10);
}

TEST_F(ClientMedia, NoMicrophoneIsAClearErrorAndACleanFail) {
  ServerProcess server;
  Recorder ra, rb;
  Client alice(config(server.port(), "alice", "tone:440", "alice.wav"), ra),
      bob(config(server.port(), "bob", "device:dialtone-test-no-such-microphone", "bob.wav"), rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());
  auto id = alice.start_call("bob").get().value->callId;
  ASSERT_TRUE(rb.wait_state(CallState::ringing));
  ASSERT_TRUE(bob.accept(id).get().ok());
  // Bob's microphone cannot open: his app is told why, and the call fails for both.
  ASSERT_TRUE(rb.wait([&] { return !rb.errors.empty(); }));
  EXPECT_EQ(rb.locked([&] { return rb.errors.front().first; }), ErrorCode::media_device);
  auto failed = ra.wait_state(CallState::failed);
  ASSERT_TRUE(failed);
  EXPECT_EQ(failed->reason.value_or(""), "media_device");
  EXPECT_TRUE(ra.errors.empty());
  // The timeline says whose device it was; the summary says it in words.
  auto t = http(server.port(), "GET", "/v1/calls/" + id + "/timeline", "",
                dev_token(server.port(), "alice"));
  ASSERT_EQ(t.status, 200) << t.raw;
  bool reported = false;
  for (const auto& e : t.body.at("timeline").as_array())
    if (e.at("type") == "device_changed") {
      reported = true;
      EXPECT_EQ(e.at("side"), "receiver");
      EXPECT_EQ(e.at("kind"), "microphone");
      EXPECT_EQ(e.at("change"), "failed");
    }
  EXPECT_TRUE(reported) << t.raw;
  EXPECT_EQ(t.body.at("summary").at("likelyCause"), "Bob's microphone could not be opened")
      << json::serialize(t.body.at("summary"));
}

}  // namespace
}  // namespace dialtone::test
