// SPDX-License-Identifier: Apache-2.0
// What the SDK does with a server message's call document (untrusted bytes from the network):
// JSON → CallSnapshot through core/call.hpp's parse_public_json (the reader both the SDK and the
// server use), and the clock offset estimate. Malformed documents are ignored; nothing may crash.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/call.hpp"
#include "sdk/snapshot.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  boost::system::error_code ec;
  auto v = boost::json::parse(std::string_view(reinterpret_cast<const char*>(data), size), ec);
  if (ec || !v.is_object()) return 0;
  (void)dialtone::parse_public_json(v.as_object());
  if (auto* c = v.as_object().if_contains("call"); c && c->is_object())
    (void)dialtone::parse_public_json(c->as_object());
  if (auto* e = v.as_object().if_contains("error"); e)
    (void)dialtone::sdk::parse_error(v.as_object());
  dialtone::sdk::ClockOffset clock;
  if (auto* t = v.as_object().if_contains("version"); t && t->is_int64())
    clock.add(0, t->as_int64(), t->as_int64());
  return 0;
}
