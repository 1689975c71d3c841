// SPDX-License-Identifier: Apache-2.0
// Tokens that expire while people talk: the SDK renews them in band through its token provider
// (no reconnect, no gap in the audio); without a provider a refused token is a state the app
// sees, and nothing is retried until it gives another token. Real dialtoned with an HS256 issuer
// and tokens of a few seconds.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <thread>

#include "sdk/sdk_support.hpp"
#include "support/audio_analysis.hpp"
#include "support/harness.hpp"
#include "support/temp_dir.hpp"

namespace dialtone::test {
namespace {

const std::string kSecret = "token-test-secret-0123456789abcdef";

// Counts the connection states a client went through. Its own mutex: count() is called from
// wait() predicates, which run under the Recorder's.
class StateRecorder : public Recorder {
 public:
  void on_connection(ConnectionState s) override {
    {
      std::lock_guard lock(statesMu);
      states.push_back(s);
    }
    Recorder::on_connection(s);  // notifies the waiters, after the state is counted
  }
  int count(ConnectionState s) {
    std::lock_guard lock(statesMu);
    return static_cast<int>(std::count(states.begin(), states.end(), s));
  }

 private:
  std::mutex statesMu;
  std::vector<ConnectionState> states;
};

// A provider of fresh `ttl` tokens for `user` that counts its calls.
struct Provider {
  std::string user;
  std::chrono::seconds ttl;
  std::atomic<int> calls{0};
  std::function<std::string()> fn() {
    return [this] {
      ++calls;
      return issuer_token(kSecret, user, ttl);
    };
  }
};

class Tokens : public TempDirTest {
 protected:
  ClientConfig config(int port, const std::string& user) {
    ClientConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(port);
    c.deviceId = user + "-dev";
    c.media.enabled = false;
    c.reconnectMin = 100ms;
    return c;
  }
};

// 8 s tokens renewed in band for a minute of audio: a 100 ms click train from alice, recorded by
// bob, arrives whole; packets arrive in every 500 ms of bob's statistics; neither client ever
// reconnects; the call stays connected.
TEST_F(Tokens, ACallWithAudioRunsAcrossRenewals) {
  ServerProcess server{{"--jwt-hs256-secret", kSecret}};
  Provider pa{"alice", 8s}, pb{"bob", 8s};
  auto ca = config(server.port(), "alice"), cb = config(server.port(), "bob");
  ca.tokenProvider = pa.fn();
  cb.tokenProvider = pb.fn();
  ca.media.enabled = cb.media.enabled = true;
  ca.media.iceLocalAddresses = cb.media.iceLocalAddresses = {"127.0.0.1"};
  ca.media.input = "ticks:100";
  ca.media.output = "none";
  cb.media.input = "silence";
  cb.media.output = dir + "/bob.wav";
  // Polls of 250 ms: the SDK's recovery rebuilds the transport after two polls without a packet,
  // and 200 ms (two 100 ms polls) is a stall two busy cores can cause with no token involved;
  // a real gap still shows in the recorded clicks below.
  cb.media.statsIntervalMs = 250;
  const auto kTalk = 60s;
  StateRecorder ra, rb;
  std::vector<std::uint64_t> received;  // bob's packet count at each statistics poll
  {
    Client alice(ca, ra), bob(cb, rb);
    ASSERT_TRUE(ra.wait_online() && rb.wait_online());
    auto created = alice.start_call("bob").get();
    ASSERT_TRUE(created.ok()) << created.message;
    const std::string id = created.value->callId;
    ASSERT_TRUE(rb.wait_state(CallState::ringing));
    ASSERT_TRUE(bob.accept(id).get().ok());
    ASSERT_TRUE(rb.wait_media(MediaEvent::connected));
    ASSERT_TRUE(ra.wait_media(MediaEvent::connected));
    std::size_t firstReport = rb.locked([&] { return rb.quality.size(); });
    std::this_thread::sleep_for(kTalk);
    rb.locked([&] {
      for (std::size_t i = firstReport; i < rb.quality.size(); ++i)
        received.push_back(rb.quality[i].packetsReceived);
    });
    // Still the same call, connected, and nothing else happened to it.
    for (auto* r : {&ra, &rb})
      r->locked([&] {
        EXPECT_EQ(r->calls.back().state, CallState::connected);
        EXPECT_EQ(std::count(r->media.begin(), r->media.end(), MediaEvent::reconnecting), 0);
        EXPECT_TRUE(r->errors.empty()) << r->errors.front().second;
      });
    ASSERT_TRUE(alice.end(id).get().ok());
    ASSERT_TRUE(rb.wait_state(CallState::ended));
  }
  // Several renewals (one about every 4 s: half of what is left when the lead is longer), and
  // one connection each from start to end.
  EXPECT_GE(pa.calls.load(), 10);
  EXPECT_GE(pb.calls.load(), 10);
  EXPECT_EQ(ra.count(ConnectionState::online), 1);
  EXPECT_EQ(rb.count(ConnectionState::online), 1);
  EXPECT_EQ(ra.count(ConnectionState::offline), 0);
  EXPECT_EQ(rb.count(ConnectionState::offline), 0);
  auto log = server.log();
  EXPECT_EQ(log.find("WS_TOKEN_EXPIRED"), std::string::npos);

  // Packets in every 500 ms of the minute.
  ASSERT_GT(received.size(), 200u);
  for (std::size_t i = 2; i < received.size(); ++i)
    EXPECT_GT(received[i], received[i - 2]) << "no packet between polls " << i - 2 << " and " << i;
  // The clicks, 100 ms apart, all there: no gap over 200 ms in what bob heard.
  auto pcm = read_wav(dir + "/bob.wav");
  EXPECT_GT(pcm.seconds(), 55);
  auto ticks = onsets(pcm, 1000);
  ASSERT_GT(ticks.size(), 500u) << "recorded " << pcm.seconds() << " s";
  double worst = 0;
  for (std::size_t i = 1; i < ticks.size(); ++i) worst = std::max(worst, ticks[i] - ticks[i - 1]);
  EXPECT_LT(worst, 0.3) << "the longest stretch between clicks";
}

// A token the server refuses at connect (expired beyond the leeway) and no provider: the
// application sees `unauthorized` with the server's reason, and the client does not retry until
// it is given another token.
TEST_F(Tokens, WithoutAProviderARefusedTokenIsUnauthorizedAndStops) {
  ServerProcess server{{"--jwt-hs256-secret", kSecret}};
  auto c = config(server.port(), "alice");
  c.token = issuer_token(kSecret, "alice", -120s);
  StateRecorder r;
  Client alice(c, r);
  ASSERT_TRUE(r.wait([&] { return r.connection == ConnectionState::unauthorized; }));
  r.locked([&] {
    ASSERT_EQ(r.errors.size(), 1u);
    EXPECT_EQ(r.errors[0].first, ErrorCode::unauthorized);
    EXPECT_EQ(r.errors[0].second, "token expired");
  });
  std::this_thread::sleep_for(1500ms);  // what must not happen: another attempt
  EXPECT_EQ(r.count(ConnectionState::connecting), 1);
  EXPECT_EQ(r.connection, ConnectionState::unauthorized);
  // Calls fail with the same reason rather than hang.
  auto busy = alice.is_user_busy("bob").get();
  EXPECT_EQ(busy.code, ErrorCode::unauthorized);

  alice.set_token(issuer_token(kSecret, "alice", 1h));
  ASSERT_TRUE(r.wait_online());
  EXPECT_EQ(alice.user_id(), "alice");
}

// A provider whose tokens the server refuses (another issuer's key): asked once after the
// refusal, then `unauthorized`; no loop.
TEST_F(Tokens, AProviderWhoseTokensAreRefusedIsAskedOnce) {
  ServerProcess server{{"--jwt-hs256-secret", kSecret}};
  auto c = config(server.port(), "alice");
  std::atomic<int> calls{0};
  c.tokenProvider = [&] {
    return issuer_token("some-other-secret-0123456789abcdef", "alice", 1h + (++calls) * 1s);
  };
  StateRecorder r;
  Client alice(c, r);
  ASSERT_TRUE(r.wait([&] { return r.connection == ConnectionState::unauthorized; }));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(calls.load(), 2);  // the first token, and once after the refusal
  EXPECT_EQ(r.count(ConnectionState::connecting), 2);
  r.locked([&] {
    ASSERT_FALSE(r.errors.empty());
    EXPECT_EQ(r.errors.back().second, "token signature is not valid for any trusted key");
  });
}

// The provider has nothing when the server warns (the app is offline from its identity
// provider, say): the server closes the expired session (4001), the client comes back at once
// with the provider's next token, within the presence grace, and the call goes on.
TEST_F(Tokens, AnExpiredSessionComesBackAtOnceWithTheNextToken) {
  ServerProcess server{{"--jwt-hs256-secret", kSecret, "--presence-grace-s", "5"}};
  auto ca = config(server.port(), "alice"), cb = config(server.port(), "bob");
  std::atomic<bool> available{false};
  std::atomic<int> calls{0};
  ca.tokenProvider = [&]() -> std::string {
    ++calls;
    return calls == 1 || available ? issuer_token(kSecret, "alice", 6s) : "";
  };
  cb.token = issuer_token(kSecret, "bob", 1h);
  StateRecorder ra, rb;
  Client alice(ca, ra), bob(cb, rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());
  auto created = alice.start_call("bob").get();
  ASSERT_TRUE(created.ok()) << created.message;
  const std::string id = created.value->callId;
  ASSERT_TRUE(bob.accept(id).get().ok());
  ASSERT_TRUE(rb.wait_state(CallState::accepted));
  ASSERT_TRUE(ra.wait([&] { return calls >= 2; }));  // the warning came; nothing to renew with
  available = true;
  ASSERT_TRUE(ra.wait([&] { return ra.count(ConnectionState::offline) == 1; }, 10s));
  ASSERT_TRUE(ra.wait([&] { return ra.count(ConnectionState::online) == 2; }, 5s));
  EXPECT_NE(server.log().find("WS_TOKEN_EXPIRED user=alice"), std::string::npos);
  std::this_thread::sleep_for(6s);  // longer than the grace: the call would have ended
  rb.locked(
      [&] { EXPECT_TRUE(is_active(rb.calls.back().state)) << state_name(rb.calls.back().state); });
  auto busy = alice.is_user_busy("bob").get();
  ASSERT_TRUE(busy.ok()) << busy.message;
  EXPECT_TRUE(*busy.value);
  EXPECT_EQ(ra.count(ConnectionState::unauthorized), 0);
}

}  // namespace
}  // namespace dialtone::test
