// SPDX-License-Identifier: Apache-2.0
// Deadlines that survive a crash, presence loss, media timeout, shutdown, and config errors.
#include <gtest/gtest.h>

#include <fstream>

#include "support/harness.hpp"

namespace dialtone::test {
namespace {

TEST(Resilience, Kill9WithARingingCallThenRestartTheDeadlineStillFires) {
  // 8 s: a restart of three nodes under AddressSanitizer took more than 3 s, and the deadline
  // had fired (correctly) before the test could see the call still ringing.
  ServerProcess server({"--ring-timeout-s", "8", "--presence-grace-s", "60"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  std::string id;
  {
    WsClient a(server.port(), alice), b(server.port(), bob);
    auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
    id = call_id(r);
    b.wait_call(id, "calling");
    ASSERT_EQ(b.request(op("ringing", id)).at("ok"), true);  // acknowledged → durable
    server.kill9();
  }
  server.start();  // same data dir, same port
  auto got = http(server.port(), "GET", "/v1/calls/" + id, "", alice);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body.at("state"), "ringing");
  EXPECT_EQ(got.body.at("ringingDevices"), 1);
  WsClient a(server.port(), alice);
  a.wait_call(id, "ringing", 2s);  // resync after reconnect
  auto t = a.wait_call(id, "timeout", 12s);
  EXPECT_EQ(t.at("reason"), "timeout");
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/bob/busy", "", alice).body.at("busy"), false);
}

TEST(Resilience, Kill9LosesNoAcknowledgedTransition) {
  ServerProcess server({"--presence-grace-s", "60"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  std::vector<std::pair<std::string, std::string>> acked;  // callId, state
  {
    WsClient a(server.port(), alice), b(server.port(), bob);
    for (int i = 0; i < 20; ++i) {
      auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
      std::string id = call_id(r);
      b.request(op("accept", id));
      a.request(op("ready", id));
      b.request(op("ready", id));
      auto e = a.request(op("end", id));
      acked.emplace_back(id, state_of(e));
    }
    auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
    acked.emplace_back(call_id(r), state_of(r));
    server.kill9();
  }
  server.start();
  for (auto& [id, state] : acked)
    EXPECT_EQ(http(server.port(), "GET", "/v1/calls/" + id, "", alice).body.at("state"),
              state.c_str());
}

TEST(Resilience, PresenceLossEndsTheCallWithNetwork) {
  ServerProcess server({"--presence-grace-s", "1"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  WsClient a(server.port(), alice);
  std::string id;
  {
    WsClient b(server.port(), bob);
    id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
    b.request(op("accept", id));
    a.request(op("ready", id));
    b.request(op("ready", id));
    a.wait_call(id, "connected");
    b.abort();  // bob's only WebSocket vanishes
  }
  auto e = a.wait_call(id, "ended", 5s);
  EXPECT_EQ(e.at("reason"), "network");
  EXPECT_TRUE(e.at("durationSeconds").is_int64());
}

TEST(Resilience, ReconnectWithinTheGraceKeepsTheCall) {
  ServerProcess server({"--presence-grace-s", "2"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  WsClient a(server.port(), alice);
  std::string id;
  {
    WsClient b(server.port(), bob, "bob-phone");
    id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
    b.request(op("accept", id));
    b.abort();
  }
  WsClient b2(server.port(), bob, "bob-phone");
  b2.wait_call(id, "accepted", 2s);
  EXPECT_FALSE(a.next(
      [&](const json::object& o) {
        return o.at("type") == "call" && o.at("call").at("state") == "ended";
      },
      3s));
}

TEST(Resilience, CallerWithoutAWebSocketLosesTheCall) {
  ServerProcess server({"--presence-grace-s", "1", "--ring-timeout-s", "30"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  WsClient b(server.port(), bob);
  auto c = http(server.port(), "POST", "/v1/calls", R"({"receiverId":"bob"})", alice);
  std::string id(c.body.at("callId").as_string());
  auto e = b.wait_call(id, "ended", 5s);
  EXPECT_EQ(e.at("reason"), "network");
}

TEST(Resilience, MediaTimeoutFailsTheCall) {
  ServerProcess server({"--media-timeout-s", "1"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b.request(op("accept", id));
  b.request(op("ready", id));  // only one side gets its media up
  auto f = a.wait_call(id, "failed", 5s);
  EXPECT_EQ(f.at("reason"), "media_timeout");
  b.wait_call(id, "failed");
}

TEST(Resilience, ASessionThatMissesTwoPongsIsClosed) {
  ServerProcess server({"--ping-interval-s", "1"});
  std::string alice = dev_token(server.port(), "alice");
  // A client that completes the handshake and then never answers a ping (nor reads): raw TCP.
  std::string handshake = "GET /v1/ws?access_token=" + alice +
                          " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                          "Sec-WebSocket-Version: 13\r\n\r\n";
  auto start = std::chrono::steady_clock::now();
  std::string bytes = raw_http_keep_open(server.port(), handshake, 10s);
  auto took = std::chrono::steady_clock::now() - start;
  EXPECT_NE(bytes.find("101 Switching Protocols"), std::string::npos);
  EXPECT_GE(took, 2s);  // two pings went unanswered first
  EXPECT_LT(took, 8s);
  EXPECT_NE(server.log().find("WS_PONG_TIMEOUT user=alice"), std::string::npos);
}

TEST(Resilience, SigtermClosesSessionsWithGoingAway) {
  ServerProcess server;
  std::string alice = dev_token(server.port(), "alice");
  WsClient a(server.port(), alice);
  EXPECT_EQ(server.terminate(), 0);
  ASSERT_TRUE(a.wait_closed(5s));
  EXPECT_EQ(a.close_code(), 1001);
}

TEST(Resilience, BadConfigExitsTwoNamingTheKey) {
  auto [code, err] = run_dialtoned({"--ring-timeout-s", "-5"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("ring_timeout_s"), std::string::npos) << err;
  EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << err;
  auto [code2, err2] = run_dialtoned({"--listen", "localhost"});
  EXPECT_EQ(code2, 2);
  EXPECT_NE(err2.find("listen"), std::string::npos);
}

TEST(Resilience, MetricsAreExposed) {
  ServerProcess server;
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  WsClient a(server.port(), alice);
  auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
  a.request(op("end", call_id(r)));
  auto m = http(server.port(), "GET", "/metrics");
  EXPECT_EQ(m.status, 200);
  m.raw = server.metrics();  // (every node's: with several nodes, the counts are per node)
  for (const char* name :
       {"dialtone_active_calls 0", "dialtone_websocket_sessions 1",
        "dialtone_calls_terminal_total{state=\"ended\",reason=\"cancelled\"} 1",
        "dialtone_transition_latency_seconds_bucket", "dialtone_store_commit_seconds_count"})
    EXPECT_NE(m.raw.find(name), std::string::npos) << name << "\n" << m.raw;
  EXPECT_EQ(http(server.port(), "GET", "/healthz").status, 200);
  EXPECT_EQ(http(server.port(), "GET", "/readyz").status, 200);
}

}  // namespace
}  // namespace dialtone::test
