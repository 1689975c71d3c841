// SPDX-License-Identifier: Apache-2.0
// Loads a test-vector file from tests/push/data.
#pragma once

#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "support/build_paths.hpp"
#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace dialtone::test {

inline boost::json::value load_vector(const std::string& name) {
  std::ifstream f(std::string(dialtone::build_paths::source_dir) + "/tests/push/data/" + name);
  std::stringstream ss;
  ss << f.rdbuf();
  return boost::json::parse(ss.str());
}

inline std::string str(const boost::json::value& v, std::string_view key) {
  return std::string(v.at(key).as_string());
}

inline std::string b64u(const boost::json::value& v, std::string_view key) {
  auto bytes = base64url_decode(str(v, key));
  if (!bytes) throw std::runtime_error("bad base64url in vector field " + std::string(key));
  return *bytes;
}

// Verifies a compact ES256 JWS (raw r||s signature) with a P-256 public key.
inline bool es256_ok(const std::string& jwt, EVP_PKEY* pub) {
  auto dot = jwt.rfind('.');
  auto sig = base64url_decode(jwt.substr(dot + 1));
  auto der = sig ? ecdsa_raw_to_der(*sig) : std::nullopt;
  return der && verify_sha256(pub, jwt.substr(0, dot), *der);
}

}  // namespace dialtone::test
