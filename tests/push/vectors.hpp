// Loads a test-vector file from tests/push/data.
#pragma once

#include <boost/json.hpp>

#include <fstream>
#include <sstream>
#include <string>

#include "util/encoding.hpp"

namespace dialtone::test {

inline boost::json::value load_vector(const std::string& name) {
  std::ifstream f(std::string(DIALTONE_SOURCE_DIR) + "/tests/push/data/" + name);
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

}  // namespace dialtone::test
