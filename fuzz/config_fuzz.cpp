// SPDX-License-Identifier: Apache-2.0
// The config file (TOML, written by an operator — but parsed before anything else runs, so a
// typo must give a clear error, never a crash) → a validated Config or a ConfigError naming
// the key. Also what every profile goes through: the photo URL check and display names.
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "server/authenticator.hpp"
#include "server/config.hpp"
#include "util/text.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  try {
    dialtone::Config c = dialtone::parse_config_text(text);
    // What validate() accepted holds together.
    if (c.tls_cert_file.empty() != c.tls_key_file.empty()) __builtin_trap();
    if (c.ring_timeout_s < 1 || c.limit_calls_per_min < 0) __builtin_trap();
    (void)c.port();
    (void)c.host();
    (void)c.public_origins();
  } catch (const dialtone::ConfigError& e) {
    if (e.key().empty()) __builtin_trap();
  }
  // The photo check, against hosts that include an IPv4-looking one and a wildcard.
  static const std::vector<std::string> kHosts = {"cdn.example.org", "*.googleusercontent.com",
                                                  "127.0.0.1"};
  if (dialtone::photo_url_allowed(text, kHosts, true)) {
    // Only http(s) URLs pass (the scheme is case-insensitive).
    std::string lower;
    for (char ch : text.substr(0, 8))
      lower += static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower.rfind("https://", 0) != 0 && lower.rfind("http://", 0) != 0) __builtin_trap();
  }
  if (dialtone::photo_url_allowed(text, {}, false)) __builtin_trap();  // no host, no photo
  // A name through display_text is valid UTF-8 with no control characters, within its bound.
  std::string name = dialtone::display_text(text, 256);
  if (name.size() > 256) __builtin_trap();
  for (unsigned char ch : name)
    if (ch < 0x20 || ch == 0x7f) __builtin_trap();
  if (dialtone::display_text(name, 256) != name) __builtin_trap();  // idempotent
  return 0;
}
