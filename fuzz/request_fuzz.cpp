// SPDX-License-Identifier: Apache-2.0
// Untrusted WebSocket messages and HTTP bodies → typed requests. Any input may be refused with
// Error; nothing may crash, leak or trip a sanitizer.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/errors.hpp"
#include "core/request.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    dialtone::Request r = dialtone::parse_ws_request(text);
    (void)r;
  } catch (const dialtone::Error&) {
  }
  (void)dialtone::try_extract_id(text);
  for (auto op : {dialtone::Op::create, dialtone::Op::end, dialtone::Op::mute, dialtone::Op::fail,
                  dialtone::Op::report}) {
    try {
      (void)dialtone::parse_http_request(op, "call-id", text);
    } catch (const dialtone::Error&) {
    }
  }
  return 0;
}
