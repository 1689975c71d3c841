// SPDX-License-Identifier: Apache-2.0
// Untrusted timestamps (?before= of the history read) must parse or be refused, and whatever
// parses must format back to a time that parses to the same instant.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/time.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  if (auto t = dialtone::parse_iso(text)) {
    auto again = dialtone::parse_iso(dialtone::format_iso(*t));
    if (!again || *again != *t) std::abort();
  }
  return 0;
}
