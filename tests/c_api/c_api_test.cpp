// SPDX-License-Identifier: Apache-2.0
// Runs the C test (c_call.c, C only, against dialtone.h and libdialtone.so) with a real
// dialtoned.
#include <gtest/gtest.h>

#include "support/harness.hpp"

extern "C" int dialtone_c_call(const char* server, const char* token_a, const char* token_b,
                               char* why, size_t why_size);
extern "C" int dialtone_c_tokens(const char* server, const char* refused, const char* good,
                                 char* why, size_t why_size);

namespace dialtone::test {
namespace {

TEST(CApi, PlacesAndEndsACall) {
  ServerProcess server;
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  auto a = dev_token(server.port(), "alice"), b = dev_token(server.port(), "bob");
  char why[256] = "";
  EXPECT_EQ(dialtone_c_call(url.c_str(), a.c_str(), b.c_str(), why, sizeof why), 0) << why;
}

TEST(CApi, RefusedTokensProvidersAndSetToken) {
  const std::string secret = "c-api-test-secret-0123456789abcdef";
  ServerProcess server{{"--jwt-hs256-secret", secret}};
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  auto expired = issuer_token(secret, "alice", std::chrono::seconds(-120));
  auto good = issuer_token(secret, "alice", std::chrono::seconds(3600));
  char why[256] = "";
  EXPECT_EQ(dialtone_c_tokens(url.c_str(), expired.c_str(), good.c_str(), why, sizeof why), 0)
      << why;
}

}  // namespace
}  // namespace dialtone::test
