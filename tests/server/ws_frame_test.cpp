// SPDX-License-Identifier: Apache-2.0
#include "server/ws_frame.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace dialtone::ws {
namespace {

// A frame as a client sends it: masked with `key`.
std::string client_frame(std::uint8_t first, std::string_view payload,
                         const char key[4] = "\x11\x22\x33\x44") {
  std::string out;
  out.push_back(static_cast<char>(first));
  std::size_t n = payload.size();
  if (n < 126) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xFFFF) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(n >> 8));
    out.push_back(static_cast<char>(n & 0xFF));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((n >> (8 * i)) & 0xFF));
  }
  out.append(key, 4);
  for (std::size_t i = 0; i < n; ++i) out.push_back(static_cast<char>(payload[i] ^ key[i & 3]));
  return out;
}

std::string text(std::string_view s) {
  return client_frame(0x81, s);
}

// Every event the parser yields for `input` fed in pieces of `step` bytes (payloads copied).
struct Seen {
  Event::Kind kind;
  std::string payload;
  std::uint16_t code = 0;
};
std::vector<Seen> parse(std::string_view input, std::size_t step = 1 << 20,
                        std::size_t max = 1 << 16) {
  Parser p(max);
  std::vector<Seen> out;
  for (std::size_t at = 0; at < input.size(); at += step) {
    p.feed(input.substr(at, step));
    for (Event e = p.next(); e.kind != Event::Kind::none; e = p.next()) {
      out.push_back(
          {e.kind,
           std::string(e.kind == Event::Kind::close || e.kind == Event::Kind::error ? e.reason
                                                                                    : e.payload),
           e.code});
      if (e.kind == Event::Kind::error) return out;
    }
  }
  return out;
}

TEST(WsFrame, MessagesArriveWholeHoweverTheBytesAreSplit) {
  std::string big(70000, 'x');  // a 64-bit length
  std::string input = text("hello") + text(std::string(300, 'a')) + client_frame(0x82, "\x01\x02");
  for (std::size_t step : {1, 2, 3, 7, 64, 1 << 20}) {
    auto seen = parse(input, step);
    ASSERT_EQ(seen.size(), 3u) << step;
    EXPECT_EQ(seen[0].payload, "hello");
    EXPECT_EQ(seen[1].payload, std::string(300, 'a'));
    EXPECT_EQ(seen[2].payload, "\x01\x02");
  }
  auto seen = parse(text(big), 4096, 1 << 20);
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].payload, big);
}

TEST(WsFrame, FragmentsAreJoinedAndControlFramesMayComeBetween) {
  std::string input = client_frame(0x01, "hel") + client_frame(0x89, "p1") +
                      client_frame(0x00, "lo ") + client_frame(0x80, "world");
  for (std::size_t step : {1, 5, 1 << 20}) {
    auto seen = parse(input, step);
    ASSERT_EQ(seen.size(), 2u) << step;
    EXPECT_EQ(seen[0].kind, Event::Kind::ping);
    EXPECT_EQ(seen[0].payload, "p1");
    EXPECT_EQ(seen[1].kind, Event::Kind::message);
    EXPECT_EQ(seen[1].payload, "hello world");
  }
}

TEST(WsFrame, CloseFramesCarryTheirCodeAndReason) {
  auto seen = parse(client_frame(0x88, std::string("\x03\xE8", 2) + "bye"));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].kind, Event::Kind::close);
  EXPECT_EQ(seen[0].code, 1000);
  EXPECT_EQ(seen[0].payload, "bye");
  seen = parse(client_frame(0x88, ""));
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].code, kCloseNoStatus);
}

TEST(WsFrame, ProtocolViolationsAreErrorsWithTheirCloseCode) {
  struct Case {
    std::string input;
    std::uint16_t code;
  };
  std::string unmasked = "\x81\x02hi";
  std::string overlong16 = std::string("\x81\xFE\x00\x05", 4) + "KEYS" + "hello";
  std::vector<Case> cases = {
      {unmasked, kCloseProtocolError},
      {client_frame(0xC1, "x"), kCloseProtocolError},  // RSV1: no extension agreed
      {client_frame(0x83, "x"), kCloseProtocolError},  // reserved opcode
      {client_frame(0x80, "x"), kCloseProtocolError},  // continuation of nothing
      {client_frame(0x09, "x"), kCloseProtocolError},  // fragmented ping
      {client_frame(0x89, std::string(126, 'p')), kCloseProtocolError},  // control over 125
      {client_frame(0x01, "a") + text("b"), kCloseProtocolError},  // new message mid-fragments
      {client_frame(0x88, "\x03"), kCloseProtocolError},           // half a close code
      {client_frame(0x88, std::string("\x03\xED", 2)), kCloseProtocolError},  // 1005 on the wire
      {client_frame(0x88, std::string("\x03\xE8\xFF", 3)), kCloseBadData},    // reason not UTF-8
      {text("\xC3\x28"), kCloseBadData},
      {client_frame(0x01, "\xE2\x82") + client_frame(0x80, "\x28"), kCloseBadData},
      {overlong16, kCloseProtocolError},
      {text(std::string(70000, 'x')), kCloseTooBig},
      {client_frame(0x01, std::string(40000, 'x')) + client_frame(0x80, std::string(40000, 'x')),
       kCloseTooBig},
  };
  for (const auto& c : cases) {
    auto seen = parse(c.input);
    ASSERT_FALSE(seen.empty()) << c.code;
    EXPECT_EQ(seen.back().kind, Event::Kind::error) << seen.back().payload;
    EXPECT_EQ(seen.back().code, c.code) << seen.back().payload;
  }
}

TEST(WsFrame, AnOversizedFrameIsRefusedFromItsHeaderAlone) {
  // Nothing of the payload has arrived: the header says enough.
  std::string header = client_frame(0x81, std::string(70000, 'x')).substr(0, 14);
  Parser p(1 << 16);
  p.feed(header);
  Event e = p.next();
  EXPECT_EQ(e.kind, Event::Kind::error);
  EXPECT_EQ(e.code, kCloseTooBig);
}

TEST(WsFrame, NothingIsKeptWhenIdle) {
  Parser p(1 << 16);
  p.feed(text("one") + text("two").substr(0, 3));
  EXPECT_EQ(p.next().payload, "one");
  EXPECT_EQ(p.next().kind, Event::Kind::none);
  EXPECT_GT(p.buffered(), 0u);
  p.feed(text("two").substr(3));
  EXPECT_EQ(p.next().payload, "two");
  EXPECT_EQ(p.next().kind, Event::Kind::none);
  EXPECT_EQ(p.buffered(), 0u);
  p.shrink();
  p.feed(text("three"));
  EXPECT_EQ(p.next().payload, "three");
}

// A client whose every read ends inside a frame: what was parsed is dropped at the next read, so
// the parser holds no more than the last read and the frame in progress however long the stream
// goes on (it used to keep everything until a read happened to end on a frame boundary).
TEST(WsFrame, ParsedBytesAreDroppedEvenWhenAReadEndsMidFrame) {
  Parser p(1 << 16);
  std::string one = text(std::string(100, 'x'));
  std::string stream;
  for (int i = 0; i < 2000; ++i) stream += one;
  std::size_t seen = 0, most = 0;
  for (std::size_t at = 0; at < stream.size(); at += 150) {  // never on a frame boundary
    p.feed(std::string_view(stream).substr(at, 150));
    while (p.next().kind == Event::Kind::message) ++seen;
    most = std::max(most, p.buffered());
  }
  EXPECT_EQ(seen, 2000u);
  EXPECT_LE(most, 150 + one.size()) << "at most the last read and the frame in progress";
}

TEST(WsFrame, ServerFramesAreUnmaskedWithMinimalLengths) {
  EXPECT_EQ(frame(Opcode::text, "hi"), std::string("\x81\x02hi", 4));
  std::string f = frame(Opcode::text, std::string(300, 'a'));
  EXPECT_EQ(f.substr(0, 4), std::string("\x81\x7E\x01\x2C", 4));
  f = frame(Opcode::binary, std::string(70000, 'a'));
  EXPECT_EQ(f.substr(0, 10), std::string("\x82\x7F\x00\x00\x00\x00\x00\x01\x11\x70", 10));
  EXPECT_EQ(frame(Opcode::pong, ""), std::string("\x8A\x00", 2));
  EXPECT_EQ(close_payload(4001, "token expired"), std::string("\x0F\xA1", 2) + "token expired");
  // A reason cut to fit is not cut inside a character.
  std::string reason(122, 'r');
  reason += "\xC3\xA9";  // é across the 123-byte limit
  EXPECT_EQ(close_payload(1000, reason).size(), 2u + 122u);
}

TEST(WsFrame, AcceptKeyIsRfc6455sExample) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsFrame, Utf8IsCheckedStrictly) {
  for (const char* ok : {"", "plain", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80",
                         "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF"})
    EXPECT_TRUE(valid_utf8(ok)) << ok;
  for (const char* bad :
       {"\x80", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF0\x80\x80\xAF",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xC3", "\xE2\x82", "\xFF"})
    EXPECT_FALSE(valid_utf8(bad)) << bad;
}

}  // namespace
}  // namespace dialtone::ws
