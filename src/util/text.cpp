// SPDX-License-Identifier: Apache-2.0
#include "util/text.hpp"

#include <algorithm>

namespace dialtone {

namespace {

// The next code point of `s` from `i` (advanced past it), or -1 for an invalid sequence
// (advanced by one byte). Hand-written: the decoder is a dozen lines, and none of the
// libraries we use offers a lenient one that skips bad bytes instead of failing the string.
long next_code_point(std::string_view s, std::size_t& i) {
  auto b = static_cast<unsigned char>(s[i]);
  if (b < 0x80) {
    ++i;
    return b;
  }
  int len = b >= 0xF0 && b <= 0xF4 ? 4 : b >= 0xE0 ? (b <= 0xEF ? 3 : 0) : b >= 0xC2 ? 2 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return -1;
  }
  long cp = b & (0x7F >> len);
  for (int k = 1; k < len; ++k) {
    auto c = static_cast<unsigned char>(s[i + k]);
    if ((c & 0xC0) != 0x80) {
      ++i;
      return -1;
    }
    cp = (cp << 6) | (c & 0x3F);
  }
  // Overlong forms, surrogates and code points past U+10FFFF are invalid.
  static const long kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[len] || (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF) {
    ++i;
    return -1;
  }
  i += len;
  return cp;
}

bool removed(long cp) {
  return cp < 0 || (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r') ||
         (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200B || cp == 0x200E ||
         cp == 0x200F || (cp >= 0x202A && cp <= 0x202E) || cp == 0x2060 ||
         (cp >= 0x2066 && cp <= 0x2069) || cp == 0xFEFF;
}

bool spacing(long cp) {
  return cp == ' ' || cp == '\t' || cp == '\n' || cp == '\r' || cp == 0x2028 || cp == 0x2029;
}

}  // namespace

std::string display_text(std::string_view in, std::size_t maxBytes) {
  std::string out;
  out.reserve(std::min(in.size(), maxBytes));
  bool pendingSpace = false;
  for (std::size_t i = 0; i < in.size();) {
    std::size_t start = i;
    long cp = next_code_point(in, i);
    if (spacing(cp)) {
      pendingSpace = !out.empty();
      continue;
    }
    if (removed(cp)) continue;
    std::size_t need = (i - start) + (pendingSpace ? 1 : 0);
    if (out.size() + need > maxBytes) break;
    if (pendingSpace) out += ' ';
    pendingSpace = false;
    out.append(in.substr(start, i - start));
  }
  return out;
}

std::string log_value(std::string_view v) {
  auto plain = [](unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           std::string_view("._:@/+-").find(static_cast<char>(c)) != std::string_view::npos;
  };
  if (!v.empty() && std::all_of(v.begin(), v.end(), plain)) return std::string(v);
  std::string out = "\"";
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20 || c == 0x7F) {
      static const char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
  return out;
}

}  // namespace dialtone
