// SPDX-License-Identifier: Apache-2.0
// Base64 and base64url (RFC 4648 §4, §5 unpadded) and randomness, on top of OpenSSL.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace dialtone {

std::string base64url_encode(std::string_view bytes);
// Standard alphabet with '=' padding (RFC 4648 §4).
std::string base64_encode(std::string_view bytes);
// nullopt on characters outside the alphabet or an impossible length.
std::optional<std::string> base64url_decode(std::string_view text);
// The standard alphabet, padded to a multiple of 4 (RFC 4648 §4); nullopt otherwise.
std::optional<std::string> base64_decode(std::string_view text);
std::string random_bytes(std::size_t n);
// A new unguessable id: 128 random bits, base64url.
std::string random_id();
// Only the characters RFC 3986 allows in a URI (unreserved, reserved and '%').
inline bool uri_chars(std::string_view s) {
  for (unsigned char c : s) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              std::string_view("-._~:/?#[]@!$&'()*+,;=%").find(static_cast<char>(c)) !=
                  std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// "http://" or "https://" (any case) and only URI characters: checked before an untrusted URL
// is handed to Boost.URL, whose 1.81 absolute-URI parser asserts on a scheme followed by a path
// that starts with a character a path cannot hold (e.g. "p:|", "a:[": found by fuzz_config).
inline bool http_url_shape(std::string_view s) {
  auto starts = [&](std::string_view prefix) {
    if (s.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i)
      if ((s[i] | 0x20) != prefix[i] && s[i] != prefix[i]) return false;
    return true;
  };
  return (starts("http://") || starts("https://")) && uri_chars(s);
}

// A URL host (as written: "localhost", "[::1]", "127.0.0.1") that stays on this machine.
bool loopback_host(std::string_view host);

}  // namespace dialtone
