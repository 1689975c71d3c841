// SPDX-License-Identifier: Apache-2.0
#include "server/limits.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>
#include <vector>

namespace dialtone {
namespace {

namespace ip = boost::asio::ip;

TEST(AddressKey, Ipv4AsItIsIpv6ByItsSlash64) {
  EXPECT_EQ(address_key(ip::make_address("203.0.113.7")), "203.0.113.7");
  EXPECT_EQ(address_key(ip::make_address("::ffff:203.0.113.7")), "203.0.113.7");
  // One customer's network hands out 2^64 addresses: they count as one.
  EXPECT_EQ(address_key(ip::make_address("2001:db8:1:2::1")), "2001:db8:1:2::/64");
  EXPECT_EQ(address_key(ip::make_address("2001:db8:1:2:aaaa:bbbb:cccc:dddd")), "2001:db8:1:2::/64");
  EXPECT_NE(address_key(ip::make_address("2001:db8:1:3::1")),
            address_key(ip::make_address("2001:db8:1:2::1")));
  EXPECT_EQ(address_key(ip::make_address("::1")), "::/64");
}

TEST(OpenCounter, RacingOpenersNeverOvershoot) {
  OpenCounter sessions(10);
  std::atomic<int> got{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < 8; ++i)
    threads.emplace_back([&] {
      for (int k = 0; k < 100; ++k)
        if (sessions.acquire("alice")) ++got;
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(got.load(), 10);
  EXPECT_EQ(sessions.open("alice"), 10);
  sessions.release("alice");
  EXPECT_TRUE(sessions.acquire("alice"));
  EXPECT_FALSE(sessions.acquire("alice"));
  EXPECT_TRUE(sessions.acquire("bob"));
  { OpenSlot slot(sessions, "bob"); }  // a slot held and let go
  EXPECT_EQ(sessions.open("bob"), 0);
}

TEST(KeyedLimiter, WaitSaysWhatTakeWouldWithoutTaking) {
  KeyedLimiter failures(1.0, 3);  // one a second, burst 3
  TimeMs now = 1'000'000;
  EXPECT_EQ(failures.wait("a", now), 0);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(failures.take("a", now), 0);
  EXPECT_GT(failures.wait("a", now), 0);
  EXPECT_GT(failures.wait("a", now), 0) << "waiting takes nothing";
  EXPECT_EQ(failures.wait("b", now), 0);
  EXPECT_EQ(failures.wait("a", now + 1000), 0);
}

}  // namespace
}  // namespace dialtone
