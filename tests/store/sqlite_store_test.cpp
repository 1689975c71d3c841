// SPDX-License-Identifier: Apache-2.0
// What only the SQLite back end does: the WAL is copied back into the database while the
// server runs (on the checkpoint thread), so that a long-running server's WAL stays bounded.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "store/store.hpp"
#include "util/encoding.hpp"

namespace dialtone {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(SqliteStore, TheWalIsCheckpointedAndStaysBoundedWhileTheStoreIsOpen) {
  fs::path dir = fs::temp_directory_path() / ("dialtone-sqlite-" + random_id());
  fs::create_directories(dir);
  std::string db = (dir / "dialtone.db").string(), wal = db + "-wal";
  {
    auto store = open_sqlite_store(db, "normal");
    // Every read first: a statement left on a row holds its snapshot, and then no checkpoint
    // can ever reset the WAL (the soak found shared_secret doing that: 816 MB in a minute).
    store->begin();
    store->shared_secret("dev_token_key", "key");
    store->get_user("nobody");
    store->commit();
    Call c;
    c.callerId = "a";
    c.receiverId = "b";
    c.callerDeviceId = "d";
    // 20,000 commits of a few pages each: ~300 MB of WAL if nothing were copied back.
    for (int i = 0; i < 20'000; ++i) {
      c.callId = "call-" + std::to_string(i);
      c.timestamp = c.lastUpdated = i;
      c.ringDeadline = i + 45'000;
      store->begin();
      store->insert_call(c, c.ringDeadline, to_storage_string(c, to_public_string(c)));
      store->commit();
    }
    // The calls reach the database file itself while the store is open (closing would
    // checkpoint anyway, so this is the only moment that shows the checkpoint thread works).
    auto until = std::chrono::steady_clock::now() + 10s;
    while (fs::file_size(db) < 1'000'000 && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(20ms);
    EXPECT_GE(fs::file_size(db), 1'000'000u) << "nothing was checkpointed";
    EXPECT_LE(fs::file_size(wal), 64u << 20) << "the WAL grew without bound";
    EXPECT_TRUE(store->get_call("call-19999"));
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace dialtone
