// SPDX-License-Identifier: Apache-2.0
// WebSocket framing (RFC 6455 §5), server side: reads what a client sends (masked frames,
// fragmented messages, control frames) and writes what the server sends (unmasked). Pure: bytes
// in, events out; the session (ws_session.cpp) owns the socket.
//
// Hand-written rather than Beast's websocket::stream because that stream writes one message per
// system call and keeps ~4 KiB per connection; the session writes every queued message with one
// gathered write and keeps no buffer while idle. fuzz/ws_frame_fuzz.cpp feeds it arbitrary bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace dialtone::ws {

enum class Opcode : std::uint8_t {
  continuation = 0x0,
  text = 0x1,
  binary = 0x2,
  close = 0x8,
  ping = 0x9,
  pong = 0xA
};

// Close codes (RFC 6455 §7.4.1) the server sends.
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseGoingAway = 1001;
inline constexpr std::uint16_t kCloseProtocolError = 1002;
inline constexpr std::uint16_t kCloseNoStatus = 1005;  // received without a code; never sent
inline constexpr std::uint16_t kCloseBadData = 1007;   // text that is not UTF-8
inline constexpr std::uint16_t kClosePolicy = 1008;
inline constexpr std::uint16_t kCloseTooBig = 1009;

// What the next complete piece of input is.
struct Event {
  enum class Kind { none, message, ping, pong, close, error };
  Kind kind = Kind::none;
  bool text = false;         // message: text (else binary)
  std::string_view payload;  // message, ping, pong: valid until the next feed() or next()
  std::uint16_t code = 0;    // close: the peer's code (kCloseNoStatus if none); error: close with
  std::string_view reason;   // close: the peer's reason; error: what was wrong
};

class Parser {
 public:
  // Messages (all their fragments) over `maxMessage` bytes are an error (1009).
  explicit Parser(std::size_t maxMessage) : max_(maxMessage) {}

  // Appends received bytes; then call next() until it returns Kind::none.
  void feed(std::string_view bytes);
  // The next complete message or control frame, none while more input is needed, or an error
  // (after which the connection must be closed with its code: nothing more is parsed).
  Event next();

  // Bytes held: the input not yet handed out (part of a frame) and the fragments of a message
  // so far.
  std::size_t buffered() const { return in_.size() + message_.size(); }
  // Frees the buffers' memory when nothing is buffered (an idle connection keeps none).
  void shrink();

 private:
  Event fail(std::uint16_t code, std::string_view why);

  std::size_t max_;
  std::string in_;  // received, not yet parsed (from pos_)
  std::size_t pos_ = 0;
  std::string message_;  // fragments of the message in progress
  bool inMessage_ = false;
  bool messageText_ = false;
  bool failed_ = false;
};

// The header of an unmasked frame (FIN set) carrying `size` bytes: 2, 4 or 10 bytes written to
// `out`; returns how many.
std::size_t frame_header(char (&out)[10], Opcode op, std::size_t size);

// A whole unmasked frame: header and payload.
std::string frame(Opcode op, std::string_view payload);

// A close frame's payload: the code, and the reason cut to fit a control frame (123 bytes).
std::string close_payload(std::uint16_t code, std::string_view reason);

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key (RFC 6455 §4.2.2).
std::string accept_key(std::string_view key);

// Whether `text` is well-formed UTF-8 (RFC 3629: no overlongs, no surrogates, ≤ U+10FFFF).
bool valid_utf8(std::string_view text);

}  // namespace dialtone::ws
