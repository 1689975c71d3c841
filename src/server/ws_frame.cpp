// SPDX-License-Identifier: Apache-2.0
#include "server/ws_frame.hpp"

#include <openssl/sha.h>

#include <cstring>

#include "util/encoding.hpp"

namespace dialtone::ws {

namespace {

bool is_control(std::uint8_t op) {
  return op & 0x8;
}

// Codes a peer may send (RFC 6455 §7.4.1, §7.4.2): not the reserved ones, nor those that must
// never be on the wire (1005, 1006, 1015).
bool valid_close_code(std::uint16_t c) {
  if (c >= 3000 && c <= 4999) return true;
  switch (c) {
    case 1000:
    case 1001:
    case 1002:
    case 1003:
    case 1007:
    case 1008:
    case 1009:
    case 1010:
    case 1011:
      return true;
    default:
      return false;
  }
}

}  // namespace

void Parser::feed(std::string_view bytes) {
  if (failed_) return;
  // What was parsed goes (the events that pointed into it are no longer valid): only the frame
  // in progress is moved to the front.
  in_.erase(0, pos_);
  pos_ = 0;
  in_.append(bytes);
}

void Parser::shrink() {
  if (buffered() != 0) return;
  std::string().swap(in_);
  std::string().swap(message_);
  pos_ = 0;
}

Event Parser::fail(std::uint16_t code, std::string_view why) {
  failed_ = true;
  Event e;
  e.kind = Event::Kind::error;
  e.code = code;
  e.reason = why;
  return e;
}

Event Parser::next() {
  if (failed_) return {};
  // What the previous event handed out is no longer needed: drop it.
  if (!inMessage_) message_.clear();
  for (;;) {  // until an event, or the end of the input
    if (pos_ > 0 && pos_ == in_.size()) {
      in_.clear();
      pos_ = 0;
    }
    const auto* p = reinterpret_cast<const unsigned char*>(in_.data()) + pos_;
    std::size_t avail = in_.size() - pos_;
    if (avail < 2) return {};
    const bool fin = p[0] & 0x80;
    const std::uint8_t rsv = p[0] & 0x70;
    const std::uint8_t op = p[0] & 0x0F;
    const bool masked = p[1] & 0x80;
    std::uint64_t len = p[1] & 0x7F;
    std::size_t header = 2;
    if (len == 126) {
      if (avail < 4) return {};
      len = (std::uint64_t{p[2]} << 8) | p[3];
      header = 4;
      if (len < 126) return fail(kCloseProtocolError, "length not minimally encoded");
    } else if (len == 127) {
      if (avail < 10) return {};
      len = 0;
      for (int i = 2; i < 10; ++i) len = (len << 8) | p[i];
      header = 10;
      if (len >> 63) return fail(kCloseProtocolError, "length with its top bit set");
      if (len <= 0xFFFF) return fail(kCloseProtocolError, "length not minimally encoded");
    }
    // Checked as soon as the header is in, before waiting for (or buffering) the payload.
    if (rsv) return fail(kCloseProtocolError, "reserved bits set (no extension was agreed)");
    if (!masked) return fail(kCloseProtocolError, "a client's frame must be masked");
    if (op != 0 && op != 1 && op != 2 && op != 8 && op != 9 && op != 10)
      return fail(kCloseProtocolError, "unknown opcode");
    if (is_control(op)) {
      if (!fin) return fail(kCloseProtocolError, "a fragmented control frame");
      if (len > 125) return fail(kCloseProtocolError, "a control frame over 125 bytes");
    } else {
      if (op == 0 && !inMessage_) return fail(kCloseProtocolError, "a continuation of nothing");
      if (op != 0 && inMessage_)
        return fail(kCloseProtocolError, "a new message inside a fragmented one");
      if (len > max_ || message_.size() + len > max_) return fail(kCloseTooBig, "message too big");
    }
    if (avail < header + 4 + len) return {};
    unsigned char key[4];
    std::memcpy(key, p + header, 4);
    char* payload = in_.data() + pos_ + header + 4;
    const auto size = static_cast<std::size_t>(len);
    for (std::size_t i = 0; i < size; ++i) payload[i] = static_cast<char>(payload[i] ^ key[i & 3]);
    pos_ += header + 4 + size;
    std::string_view data(payload, size);

    Event e;
    switch (op) {
      case 0x8: {  // close
        e.kind = Event::Kind::close;
        if (size == 0) {
          e.code = kCloseNoStatus;
          return e;
        }
        if (size == 1) return fail(kCloseProtocolError, "a close frame with half a code");
        e.code = static_cast<std::uint16_t>((static_cast<unsigned char>(data[0]) << 8) |
                                            static_cast<unsigned char>(data[1]));
        if (!valid_close_code(e.code)) return fail(kCloseProtocolError, "an invalid close code");
        e.reason = data.substr(2);
        if (!valid_utf8(e.reason)) return fail(kCloseBadData, "a close reason that is not UTF-8");
        return e;
      }
      case 0x9:
      case 0xA:
        e.kind = op == 0x9 ? Event::Kind::ping : Event::Kind::pong;
        e.payload = data;
        return e;
      default:
        break;
    }
    if (op != 0) messageText_ = op == 1;
    if (fin && !inMessage_) {  // a whole message in one frame: handed out from the input
      e.payload = data;
    } else {
      message_.append(data);
      inMessage_ = !fin;
      if (!fin) continue;  // the next fragment may already be here
      e.payload = message_;
    }
    if (messageText_ && !valid_utf8(e.payload))
      return fail(kCloseBadData, "a text message that is not UTF-8");
    e.kind = Event::Kind::message;
    e.text = messageText_;
    return e;
  }
}

std::size_t frame_header(char (&out)[10], Opcode op, std::size_t size) {
  out[0] = static_cast<char>(0x80 | static_cast<std::uint8_t>(op));
  if (size < 126) {
    out[1] = static_cast<char>(size);
    return 2;
  }
  if (size <= 0xFFFF) {
    out[1] = 126;
    out[2] = static_cast<char>(size >> 8);
    out[3] = static_cast<char>(size & 0xFF);
    return 4;
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<char>((static_cast<std::uint64_t>(size) >> (56 - 8 * i)) & 0xFF);
  return 10;
}

std::string frame(Opcode op, std::string_view payload) {
  char header[10];
  std::size_t n = frame_header(header, op, payload.size());
  std::string out(header, n);
  out.append(payload);
  return out;
}

std::string close_payload(std::uint16_t code, std::string_view reason) {
  std::string out;
  out.push_back(static_cast<char>(code >> 8));
  out.push_back(static_cast<char>(code & 0xFF));
  if (reason.size() > 123) {
    reason = reason.substr(0, 123);
    // Not in the middle of a character: back up over continuation bytes.
    while (!reason.empty() && !valid_utf8(reason)) reason.remove_suffix(1);
  }
  out.append(reason);
  return out;
}

std::string accept_key(std::string_view key) {
  static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
  std::string input(key);
  input.append(kGuid);
  unsigned char digest[SHA_DIGEST_LENGTH];
  SHA1(reinterpret_cast<const unsigned char*>(input.data()), input.size(), digest);
  return base64_encode(std::string_view(reinterpret_cast<const char*>(digest), sizeof digest));
}

bool valid_utf8(std::string_view text) {
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  std::size_t n = text.size(), i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // the second byte's range
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // no overlongs
      if (c == 0xED) hi = 0x9F;  // no surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // no overlongs
      if (c == 0xF4) hi = 0x8F;  // nothing past U+10FFFF
    } else {
      return false;
    }
    if (n - i < len) return false;
    if (s[i + 1] < lo || s[i + 1] > hi) return false;
    for (std::size_t k = 2; k < len; ++k)
      if (s[i + k] < 0x80 || s[i + k] > 0xBF) return false;
    i += len;
  }
  return true;
}

}  // namespace dialtone::ws
