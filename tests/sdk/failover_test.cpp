// SPDX-License-Identifier: Apache-2.0
// The SDK given a cluster's nodes: when the node it talks to dies, it moves to another; the call
// keeps its media (peer to peer) and its state, and hangs up cleanly afterwards.
#include <gtest/gtest.h>

#include "core/time.hpp"
#include "sdk/sdk_support.hpp"
#include "support/harness.hpp"
#include "support/nats.hpp"
#include "support/postgres.hpp"

namespace dialtone::test {
namespace {

const std::string kSecret = "failover-test-secret-failover-test-secret";

std::string token(const std::string& user) {
  return issuer_token(kSecret, user);
}

TEST(SdkFailover, TheNodeDiesMidCallTheClientsMoveTheCallGoesOn) {
  NatsServer nats;
  std::string db = PostgresServer::shared().new_database();
  std::vector<std::string> flags{"--store", db, "--bus", nats.url(), "--jwt-hs256-secret", kSecret};
  ServerProcess n0(flags), n1(flags);
  std::string servers = "http://127.0.0.1:" + std::to_string(n0.port()) +
                        ",http://127.0.0.1:" + std::to_string(n1.port());
  auto config = [&](const std::string& user) {
    ClientConfig c;
    c.server = servers;
    c.token = token(user);
    c.deviceId = user + "-dev";
    c.media.input = "tone:440";
    c.media.output = "none";
    c.media.iceLocalAddresses = {"127.0.0.1"};
    return c;
  };
  Recorder ra, rb;
  Client alice(config("alice"), ra), bob(config("bob"), rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());
  auto created = alice.start_call("bob").get();
  ASSERT_TRUE(created.ok()) << created.message;
  const std::string id = created.value->callId;
  ASSERT_TRUE(rb.wait_state(CallState::calling));
  ASSERT_TRUE(bob.accept(id).get().ok());
  ASSERT_TRUE(ra.wait_media(MediaEvent::connected) && rb.wait_media(MediaEvent::connected));
  ASSERT_TRUE(ra.wait_state(CallState::connected));

  n0.kill9();  // both clients are on the first node
  ASSERT_TRUE(ra.wait([&] { return ra.connection != ConnectionState::online; }, 5s));
  ASSERT_TRUE(ra.wait_online(10s) && rb.wait_online(10s)) << "moved to the other node";
  auto packets = [](Recorder& r) {
    return r.locked([&] { return r.quality.empty() ? 0 : r.quality.back().packetsReceived; });
  };
  std::uint64_t before = packets(rb);
  // Longer than the dead node's detection: presence moved with the clients, nothing ends.
  std::this_thread::sleep_for(6s);
  EXPECT_GT(packets(rb), before + 100) << "audio kept flowing, peer to peer";
  auto doc = http(n1.port(), "GET", "/v1/calls/" + id, "", token("alice"));
  EXPECT_EQ(doc.body.at("state"), "connected");
  ra.locked([&] {
    for (auto& c : ra.calls) EXPECT_FALSE(is_terminal(c.state)) << state_name(c.state);
    EXPECT_EQ(std::count(ra.media.begin(), ra.media.end(), MediaEvent::reconnecting), 0);
    return 0;
  });

  ASSERT_TRUE(bob.end(id).get().ok()) << "hang-up through the new node";
  auto ended = ra.wait_state(CallState::ended);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->reason.value_or(""), "ended_by_user");
  EXPECT_TRUE(ra.errors.empty()) << ra.errors.front().second;
}

TEST(SdkFailover, AMalformedServerListIsRefusedUpFront) {
  ClientConfig c;
  c.server = "http://127.0.0.1:1,ftp://x";
  Recorder r;
  EXPECT_THROW(Client(c, r), std::invalid_argument);
}

}  // namespace
}  // namespace dialtone::test
