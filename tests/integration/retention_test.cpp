// SPDX-License-Identifier: Apache-2.0
// history_retention_days against a real dialtoned on SQLite: calls aged past the retention (their
// start moved back in the database while the server was stopped) go with their timelines a few
// seconds after start; a recent call and a call still ringing stay.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "support/harness.hpp"

namespace dialtone::test {
namespace {

constexpr std::int64_t kDayMs = 86'400'000;

void age(const std::string& db, const std::string& callId, std::int64_t byMs) {
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  std::string sql = "UPDATE calls SET created_ms = created_ms - " + std::to_string(byMs) +
                    " WHERE call_id = '" + callId + "'";
  EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, nullptr), SQLITE_OK);
  EXPECT_EQ(sqlite3_changes(h), 1);
  sqlite3_close(h);
}

std::size_t count(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open(db.c_str(), &h);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr);
  std::size_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

TEST(Retention, CallsOlderThanTheRetentionGoWithTheirTimelines) {
  ServerProcess server({"--history-retention-days", "2"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  std::string carol = dev_token(server.port(), "carol");
  WsClient a(server.port(), alice), b(server.port(), bob), c(server.port(), carol);
  std::vector<std::string> ended;
  for (int i = 0; i < 3; ++i) {
    std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
    b.request(op("reject", id));
    ended.push_back(id);
  }
  // A timeline event of the first (the trail is in the call record; reports are events).
  json::object report{
      {"op", "report"},
      {"callId", ended[0]},
      {"events",
       json::array{json::object{
           {"type", "device_changed"}, {"kind", "output"}, {"change", "changed"}, {"ago", 0}}}}};
  ASSERT_EQ(a.request(report).at("ok"), true);
  std::string ringing = call_id(c.request({{"op", "create"}, {"receiverId", "bob"}}));
  a.close();
  b.close();
  c.close();
  server.terminate();
  std::string db = server.data_dir() + "/data/dialtone.db";
  ASSERT_GT(count(db, "SELECT COUNT(*) FROM call_events WHERE call_id = '" + ended[0] + "'"), 0u);
  age(db, ended[0], 3 * kDayMs);  // past the retention
  age(db, ended[1], 3 * kDayMs);
  age(db, ended[2], 1 * kDayMs);  // within it
  age(db, ringing, 3 * kDayMs);   // old, but still going
  server.start();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (server.log().find("HISTORY_PRUNED calls=2") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_NE(server.log().find("HISTORY_PRUNED calls=2 older_than_days=2"), std::string::npos)
      << server.log();
  alice = dev_token(server.port(), "alice");
  auto history = http(server.port(), "GET", "/v1/calls?limit=50", "", alice).body.at("calls");
  std::set<std::string> left;
  for (const auto& call : history.as_array())
    left.insert(std::string(call.at("callId").as_string()));
  EXPECT_EQ(left, (std::set<std::string>{ended[2]}));
  EXPECT_EQ(http(server.port(), "GET", "/v1/calls/" + ended[0] + "/timeline", "", alice).status,
            404);
  EXPECT_EQ(count(db, "SELECT COUNT(*) FROM call_events WHERE call_id IN ('" + ended[0] + "', '" +
                          ended[1] + "')"),
            0u);
  std::string carolToken = dev_token(server.port(), "carol");
  EXPECT_EQ(http(server.port(), "GET", "/v1/calls/" + ringing, "", carolToken).status, 200)
      << "a call still going is kept";
  EXPECT_NE(server.metrics().find("dialtone_history_pruned_total 2"), std::string::npos);
}

}  // namespace
}  // namespace dialtone::test
