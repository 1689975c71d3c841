// SPDX-License-Identifier: Apache-2.0
// The harness itself: a server that does not start leaves nothing behind.
#include "support/harness.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>

#include <unistd.h>

namespace dialtone::test {
namespace {

// This process's children named dialtoned, running or exited but not waited for.
int dialtoned_children() {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!in || !std::getline(in, stat)) continue;
    // pid (comm) state ppid …; comm may hold spaces, so from the last ')'.
    auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    std::string comm = stat.substr(open + 1, close - open - 1);
    char state = 0;
    long ppid = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %ld", &state, &ppid) != 2) continue;
    if (ppid == ::getpid() && comm == "dialtoned") ++n;
  }
  return n;
}

TEST(Harness, AServerThatDoesNotStartLeavesNoProcessBehind) {
  // Refused at start (an unknown flag): the constructor throws, so no destructor runs — the
  // harness itself must end and reap what it started (on every node, as a cluster).
  EXPECT_THROW(ServerProcess({"--no-such-flag"}), std::runtime_error);
  EXPECT_EQ(dialtoned_children(), 0);
  // And one that starts is there until it is gone.
  {
    ServerProcess server;
    EXPECT_GE(dialtoned_children(), 1);
  }
  EXPECT_EQ(dialtoned_children(), 0);
}

}  // namespace
}  // namespace dialtone::test
