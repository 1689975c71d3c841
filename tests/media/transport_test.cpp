// SPDX-License-Identifier: Apache-2.0
// Two webrtcbin transports in one process, wired to each other directly (no server): audio
// flows both ways, each side records the other's tone, and mute is silence.
#include <gtest/gtest.h>

#include <boost/asio.hpp>

#include <filesystem>
#include <future>

#include "media/audio_out.hpp"
#include "media/transport.hpp"
#include "support/audio_analysis.hpp"
#include "support/loop.hpp"

namespace dialtone::media {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

struct Side {
  std::unique_ptr<Transport> transport;
  std::shared_ptr<AudioOut> out;
  std::promise<void> firstAudio, connected;
  bool gotFirst = false, gotConnected = false;
  std::vector<std::string> errors;
};

class TransportPair : public ::testing::Test {
 protected:
  std::string dir =
      (std::filesystem::temp_directory_path() / ("dt-media-" + std::to_string(::getpid())))
          .string();
  test::Loop loop;
  Side a, b;

  void SetUp() override { std::filesystem::create_directories(dir); }
  void TearDown() override { std::filesystem::remove_all(dir); }

  void start(const std::string& inA, const std::string& inB) {
    loop.run([&] {
      auto make = [&](Side& self, Side& peer, Role role, const std::string& in,
                      const std::string& rec) {
        self.out = std::make_shared<AudioOut>(dir + "/" + rec);
        TransportOptions o;
        o.role = role;
        o.input = in;
        o.localAddresses = {"127.0.0.1"};
        Transport::Callbacks cb;
        cb.signal = [&peer](boost::json::object d) {
          if (peer.transport) peer.transport->on_remote(d);
        };
        cb.event = [&self](TransportEvent e) {
          if (e == TransportEvent::first_audio && !self.gotFirst)
            self.gotFirst = true, self.firstAudio.set_value();
          if (e == TransportEvent::dtls_connected && !self.gotConnected)
            self.gotConnected = true, self.connected.set_value();
        };
        cb.error = [&self](ErrorCode, std::string m) { self.errors.push_back(m); };
        self.transport = make_webrtc_transport(o, self.out, loop.post(), cb);
      };
      make(a, b, Role::offerer, inA, "a.wav");
      make(b, a, Role::answerer, inB, "b.wav");
      b.transport->start();
      a.transport->start();
    });
  }
  void stop() {
    loop.run([&] {
      a.transport.reset();
      b.transport.reset();
    });
    a.out->close();
    b.out->close();
  }
};

TEST_F(TransportPair, ToneFlowsBothWays) {
  start("tone:440", "tone:880");
  ASSERT_EQ(a.firstAudio.get_future().wait_for(10s), std::future_status::ready);
  ASSERT_EQ(b.firstAudio.get_future().wait_for(10s), std::future_status::ready);
  EXPECT_EQ(a.connected.get_future().wait_for(1s), std::future_status::ready);
  std::this_thread::sleep_for(1500ms);  // audio to analyse, not a wait for an event
  stop();
  auto recA = test::read_wav(dir + "/a.wav"), recB = test::read_wav(dir + "/b.wav");
  EXPECT_GT(recA.seconds(), 1.0);
  EXPECT_GT(recB.seconds(), 1.0);
  EXPECT_NEAR(test::dominant_frequency(recA), 880, 10);  // a hears b
  EXPECT_NEAR(test::dominant_frequency(recB), 440, 10);
  EXPECT_TRUE(a.errors.empty() && b.errors.empty());
}

}  // namespace
}  // namespace dialtone::media
