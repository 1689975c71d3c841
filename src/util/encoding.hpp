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
std::string random_bytes(std::size_t n);
// A new unguessable id: 128 random bits, base64url.
std::string random_id();

}  // namespace dialtone
