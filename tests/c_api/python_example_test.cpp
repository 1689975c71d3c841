// SPDX-License-Identifier: Apache-2.0
// The Python example loads libdialtone.so with ctypes and asks a real dialtoned a question:
// the C ABI is usable from another language as documented.
#include <gtest/gtest.h>

#include <cstdio>

#include "support/build_paths.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

std::string run(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  char buf[512];
  while (p && fgets(buf, sizeof buf, p)) out += buf;
  status = p ? pclose(p) : -1;
  return out;
}

TEST(CApiFromPython, CtypesExampleAsksWhetherAUserIsBusy) {
  ServerProcess server;
  auto token = dev_token(server.port(), "alice");
  dev_token(server.port(), "bob");
  int status = 0;
  std::string out =
      run(std::string("python3 ") + dialtone::build_paths::source_dir +
              "/examples/python/is_busy.py --lib " + dialtone::build_paths::libdialtone +
              " --server http://127.0.0.1:" + std::to_string(server.port()) + " --token " + token +
              " bob 2>&1",
          status);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out, "bob busy: False\n");
  out = run(std::string("python3 ") + dialtone::build_paths::source_dir +
                "/examples/python/is_busy.py --lib " + dialtone::build_paths::libdialtone +
                " --server http://127.0.0.1:" + std::to_string(server.port()) +
                " --token not-a-jwt bob 2>&1",
            status);
  EXPECT_NE(status, 0);
  EXPECT_NE(out.find("unauthorized"), std::string::npos) << out;
}

}  // namespace
}  // namespace dialtone::test
