// SPDX-License-Identifier: Apache-2.0
// dialtoned on PostgreSQL when PostgreSQL goes away for a moment: the node says it is not ready,
// refuses ops without changing anything, comes back by itself, and no acknowledged transition
// is lost.
#include <gtest/gtest.h>

#include <thread>

#include "support/harness.hpp"
#include "support/postgres.hpp"

namespace dialtone::test {
namespace {

bool ready_is(int port, bool want) {
  auto until = std::chrono::steady_clock::now() + 15s;
  while (std::chrono::steady_clock::now() < until) {
    if ((http(port, "GET", "/readyz").status == 200) == want) return true;
    std::this_thread::sleep_for(50ms);
  }
  return false;
}

TEST(Postgres, ABriefOutageMakesTheNodeNotReadyAndLosesNothing) {
  PostgresServer pg;  // its own, to restart
  ServerProcess server({"--store", pg.new_database()});
  int port = server.port();
  std::string alice = dev_token(port, "alice"), bob = dev_token(port, "bob");
  WsClient a(port, alice), b(port, bob);
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  ASSERT_EQ(state_of(b.request(op("accept", id))), "accepted");  // acknowledged
  ASSERT_TRUE(ready_is(port, true));

  pg.stop();
  EXPECT_TRUE(ready_is(port, false)) << "the node noticed without any traffic";
  auto refused = a.request(op("mute", id, {{"muted", true}}));
  EXPECT_EQ(refused.at("error").at("code"), "unavailable");
  pg.start();
  ASSERT_TRUE(ready_is(port, true))
      << "the node recovered by itself\n"
      << server.log().substr(server.log().size() > 3000 ? server.log().size() - 3000 : 0);

  auto doc = http(port, "GET", "/v1/calls/" + id, "", alice);
  ASSERT_EQ(doc.status, 200);
  EXPECT_EQ(doc.body.at("state"), "accepted");
  EXPECT_EQ(doc.body.at("metadata").at("callerMuted"), false) << "the refused op changed nothing";
  ASSERT_EQ(state_of(a.request(op("end", id))), "ended");
  b.wait_call(id, "ended");
  EXPECT_NE(server.log().find("STORE_UNAVAILABLE"), std::string::npos);
  EXPECT_NE(server.log().find("STORE_RECOVERED"), std::string::npos);
}

TEST(Postgres, UnreachableAtStartIsAClearError) {
  auto [status, err] =
      run_dialtoned({"--store", "postgresql://postgres@127.0.0.1:1/x?connect_timeout=2", "--listen",
                     "127.0.0.1:0"});
  EXPECT_EQ(status, 1);
  EXPECT_NE(err.find("cannot connect to PostgreSQL"), std::string::npos) << err;
  auto [bad, err2] = run_dialtoned({"--store", "mysql://x"});
  EXPECT_EQ(bad, 2);
  EXPECT_NE(err2.find("store"), std::string::npos) << err2;
}

}  // namespace
}  // namespace dialtone::test
