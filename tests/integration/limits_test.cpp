// SPDX-License-Identifier: Apache-2.0
// Abuse limits: each one hit and answered with rate_limited (429) and Retry-After, nothing
// changed by a refused request, the others served meanwhile; slow and silent connections
// closed; every string bounded.
#include <gtest/gtest.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <thread>

#include "support/harness.hpp"

namespace dialtone::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

int retry_after(const HttpResult& r) {
  std::string h = r.header("Retry-After");
  return h.empty() ? -1 : std::stoi(h);
}

// A TCP connection that says nothing (or what it is told to), and whether the server closed it.
struct RawConn {
  asio::io_context ioc;
  tcp::socket s{ioc};
  explicit RawConn(int port) {
    s.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  }
  void send(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(s, asio::buffer(bytes), ec);
  }
  // Everything until the server closes (or `limit` passes: then `closed` stays false).
  std::string read_until_closed(std::chrono::milliseconds limit, bool& closed) {
    std::string out;
    closed = false;
    auto deadline = std::chrono::steady_clock::now() + limit;
    char buf[4096];
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{s.native_handle(), POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      boost::system::error_code ec;
      size_t n = s.read_some(asio::buffer(buf), ec);
      if (ec) {
        closed = true;
        break;
      }
      out.append(buf, n);
    }
    return out;
  }
};

TEST(Limits, CallAttemptsPerCallerPerMinute) {
  ServerProcess server({"--limit-calls-per-min", "3"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  std::string carol = dev_token(server.port(), "carol"), dave = dev_token(server.port(), "dave");
  WsClient a(server.port(), alice), b(server.port(), bob);
  for (int i = 0; i < 3; ++i) {
    auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
    ASSERT_EQ(r.at("ok"), true) << json::serialize(r);
    a.request(op("end", call_id(r)));
  }
  // The fourth over the WebSocket, the fifth over HTTP: refused, with when to try again.
  auto ws = a.request({{"op", "create"}, {"receiverId", "bob"}});
  EXPECT_EQ(ws.at("ok"), false);
  EXPECT_EQ(ws.at("error").at("code"), "rate_limited");
  EXPECT_GE(ws.at("error").at("retryAfterSeconds").as_int64(), 1);
  EXPECT_LE(ws.at("error").at("retryAfterSeconds").as_int64(), 20);
  auto h = http(server.port(), "POST", "/v1/calls", R"({"receiverId":"bob"})", alice);
  EXPECT_EQ(h.status, 429);
  EXPECT_EQ(h.body.at("error").at("code"), "rate_limited");
  EXPECT_GE(retry_after(h), 1);
  // Nothing rang: bob's history holds the three calls only.
  auto hist = http(server.port(), "GET", "/v1/calls", "", bob);
  EXPECT_EQ(hist.body.at("calls").as_array().size(), 3u);
  // Others call meanwhile.
  EXPECT_EQ(http(server.port(), "POST", "/v1/calls", R"({"receiverId":"dave"})", carol).status,
            201);
  EXPECT_NE(server.metrics().find("dialtone_rate_limited_total{limit=\"calls\"} 2"),
            std::string::npos);
}

TEST(Limits, RequestsPerUserWithRetryAfterThenServedAgain) {
  ServerProcess server({"--limit-requests-per-s", "5"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  int ok = 0, limited = 0, retry = -1;
  for (int i = 0; i < 30; ++i) {
    auto r = http(server.port(), "GET", "/v1/users/bob/busy", "", alice);
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      retry = retry_after(r);
      EXPECT_EQ(r.body.at("error").at("code"), "rate_limited");
    }
  }
  EXPECT_GE(ok, 10);  // the burst
  EXPECT_GT(limited, 0);
  EXPECT_EQ(retry, 1);
  // Bob is served all along; alice again after the Retry-After.
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/alice/busy", "", bob).status, 200);
  std::this_thread::sleep_for(std::chrono::seconds(retry));
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/bob/busy", "", alice).status, 200);
  // Development tokens are limited per address.
  int devLimited = 0;
  for (int i = 0; i < 30; ++i)
    devLimited += http(server.port(), "POST", "/v1/dev/token", R"({"userId":"x"})").status == 429;
  EXPECT_GT(devLimited, 0);
}

TEST(Limits, WebSocketMessagesPerSessionAndTheSessionLives) {
  ServerProcess server({"--limit-messages-per-s", "5"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  WsClient a(server.port(), alice), b(server.port(), bob);
  for (int i = 0; i < 40; ++i)
    a.send_raw(R"({"id":)" + std::to_string(1000 + i) + R"(,"op":"end","callId":"nope"})");
  int limited = 0, answered = 0;
  for (int i = 0; i < 40; ++i) {
    auto r = a.next(
        [&](const json::object& m) { return m.at("type") == "reply" && m.at("id") == 1000 + i; });
    ASSERT_TRUE(r) << "every message is answered";
    ++answered;
    if (r->at("error").at("code") == "rate_limited") {
      ++limited;
      EXPECT_GE(r->at("error").at("retryAfterSeconds").as_int64(), 1);
    }
  }
  EXPECT_EQ(answered, 40);
  EXPECT_GE(limited, 25);
  EXPECT_LE(limited, 30);  // the burst of 10 went through
  // Bob meanwhile, and alice's session afterwards.
  EXPECT_EQ(b.request({{"op", "create"}, {"receiverId", "alice"}}).at("ok"), true);
  std::this_thread::sleep_for(1s);
  auto later = a.request(op("end", "nope"));
  EXPECT_EQ(later.at("error").at("code"), "not_found");
  EXPECT_FALSE(a.wait_closed(0ms));
}

TEST(Limits, SessionsPerUser) {
  ServerProcess server({"--limit-sessions-per-user", "2"});
  std::string alice = dev_token(server.port(), "alice");
  auto one = std::make_unique<WsClient>(server.port(), alice);
  WsClient two(server.port(), alice);
  std::string upgrade =
      "GET /v1/ws?access_token=" + alice +
      " HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  std::string refused = raw_http(server.port(), upgrade);
  EXPECT_NE(refused.find("429"), std::string::npos) << refused;
  EXPECT_NE(refused.find("Retry-After:"), std::string::npos) << refused;
  EXPECT_NE(refused.find("rate_limited"), std::string::npos) << refused;
  one.reset();
  // Once one is gone (the server has seen it close), a new one is let in.
  auto deadline = std::chrono::steady_clock::now() + 5s;
  std::string answer;
  while (std::chrono::steady_clock::now() < deadline) {
    answer = raw_http(server.port(), upgrade);
    if (answer.find("101") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_NE(answer.find("101 Switching Protocols"), std::string::npos) << answer;
}

TEST(Limits, ConnectionsPerAddress) {
  ServerProcess server({"--limit-connections-per-ip", "3", "--handshake-timeout-s", "30"});
  std::vector<std::unique_ptr<RawConn>> held;
  for (int i = 0; i < 3; ++i) held.push_back(std::make_unique<RawConn>(server.port()));
  std::this_thread::sleep_for(100ms);  // accepted
  RawConn extra(server.port());
  bool closed = false;
  std::string answer = extra.read_until_closed(3s, closed);
  EXPECT_TRUE(closed);
  EXPECT_NE(answer.find("HTTP/1.1 429"), std::string::npos) << answer;
  EXPECT_NE(answer.find("Retry-After: 10"), std::string::npos) << answer;
  held.pop_back();
  auto deadline = std::chrono::steady_clock::now() + 5s;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline && status != 200) {
    status = http(server.port(), "GET", "/healthz").status;
    if (status != 200) std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200);
}

TEST(Limits, SlowAndSilentConnectionsAreClosed) {
  ServerProcess server({"--handshake-timeout-s", "1", "--idle-timeout-s", "1"});
  auto start = std::chrono::steady_clock::now();
  // Silent: never sends a byte.
  RawConn silent(server.port());
  bool closed = false;
  silent.read_until_closed(5s, closed);
  EXPECT_TRUE(closed);
  // Slow: a header byte every 100 ms, never finishing the request.
  RawConn slow(server.port());
  std::string head = "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Padding: ";
  auto slowStart = std::chrono::steady_clock::now();
  closed = false;
  for (int i = 0; i < 40 && !closed; ++i) {
    slow.send(i < static_cast<int>(head.size()) ? head.substr(i, 1) : "a");
    slow.read_until_closed(100ms, closed);
  }
  EXPECT_TRUE(closed) << "4 s of trickling bytes";
  EXPECT_LT(std::chrono::steady_clock::now() - slowStart, 2500ms);
  // Kept alive after a request, then idle.
  RawConn idle(server.port());
  idle.send("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  std::string answer = idle.read_until_closed(5s, closed);
  EXPECT_NE(answer.find("200 OK"), std::string::npos);
  EXPECT_TRUE(closed);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
}

TEST(Limits, EveryStringIsBounded) {
  ServerProcess server({"--photo-hosts", "example.org"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  auto dev = [&](json::object body) {
    return http(server.port(), "POST", "/v1/dev/token", json::serialize(body)).status;
  };
  EXPECT_EQ(dev({{"userId", std::string(129, 'u')}}), 400);
  EXPECT_EQ(dev({{"userId", "eve"}, {"name", std::string(257, 'n')}}), 400);
  EXPECT_EQ(dev({{"userId", "eve"}, {"photo", "https://x/" + std::string(2048, 'p')}}), 400);
  EXPECT_EQ(dev({{"userId", "eve"}, {"photo", "javascript:alert(1)"}}), 400);
  EXPECT_EQ(dev({{"userId", "eve"}, {"photo", "http://example.org/a.png"}}), 400);
  EXPECT_EQ(dev({{"userId", "eve"}, {"photo", "https://example.org/a.png"}}), 200);
  EXPECT_EQ(dev({{"userId", "eve"}, {"photo", "https://tracker.example/a.png"}}), 400);
  EXPECT_EQ(dev({{"userId", "eve2"}, {"photo", "http://127.0.0.1:8080/a.png"}}), 200);

  WsClient a(server.port(), alice), b(server.port(), bob);
  auto err = [](const json::object& r) {
    return std::string(r.at("error").at("code").as_string());
  };
  EXPECT_EQ(err(a.request({{"op", "create"}, {"receiverId", std::string(129, 'r')}})),
            "bad_request");
  EXPECT_EQ(err(a.request(op("end", std::string(129, 'c')))), "bad_request");
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  EXPECT_EQ(err(b.request(op("reject", id, {{"reason", std::string(257, 'r')}}))), "bad_request");
  EXPECT_EQ(http(server.port(), "POST", "/v1/calls/" + id + "/accept", "", bob,
                 {{"X-Device-Id", std::string(129, 'd')}})
                .status,
            400);
  b.request(op("accept", id));
  json::object big{{"type", "offer"}, {"sdp", std::string(70 * 1024, 'v')}};
  EXPECT_EQ(err(a.request(op("signal", id, {{"data", big}}))), "payload_too_large");
  // None of it changed the call.
  auto now = http(server.port(), "GET", "/v1/calls/" + id, "", alice);
  EXPECT_EQ(now.body.at("state"), "accepted");
  EXPECT_EQ(now.body.at("version"), 2);
}

}  // namespace
}  // namespace dialtone::test
