// SPDX-License-Identifier: Apache-2.0
// The reaper: wait_retired() returns only once every retired thread has exited, its
// thread-local destructors included (they run after the work, and at process exit they would
// meet OpenSSL and GLib being torn down).
#include "media/reaper.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace dialtone::media {
namespace {

using namespace std::chrono_literals;

std::atomic<int> exited{0};

struct SlowToExit {  // a thread-local like OpenSSL's per-thread state
  ~SlowToExit() {
    std::this_thread::sleep_for(100ms);
    ++exited;
  }
};

TEST(Reaper, WaitRetiredWaitsForTheThreadsToHaveExited) {
  exited = 0;
  for (int i = 0; i < 3; ++i)
    retire([] {
      thread_local SlowToExit tls;
      (void)&tls;
    });
  EXPECT_TRUE(wait_retired(5000ms));
  EXPECT_EQ(exited.load(), 3);
}

TEST(Reaper, AWorkStillRunningIsReportedAndWaitedForNextTime) {
  std::atomic<bool> release{false};
  retire([&] {
    while (!release) std::this_thread::sleep_for(1ms);
  });
  EXPECT_FALSE(wait_retired(50ms));
  release = true;
  EXPECT_TRUE(wait_retired(5000ms));
}

}  // namespace
}  // namespace dialtone::media
