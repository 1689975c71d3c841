// SPDX-License-Identifier: Apache-2.0
// What only the PostgreSQL store does: pipelined transactions (libpq's pipeline mode), against a
// real PostgreSQL started by the test process. The behaviour every back end shares is in
// store_conformance_test.cpp.
#include <gtest/gtest.h>

#include "store/store.hpp"
#include "support/calls.hpp"
#include "support/postgres.hpp"

namespace dialtone {
namespace {

using test::ringing_call;

Call make(std::string id, std::string caller, std::string receiver, TimeMs ts) {
  return ringing_call(std::move(id), std::move(caller), std::move(receiver), ts);
}

std::string doc(const Call& c) {
  return test::stored_doc(c);
}

class PostgresStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    url_ = test::PostgresServer::shared().new_database();
    store_ = open_postgres_store(url_);
  }

  void insert(Store& s, const Call& c, std::optional<TimeMs> deadline) {
    s.insert_call(c, deadline, doc(c));
  }

  // A store of its own, to see only what was committed.
  std::unique_ptr<Store> other() { return open_postgres_store(url_); }

  std::string url_;
  std::unique_ptr<Store> store_;
};

TEST_F(PostgresStoreTest, PipelinedWritesAreReadBackAndCommittedWithTheNextDeadline) {
  ASSERT_TRUE(store_->begin_pipelined());
  insert(*store_, make("late", "a", "b", 1), 9000);
  insert(*store_, make("early", "c", "d", 1), 4000);
  store_->claim_active("a", "late");
  EXPECT_EQ(store_->writes(), 3u);
  // A read inside the pipeline sees the writes sent ahead of it.
  ASSERT_TRUE(store_->get_call("early"));
  EXPECT_EQ(store_->active_call_of("a"), "late");
  // Reads sent together see them too.
  auto reads = store_->create_reads("a", "c", true);
  EXPECT_EQ(reads.callerActive, "late");
  EXPECT_FALSE(reads.receiverActive);
  EXPECT_EQ(store_->get_calls({"late", "early"}).size(), 2u);
  // Nothing is visible elsewhere before the commit.
  EXPECT_FALSE(other()->get_call("early"));
  EXPECT_TRUE(store_->commit_pipelined());
  // The next deadline came back with the commit; it is the same as asked afterwards.
  EXPECT_EQ(store_->next_deadline(), 4000);
  EXPECT_EQ(store_->next_deadline(), 4000);
  auto seen = other();
  EXPECT_TRUE(seen->get_call("late"));
  EXPECT_EQ(seen->active_call_of("a"), "late");
  // And the connection is back to statements one at a time.
  store_->begin();
  store_->release_active("late");
  store_->commit();
  EXPECT_FALSE(seen->active_call_of("a"));
}

TEST_F(PostgresStoreTest, AStaleVersionMakesTheCommitCommitNothing) {
  Call c = make("c1", "alice", "bob", 1000);
  store_->begin();
  insert(*store_, c, c.ringDeadline);
  store_->commit();

  Call stale = c;
  stale.version = 3;  // the stored one is 1: this writer did not read it
  ASSERT_TRUE(store_->begin_pipelined());
  insert(*store_, make("c2", "carol", "dave", 2000), std::nullopt);
  store_->update_call(stale, std::nullopt, doc(stale));  // no error yet: it is in flight
  insert(*store_, make("c3", "erin", "frank", 3000), std::nullopt);
  EXPECT_FALSE(store_->commit_pipelined());  // refused, and nothing committed: for certain
  store_->rollback();
  EXPECT_FALSE(store_->get_call("c2"));
  EXPECT_FALSE(store_->get_call("c3"));
  EXPECT_EQ(store_->get_call("c1")->version, 1);

  // Read in the same pipeline, it is a conflict (another writer was first).
  ASSERT_TRUE(store_->begin_pipelined());
  store_->update_call(stale, std::nullopt, doc(stale));
  try {
    store_->get_call("c1");
    ADD_FAILURE() << "the stale update was not refused";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::conflict);
  }
  store_->rollback();
  // And one statement at a time too.
  store_->begin();
  try {
    store_->update_call(stale, std::nullopt, doc(stale));
    ADD_FAILURE() << "the stale update was not refused";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::conflict);
  }
  store_->rollback();
  // The right version goes through, pipelined.
  Call next = c;
  next.version = 2;
  ASSERT_TRUE(store_->begin_pipelined());
  store_->update_call(next, std::nullopt, doc(next));
  EXPECT_TRUE(store_->commit_pipelined());
  EXPECT_EQ(store_->get_call("c1")->version, 2);
}

TEST_F(PostgresStoreTest, AnErrorInFlightShowsAtTheNextReadAndTheStoreGoesOn) {
  store_->begin();
  insert(*store_, make("c1", "alice", "bob", 1000), std::nullopt);
  store_->claim_active("bob", "c1");
  store_->commit();

  ASSERT_TRUE(store_->begin_pipelined());
  store_->claim_active("bob", "c2");  // bob has an active call: a unique violation
  // Statements sent after the failure are skipped by PostgreSQL, including the preparation of
  // one this connection has never used: it must be prepared again later, not assumed.
  QueuedPush p{"p1", "c1", "incoming_call", "bob", "phone", "{}", 5000, 0};
  store_->add_push(p, "node", 4000);
  try {
    store_->get_user("bob");
    ADD_FAILURE() << "the read did not report the failure before it";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::conflict);
  }
  store_->rollback();
  EXPECT_EQ(store_->active_call_of("bob"), "c1");

  // Pipelined again, and the statement skipped before is prepared and runs.
  ASSERT_TRUE(store_->begin_pipelined());
  store_->add_push(p, "node", 4000);
  EXPECT_TRUE(store_->commit_pipelined());
  auto taken = other()->claim_pushes("other", 4500, 9000, 10, false);
  ASSERT_EQ(taken.size(), 1u);
  EXPECT_EQ(taken[0].pushId, "p1");
}

TEST_F(PostgresStoreTest, AJobsGivingUpIsSeenInTheWriteCount) {
  ASSERT_TRUE(store_->begin_pipelined());
  EXPECT_EQ(store_->writes(), 0u);
  store_->get_user("nobody");
  store_->savepoint();  // transaction control is not a data write
  EXPECT_EQ(store_->writes(), 0u);
  store_->upsert_user({"alice", "Alice", ""}, 1);
  EXPECT_EQ(store_->writes(), 1u);
  store_->rollback();
  EXPECT_FALSE(store_->get_user("alice"));
}

TEST_F(PostgresStoreTest, APostgresRestartInFlightIsAFailureAndTheNextTransactionReconnects) {
  store_->begin();
  store_->upsert_user({"alice", "Alice", ""}, 1);
  store_->commit();

  ASSERT_TRUE(store_->begin_pipelined());
  store_->upsert_user({"bob", "Bob", ""}, 2);
  test::PostgresServer::shared().stop();
  try {
    store_->get_user("alice");
    ADD_FAILURE() << "a read from a stopped PostgreSQL succeeded";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::failure);
  }
  store_->rollback();  // nothing to roll back on a lost connection: no throw, no hang
  test::PostgresServer::shared().start();

  // The careful way reconnects at BEGIN; the pipelined way at its start.
  store_->begin();
  store_->upsert_user({"carol", "Carol", ""}, 3);
  store_->commit();
  ASSERT_TRUE(store_->begin_pipelined());
  store_->upsert_user({"dave", "Dave", ""}, 4);
  EXPECT_TRUE(store_->commit_pipelined());
  EXPECT_TRUE(store_->get_user("alice"));
  EXPECT_FALSE(store_->get_user("bob"));
  EXPECT_TRUE(store_->get_user("carol"));
  EXPECT_TRUE(store_->get_user("dave"));
}

TEST_F(PostgresStoreTest, ACommitWhoseAnswerIsLostThrowsAFailure) {
  // (Not "false": whether it was committed is unknown, so the batch must not run again.)
  ASSERT_TRUE(store_->begin_pipelined());
  store_->upsert_user({"bob", "Bob", ""}, 2);
  store_->get_user("bob");  // everything so far answered
  test::PostgresServer::shared().stop();
  try {
    store_->commit_pipelined();
    ADD_FAILURE() << "a commit to a stopped PostgreSQL succeeded";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::failure);
  }
  store_->rollback();
  test::PostgresServer::shared().start();
  store_->begin();
  store_->commit();
  EXPECT_FALSE(store_->get_user("bob"));
}

}  // namespace
}  // namespace dialtone
