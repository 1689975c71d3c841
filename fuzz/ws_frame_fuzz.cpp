// SPDX-License-Identifier: Apache-2.0
// Whatever a client sends on an upgraded connection → WebSocket events, as the session reads
// them: the bytes fed in pieces whose sizes the input's first byte picks, every event taken out
// after each piece. Nothing may crash or trip a sanitizer; after an error nothing more comes; a
// message never exceeds the limit and a text message is always UTF-8.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/ws_frame.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  std::size_t step = 1 + data[0] % 64;
  std::string_view in(reinterpret_cast<const char*>(data) + 1, size - 1);
  constexpr std::size_t kMax = 4096;
  dialtone::ws::Parser p(kMax);
  bool failed = false;
  for (std::size_t at = 0; at < in.size(); at += step) {
    p.feed(in.substr(at, step));
    for (auto e = p.next(); e.kind != dialtone::ws::Event::Kind::none; e = p.next()) {
      if (failed) std::abort();  // nothing after an error
      using Kind = dialtone::ws::Event::Kind;
      if (e.kind == Kind::error) failed = true;
      if (e.kind == Kind::message && e.payload.size() > kMax) std::abort();
      if (e.kind == Kind::message && e.text && !dialtone::ws::valid_utf8(e.payload)) std::abort();
      if ((e.kind == Kind::ping || e.kind == Kind::pong) && e.payload.size() > 125) std::abort();
    }
    if (p.buffered() == 0) p.shrink();
  }
  return 0;
}
