// SPDX-License-Identifier: Apache-2.0
// Appending JSON values to a string as Boost.JSON's serializer writes them, for the documents
// written on every transition (the call document, its stored form): building a json::object
// first cost an allocation per key and a hash table per document (a fifth of the call path's
// malloc time). core/call_test.cpp checks the output is byte for byte json::serialize's.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dialtone::json_text {

// `s` quoted, with '"', '\\' and control characters escaped (\b \f \n \r \t, else \u00xx).
void append_string(std::string& out, std::string_view s);
void append_int(std::string& out, std::int64_t v);
inline void append_bool(std::string& out, bool v) {
  out += v ? "true" : "false";
}
inline void append_optional(std::string& out, const std::optional<std::string>& s) {
  if (s)
    append_string(out, *s);
  else
    out += "null";
}

}  // namespace dialtone::json_text
