// SPDX-License-Identifier: Apache-2.0
// Untrusted bearer tokens against a verifier with an HS256 key, and untrusted JWKS documents
// with the Cache-Control they came with.
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string_view>

#include "auth/jwt.hpp"
#include "core/errors.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const dialtone::JwtVerifier verifier = [] {
    dialtone::JwtVerifier v;
    dialtone::TrustedKey k;
    k.alg = dialtone::JwtAlg::HS256;
    k.secret = "fuzz-secret-fuzz-secret-fuzz-secret";
    v.add({{k}, "dialtoned-dev", "dialtone"});
    return v;
  }();
  std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    (void)verifier.verify(text, 1'800'000'000'000);
  } catch (const dialtone::Error&) {
  }
  (void)dialtone::jwt_header_kid(text);
  (void)dialtone::jwks_refresh_after(text, 60, 86400, 3600);  // a provider's Cache-Control
  try {
    (void)dialtone::parse_jwks(text);
  } catch (const std::runtime_error&) {
  }
  return 0;
}
