// SPDX-License-Identifier: Apache-2.0
// The committer on real stores: what each job of a batch ends with, whichever way the batch ran
// (pipelined on PostgreSQL, savepoints on SQLite), and that a pipelined batch in which something
// failed is run again so that only the failing job fails.
#include <gtest/gtest.h>

#include <filesystem>
#include <future>

#include "server/calls/committer.hpp"
#include "store/store.hpp"
#include "support/postgres.hpp"
#include "util/encoding.hpp"

namespace dialtone {
namespace {

Call make(std::string id, std::string caller, std::string receiver) {
  Call c;
  c.callId = std::move(id);
  c.callerId = std::move(caller);
  c.receiverId = std::move(receiver);
  c.timestamp = c.lastUpdated = 1000;
  c.callerDeviceId = "d";
  return c;
}

void insert(Store& s, const Call& c) {
  s.insert_call(c, std::nullopt, to_storage_string(c, to_public_string(c)));
}

struct Backend {
  std::string name;
  bool pipelines;
  std::function<std::unique_ptr<Store>(const std::string& dir)> open;
};

class CommitterTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("dialtone-committer-" + random_id());
    std::filesystem::create_directories(dir_);
    store_ = GetParam().open(dir_.string());
    // bob is in a call already.
    store_->begin();
    insert(*store_, make("c0", "carol", "bob"));
    store_->claim_active("bob", "c0");
    store_->commit();
  }
  void TearDown() override {
    committer_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // Enqueues every job before the committer starts, so that they make one batch; returns how
  // each ended, in order.
  std::vector<JobEnd> run_one_batch(std::vector<Committer::Run> jobs) {
    committer_ = std::make_unique<Committer>(*store_, metrics_);
    std::vector<std::promise<JobEnd>> ends(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i)
      committer_->enqueue(std::move(jobs[i]), [&ends, i](JobEnd e) { ends[i].set_value(e); });
    committer_->start();
    std::vector<JobEnd> out;
    for (auto& p : ends) out.push_back(p.get_future().get());
    committer_->stop();
    return out;
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
  Metrics metrics_;
  std::unique_ptr<Committer> committer_;
};

TEST_P(CommitterTest, ABatchThatGoesWellCommitsOnceAndIsNotRunAgain) {
  int runs = 0;
  auto ends = run_one_batch({
      [&](Tx& tx) {
        ++runs;
        insert(tx.store, make("c1", "alice", "dave"));
        tx.store.claim_active("alice", "c1");
        return true;
      },
      [&](Tx& tx) {
        ++runs;
        EXPECT_EQ(tx.store.active_call_of("alice"), "c1");  // the job before it, read back
        insert(tx.store, make("c2", "erin", "frank"));
        return true;
      },
  });
  EXPECT_EQ(ends, (std::vector<JobEnd>{JobEnd::committed, JobEnd::committed}));
  EXPECT_EQ(runs, 2);
  EXPECT_EQ(metrics_.store_replays.load(), 0u);
  EXPECT_EQ(store_->active_call_of("alice"), "c1");
  EXPECT_TRUE(store_->get_call("c2"));
}

TEST_P(CommitterTest, OnlyTheJobThatFailsFailsAndOneThatGaveUpLeavesNothing) {
  auto ends = run_one_batch({
      [](Tx& tx) {
        insert(tx.store, make("c1", "alice", "dave"));
        return true;
      },
      // bob is busy: the database's unique key refuses this every time it is tried.
      [](Tx& tx) {
        insert(tx.store, make("c2", "erin", "bob"));
        tx.store.claim_active("bob", "c2");
        return true;
      },
      // Wrote, then gave up (an op refused after a write): its write must not stay.
      [](Tx& tx) {
        insert(tx.store, make("c3", "gina", "hank"));
        return false;
      },
      [](Tx& tx) {
        insert(tx.store, make("c4", "ivan", "judy"));
        return true;
      },
  });
  EXPECT_EQ(ends, (std::vector<JobEnd>{JobEnd::committed, JobEnd::failed, JobEnd::committed,
                                       JobEnd::committed}));
  EXPECT_TRUE(store_->get_call("c1"));
  EXPECT_FALSE(store_->get_call("c2"));
  EXPECT_FALSE(store_->get_call("c3"));
  EXPECT_TRUE(store_->get_call("c4"));
  EXPECT_EQ(store_->active_call_of("bob"), "c0");
  // Pipelined, the batch failed before its commit and was run again with savepoints, once.
  EXPECT_EQ(metrics_.store_replays.load(), GetParam().pipelines ? 1u : 0u);
  EXPECT_EQ(metrics_.store_batches.load(), 1u);
}

TEST_P(CommitterTest, AJobThatGivesUpWithoutWritingDoesNotCostARun) {
  auto ends = run_one_batch({
      [](Tx& tx) {
        insert(tx.store, make("c1", "alice", "dave"));
        return true;
      },
      [](Tx& tx) { return !tx.store.get_call("nope"); },  // refused after a read only
      [](Tx& tx) { return tx.store.get_call("nope").has_value(); },
  });
  EXPECT_EQ(ends, std::vector<JobEnd>(3, JobEnd::committed));
  EXPECT_EQ(metrics_.store_replays.load(), 0u);
  EXPECT_TRUE(store_->get_call("c1"));
}

TEST_P(CommitterTest, AJobThatThrowsFailsAloneAndTheOthersCommit) {
  auto ends = run_one_batch({
      [](Tx& tx) {
        insert(tx.store, make("c1", "alice", "dave"));
        return true;
      },
      [](Tx& tx) -> bool {
        insert(tx.store, make("c2", "erin", "frank"));
        throw std::runtime_error("a bug in an op");
      },
      [](Tx& tx) {
        insert(tx.store, make("c3", "gina", "hank"));
        return true;
      },
  });
  EXPECT_EQ(ends, (std::vector<JobEnd>{JobEnd::committed, JobEnd::failed, JobEnd::committed}));
  EXPECT_TRUE(store_->get_call("c1"));
  EXPECT_FALSE(store_->get_call("c2"));
  EXPECT_TRUE(store_->get_call("c3"));
}

INSTANTIATE_TEST_SUITE_P(Stores, CommitterTest,
                         ::testing::Values(Backend{"sqlite", false,
                                                   [](const std::string& dir) {
                                                     return open_sqlite_store(dir + "/dialtone.db",
                                                                              "normal");
                                                   }},
                                           Backend{
                                               "postgres", true,
                                               [](const std::string&) {
                                                 return open_postgres_store(
                                                     test::PostgresServer::shared().new_database());
                                               }}),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace dialtone
