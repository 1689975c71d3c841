// SPDX-License-Identifier: Apache-2.0
// The WebSocket protocol itself (RFC 6455), byte by byte on a raw TCP connection: the opening
// handshake, pings answered with their payload, fragments, several messages in one read, the
// close handshake, and each protocol violation closed with its code — what any independent
// client may do, whatever our own clients happen to send.
#include <gtest/gtest.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "support/harness.hpp"

namespace dialtone::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// A client frame, masked.
std::string masked(std::uint8_t first, std::string_view payload) {
  const char key[4] = {0x37, 0x1f, 0x5a, 0x02};
  std::string out(1, static_cast<char>(first));
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(0x80 | payload.size()));
  } else {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size() & 0xFF));
  }
  out.append(key, 4);
  for (std::size_t i = 0; i < payload.size(); ++i)
    out.push_back(static_cast<char>(payload[i] ^ key[i & 3]));
  return out;
}

struct Frame {
  std::uint8_t opcode = 0;
  bool fin = false;
  std::string payload;
};

// An upgraded connection the test reads and writes byte by byte.
class RawWs {
 public:
  RawWs(int port, const std::string& token, const std::string& version = "13") {
    s_.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    send("GET /v1/ws?access_token=" + token +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: " +
         version + "\r\n\r\n");
    char ch;
    boost::system::error_code ec;
    while (head_.find("\r\n\r\n") == std::string::npos &&
           asio::read(s_, asio::buffer(&ch, 1), ec) == 1)
      head_ += ch;
  }
  const std::string& head() const { return head_; }
  void send(const std::string& bytes) { asio::write(s_, asio::buffer(bytes)); }

  // The next frame (the server's are unmasked), or nullopt when the connection ended.
  std::optional<Frame> next() {
    unsigned char h[2];
    if (!read(h, 2)) return std::nullopt;
    Frame f{static_cast<std::uint8_t>(h[0] & 0x0F), (h[0] & 0x80) != 0, {}};
    EXPECT_EQ(h[1] & 0x80, 0) << "a server frame is never masked";
    std::size_t len = h[1] & 0x7F;
    if (len == 126) {
      unsigned char l[2];
      if (!read(l, 2)) return std::nullopt;
      len = (std::size_t{l[0]} << 8) | l[1];
    } else if (len == 127) {
      unsigned char l[8];
      if (!read(l, 8)) return std::nullopt;
      len = 0;
      for (unsigned char b : l) len = (len << 8) | b;
    }
    f.payload.resize(len);
    if (len && !read(f.payload.data(), len)) return std::nullopt;
    return f;
  }
  // The next frame that is not a text message (hello and replies are skipped).
  std::optional<Frame> next_control() {
    for (auto f = next(); f; f = next())
      if (f->opcode != 0x1) return f;
    return std::nullopt;
  }
  // The next text message whose payload holds `what`.
  std::optional<std::string> next_text(std::string_view what) {
    for (auto f = next(); f; f = next())
      if (f->opcode == 0x1 && f->payload.find(what) != std::string::npos) return f->payload;
    return std::nullopt;
  }
  // Whether the server closed the TCP connection (end of stream) within a few seconds.
  bool ended() {
    s_.non_blocking(false);
    timeval tv{5, 0};
    setsockopt(s_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[256];
    boost::system::error_code ec;
    for (;;) {
      s_.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
      if (ec) return false;  // the timeout
    }
  }

 private:
  bool read(void* out, std::size_t n) {
    boost::system::error_code ec;
    return asio::read(s_, asio::buffer(out, n), ec) == n && !ec;
  }
  asio::io_context ioc_;
  tcp::socket s_{ioc_};
  std::string head_;
};

std::uint16_t close_code(const Frame& f) {
  if (f.payload.size() < 2) return 0;
  return static_cast<std::uint16_t>((static_cast<unsigned char>(f.payload[0]) << 8) |
                                    static_cast<unsigned char>(f.payload[1]));
}

class WebSocket : public ::testing::Test {
 protected:
  ServerProcess server;
  std::string alice = dev_token(server.port(), "alice");
};

TEST_F(WebSocket, TheHandshakeAnswersWithRfc6455sAcceptKey) {
  RawWs ws(server.port(), alice);
  EXPECT_EQ(ws.head().rfind("HTTP/1.1 101 ", 0), 0u) << ws.head();
  EXPECT_NE(ws.head().find("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"),
            std::string::npos)
      << ws.head();
  auto hello = ws.next();
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->opcode, 0x1);
  EXPECT_TRUE(hello->fin);
  EXPECT_NE(hello->payload.find("\"type\":\"hello\""), std::string::npos);
}

TEST_F(WebSocket, AnotherVersionIsRefusedNamingTheOneSpoken) {
  RawWs ws(server.port(), alice, "8");
  EXPECT_EQ(ws.head().rfind("HTTP/1.1 400 ", 0), 0u) << ws.head();
  EXPECT_NE(ws.head().find("Sec-WebSocket-Version: 13\r\n"), std::string::npos) << ws.head();
}

TEST_F(WebSocket, PingsAreAnsweredWithTheirPayloadAndFragmentsJoined) {
  RawWs ws(server.port(), alice);
  ws.send(masked(0x89, "are you there"));
  auto pong = ws.next_control();
  ASSERT_TRUE(pong);
  EXPECT_EQ(pong->opcode, 0xA);
  EXPECT_EQ(pong->payload, "are you there");
  // A message in three fragments with a ping between them, and a second message in the same
  // write: both answered, in order.
  ws.send(masked(0x01, R"({"id":7,"op":"tele)") + masked(0x89, "mid") +
          masked(0x00, R"(port","callId)") + masked(0x80, R"(":"x"})") +
          masked(0x81, R"({"id":8,"op":"end","callId":42})"));
  auto first = ws.next_text("\"type\":\"reply\"");
  ASSERT_TRUE(first);
  EXPECT_NE(first->find("\"id\":7"), std::string::npos) << *first;
  EXPECT_NE(first->find("bad_request"), std::string::npos) << *first;
  auto second = ws.next_text("\"type\":\"reply\"");
  ASSERT_TRUE(second);
  EXPECT_NE(second->find("\"id\":8"), std::string::npos) << *second;
}

TEST_F(WebSocket, TheCloseHandshakeEchoesTheCodeAndTheServerEndsTheConnection) {
  RawWs ws(server.port(), alice);
  ws.send(masked(0x88, std::string("\x0F\xA0", 2) + "bye"));  // 4000
  auto close = ws.next_control();
  ASSERT_TRUE(close);
  EXPECT_EQ(close->opcode, 0x8);
  EXPECT_EQ(close_code(*close), 4000);
  EXPECT_TRUE(ws.ended());
}

TEST_F(WebSocket, ProtocolViolationsCloseWithTheirCode) {
  struct Case {
    const char* what;
    std::string bytes;
    std::uint16_t code;
  };
  std::vector<Case> cases = {
      {"an unmasked frame", std::string("\x81\x02hi", 4), 1002},
      {"a reserved bit", masked(0xC1, "{}"), 1002},
      {"an unknown opcode", masked(0x83, "{}"), 1002},
      {"a continuation of nothing", masked(0x80, "{}"), 1002},
      {"a control frame over 125 bytes", masked(0x89, std::string(126, 'p')), 1002},
      {"text that is not UTF-8", masked(0x81, "\"\xC3\x28\""), 1007},
      {"a close code never sent on the wire", masked(0x88, std::string("\x03\xEE", 2)), 1002},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.what);
    RawWs ws(server.port(), alice);
    ws.send(c.bytes);
    auto close = ws.next_control();
    ASSERT_TRUE(close);
    EXPECT_EQ(close->opcode, 0x8);
    EXPECT_EQ(close_code(*close), c.code);
    ws.send(masked(0x88, std::string("\x03\xE8", 2)));  // the client's half of the handshake
    EXPECT_TRUE(ws.ended());
  }
  EXPECT_EQ(http(server.port(), "GET", "/healthz").status, 200);
}

}  // namespace
}  // namespace dialtone::test
