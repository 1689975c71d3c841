// SPDX-License-Identifier: Apache-2.0
// The store conformance suite: every back end must pass it unchanged (SQLite, PostgreSQL, and the
// in-memory one that unit tests of the call service run on).
#include <gtest/gtest.h>
#include <functional>

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

#include "store/memory_store.hpp"
#include "store/store.hpp"
#include "support/calls.hpp"
#include "support/postgres.hpp"
#include "util/encoding.hpp"

namespace dialtone {
namespace {

struct Backend {
  std::string name;
  std::function<std::unique_ptr<Store>(const std::string& dir)> open;
};

std::vector<Backend> backends() {
  return {
      {"memory",
       [](const std::string& dir) {
         // One data set per test directory, so that opening it again is a restart.
         static std::map<std::string, std::shared_ptr<MemoryStore::Data>> data;
         auto& d = data[dir];
         if (!d) d = std::make_shared<MemoryStore::Data>();
         return std::make_unique<MemoryStore>(d);
       }},
      {"sqlite",
       [](const std::string& dir) { return open_sqlite_store(dir + "/dialtone.db", "normal"); }},
      // A real PostgreSQL started by the test process; one database per test directory, so
      // that opening the same directory again is what a restarted server sees.
      {"postgres", [](const std::string& dir) {
         static std::map<std::string, std::string> databases;
         auto it = databases.find(dir);
         if (it == databases.end())
           it = databases.emplace(dir, test::PostgresServer::shared().new_database()).first;
         return open_postgres_store(it->second);
       }}};
}

class StoreConformance : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("dialtone-store-" + random_id());
    std::filesystem::create_directories(dir_);
    store_ = GetParam().open(dir_.string());
  }
  void TearDown() override {
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  Call make(std::string id, std::string caller, std::string receiver, TimeMs ts) {
    return test::ringing_call(std::move(id), std::move(caller), std::move(receiver), ts);
  }
  // Runs `fn` in one committed transaction.
  static std::string doc(const Call& c) { return test::stored_doc(c); }
  void insert(Store& s, const Call& c, std::optional<TimeMs> deadline) {
    s.insert_call(c, deadline, doc(c));
  }
  template <class F>
  void tx(F&& fn) {
    store_->begin();
    fn(*store_);
    store_->commit();
  }

  std::filesystem::path dir_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreConformance, UsersUpsertAndList) {
  tx([](Store& s) {
    s.upsert_user({"bob", "Bob", ""}, 1);
    s.upsert_user({"alice", "Alice", "p"}, 1);
    s.upsert_user({"bob", "Robert", "q"}, 2);
  });
  auto bob = store_->get_user("bob");
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->name, "Robert");
  EXPECT_EQ(bob->photo, "q");
  EXPECT_FALSE(store_->get_user("nobody"));
  auto all = store_->list_users(10);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].userId, "alice");
}

TEST_P(StoreConformance, CallsRoundTripWithVersionCheck) {
  Call c = make("c1", "alice", "bob", 1000);
  tx([&](Store& s) { insert(s, c, c.ringDeadline); });
  auto got = store_->get_call("c1");
  ASSERT_TRUE(got);
  EXPECT_EQ(to_storage_json(*got), to_storage_json(c));

  Call next = c;
  next.version = 2;
  next.state = CallState::ringing;
  tx([&](Store& s) { s.update_call(next, next.ringDeadline, doc(next)); });
  EXPECT_EQ(store_->get_call("c1")->state, CallState::ringing);

  // A writer that read version 1 loses: its update is refused.
  store_->begin();
  EXPECT_THROW(store_->update_call(next, std::nullopt, doc(next)), StoreError);
  store_->rollback();
  EXPECT_EQ(store_->get_call("c1")->version, 2);
}

TEST_P(StoreConformance, CallsAreFetchedSeveralAtOnce) {
  // Ids are checked before they reach a store, but the store must not depend on it.
  const std::string odd = "we\"ird\\id,{x}";
  tx([&](Store& s) {
    insert(s, make("c1", "alice", "bob", 1000), std::nullopt);
    insert(s, make("c2", "carol", "dave", 1001), std::nullopt);
    insert(s, make(odd, "erin", "frank", 1002), std::nullopt);
  });
  auto got = store_->get_calls({"c2", "nope", odd, "c1"});
  std::vector<std::string> ids;
  for (const auto& c : got) ids.push_back(c.callId);
  std::sort(ids.begin(), ids.end());
  EXPECT_EQ(ids, (std::vector<std::string>{"c1", "c2", odd}));
  EXPECT_TRUE(store_->get_calls({}).empty());
  EXPECT_TRUE(store_->get_calls({"nope"}).empty());
}

TEST_P(StoreConformance, ACreatesReadsComeTogether) {
  tx([&](Store& s) {
    s.upsert_user({"bob", "Bob", "b.png"}, 1);
    insert(s, make("c1", "alice", "carol", 1000), std::nullopt);
    s.claim_active("alice", "c1");
    s.put_device({"bob", "phone", Platform::fcm, "tok", "", "", 5});
  });
  auto r = store_->create_reads("alice", "bob", true);
  ASSERT_TRUE(r.receiver);
  EXPECT_EQ(r.receiver->name, "Bob");
  EXPECT_EQ(r.receiver->photo, "b.png");
  EXPECT_EQ(r.callerActive, "c1");
  EXPECT_FALSE(r.receiverActive);
  ASSERT_EQ(r.devices.size(), 1u);
  EXPECT_EQ(r.devices[0].deviceId, "phone");
  EXPECT_TRUE(store_->create_reads("alice", "bob", false).devices.empty());
  auto none = store_->create_reads("carol", "nobody", true);
  EXPECT_FALSE(none.receiver);
  EXPECT_EQ(none.callerActive, std::nullopt);
  EXPECT_TRUE(none.devices.empty());
}

TEST_P(StoreConformance, OneActiveCallPerUserIsAUniqueKey) {
  Call a = make("c1", "alice", "bob", 1000), b = make("c2", "carol", "bob", 1001);
  tx([&](Store& s) {
    insert(s, a, std::nullopt);
    insert(s, b, std::nullopt);
    s.claim_active("alice", "c1");
    s.claim_active("bob", "c1");
  });
  store_->begin();
  try {
    store_->claim_active("bob", "c2");
    ADD_FAILURE() << "second active call for bob was accepted";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::conflict);
  }
  store_->rollback();
  EXPECT_EQ(store_->active_call_of("bob"), "c1");
  tx([](Store& s) { s.release_active("c1"); });
  EXPECT_FALSE(store_->active_call_of("bob"));
  EXPECT_FALSE(store_->active_call_of("alice"));
  tx([](Store& s) { s.claim_active("bob", "c2"); });
  EXPECT_EQ(store_->active_call_of("bob"), "c2");
}

TEST_P(StoreConformance, SavepointUndoesOnlyOneOp) {
  store_->begin();
  store_->savepoint();
  insert(*store_, make("keep", "a", "b", 1), std::nullopt);
  store_->release_savepoint();
  store_->savepoint();
  insert(*store_, make("drop", "c", "d", 2), std::nullopt);
  store_->rollback_to_savepoint();
  store_->commit();
  EXPECT_TRUE(store_->get_call("keep"));
  EXPECT_FALSE(store_->get_call("drop"));
}

TEST_P(StoreConformance, RollbackLeavesNothing) {
  store_->begin();
  insert(*store_, make("c1", "a", "b", 1), std::nullopt);
  store_->rollback();
  EXPECT_FALSE(store_->get_call("c1"));
}

TEST_P(StoreConformance, DeadlinesAreIndexedAndDue) {
  tx([&](Store& s) {
    insert(s, make("late", "a", "b", 1), 5000);
    insert(s, make("early", "c", "d", 1), 3000);
    insert(s, make("none", "e", "f", 1), std::nullopt);
  });
  EXPECT_EQ(store_->next_deadline(), 3000);
  EXPECT_TRUE(store_->due_calls(2999, 10).empty());
  EXPECT_EQ(store_->due_calls(4000, 10), std::vector<std::string>{"early"});
  EXPECT_EQ(store_->due_calls(6000, 10), (std::vector<std::string>{"early", "late"}));
  EXPECT_EQ(store_->due_calls(6000, 1).size(), 1u);
}

TEST_P(StoreConformance, HistoryNewestFirstWithBefore) {
  tx([&](Store& s) {
    insert(s, make("c1", "alice", "bob", 1000), std::nullopt);
    insert(s, make("c2", "bob", "alice", 2000), std::nullopt);
    insert(s, make("c3", "carol", "dave", 3000), std::nullopt);
    insert(s, make("c4", "alice", "carol", 4000), std::nullopt);
  });
  auto h = store_->history("alice", std::numeric_limits<TimeMs>::max(), 10);
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].callId, "c4");
  EXPECT_EQ(h[1].callId, "c2");
  EXPECT_EQ(h[2].callId, "c1");
  auto page = store_->history("alice", 4000, 1);  // before is exclusive
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].callId, "c2");
}

TEST_P(StoreConformance, OperatorsSearchCallsByUserAndTime) {
  tx([&](Store& s) {
    insert(s, make("c1", "alice", "bob", 1000), std::nullopt);
    insert(s, make("c2", "bob", "alice", 2000), std::nullopt);
    insert(s, make("c3", "carol", "dave", 3000), std::nullopt);
    insert(s, make("c4", "alice", "carol", 4000), std::nullopt);
  });
  auto ids = [](const std::vector<Call>& v) {
    std::string s;
    for (auto& c : v) s += c.callId + " ";
    return s;
  };
  EXPECT_EQ(ids(store_->search_calls("", 0, 10'000, 10)), "c4 c3 c2 c1 ");
  EXPECT_EQ(ids(store_->search_calls("", 2000, 4000, 10)), "c3 c2 ");  // [from, to)
  EXPECT_EQ(ids(store_->search_calls("alice", 0, 10'000, 10)), "c4 c2 c1 ");
  EXPECT_EQ(ids(store_->search_calls("carol", 3500, 10'000, 10)), "c4 ");
  EXPECT_EQ(ids(store_->search_calls("alice", 0, 10'000, 2)), "c4 c2 ");
  EXPECT_EQ(ids(store_->search_calls("nobody", 0, 10'000, 10)), "");
}

TEST_P(StoreConformance, TimelineEventsAreBoundedAndGoWithTheCall) {
  auto event = [](TimeMs at, std::string type, std::string_view data) {
    return TimelineEvent{at, "caller", "dev-a", std::move(type),
                         boost::json::parse(data).as_object()};
  };
  tx([&](Store& s) {
    insert(s, make("c1", "alice", "bob", 1000), std::nullopt);
    insert(s, make("c2", "alice", "bob", 5000), 50'000);
    s.claim_active("alice", "c2");
    EXPECT_EQ(s.append_events("c1",
                              {event(1100, "media_connected",
                                     R"({"local":"relay","remote":"srflx","protocol":"tcp"})"),
                               event(1200, "quality", R"({"lossPercent":1.5,"jitterMs":4})")},
                              3),
              2u);
    // Past the bound the rest is dropped, in order.
    EXPECT_EQ(
        s.append_events(
            "c1",
            {event(1300, "first_audio_sent", "{}"), event(1400, "first_audio_received", "{}")}, 3),
        1u);
    EXPECT_EQ(s.append_events("c2", {event(5100, "first_audio_sent", "{}")}, 3), 1u);
  });
  store_ = GetParam().open(dir_.string());
  auto e = store_->events_of("c1");
  ASSERT_EQ(e.size(), 3u);
  EXPECT_EQ(e[0].type, "media_connected");
  EXPECT_EQ(e[0].data.at("protocol").as_string(), "tcp");
  EXPECT_EQ(e[0].side, "caller");
  EXPECT_EQ(e[0].device, "dev-a");
  EXPECT_EQ(e[1].at, 1200);
  EXPECT_DOUBLE_EQ(e[1].data.at("lossPercent").as_double(), 1.5);
  EXPECT_EQ(e[2].type, "first_audio_sent");
  EXPECT_TRUE(store_->events_of("none").empty());
  // History goes with its timeline; an active call stays, whatever its age.
  tx([&](Store& s) { EXPECT_EQ(s.delete_calls_before(10'000, 10), 1u); });
  EXPECT_FALSE(store_->get_call("c1"));
  EXPECT_TRUE(store_->events_of("c1").empty());
  EXPECT_TRUE(store_->get_call("c2"));
  EXPECT_EQ(store_->events_of("c2").size(), 1u);
}

TEST_P(StoreConformance, AnEventSentAgainIsStoredOnce) {
  auto event = [](TimeMs at, std::string device, std::string_view data) {
    return TimelineEvent{at, "caller", std::move(device), "quality",
                         boost::json::parse(data).as_object()};
  };
  tx([&](Store& s) {
    insert(s, make("c1", "alice", "bob", 1000), std::nullopt);
    EXPECT_EQ(s.append_events("c1",
                              {event(1100, "dev-a", R"({"lossPercent":1,"jitterMs":4})"),
                               event(1200, "dev-a", R"({"lossPercent":2,"jitterMs":4})")},
                              10),
              2u);
    // The same report again (its answer was lost), with one new event: only that one is stored.
    // Equal in all but the device, the time or the data is another event.
    EXPECT_EQ(s.append_events("c1",
                              {event(1100, "dev-a", R"({"lossPercent":1,"jitterMs":4})"),
                               event(1200, "dev-a", R"({"lossPercent":2,"jitterMs":4})"),
                               event(1200, "dev-b", R"({"lossPercent":2,"jitterMs":4})"),
                               event(1201, "dev-a", R"({"lossPercent":2,"jitterMs":4})"),
                               event(1200, "dev-a", R"({"lossPercent":3,"jitterMs":4})")},
                              10),
              3u);
  });
  store_ = GetParam().open(dir_.string());
  EXPECT_EQ(store_->events_of("c1").size(), 5u);
}

TEST_P(StoreConformance, ActiveCallsAfterReopen) {
  tx([&](Store& s) {
    insert(s, make("c1", "alice", "bob", 1000), 46'000);
    s.claim_active("alice", "c1");
    s.claim_active("bob", "c1");
    insert(s, make("c2", "x", "y", 1000), std::nullopt);
  });
  store_ = GetParam().open(dir_.string());  // what a restarted server sees
  auto active = store_->active_calls();
  ASSERT_EQ(active.size(), 1u);
  EXPECT_EQ(active[0].callId, "c1");
  EXPECT_EQ(store_->next_deadline(), 46'000);
}

TEST_P(StoreConformance, DevicesRegisterReplaceAndForget) {
  auto dev = [](std::string user, std::string id, std::string token, TimeMs at) {
    return PushDevice{std::move(user), std::move(id), Platform::fcm, std::move(token), "", "", at};
  };
  tx([&](Store& s) {
    s.put_device(dev("bob", "phone", "t1", 1));
    s.put_device(dev("bob", "tablet", "t2", 2));
    s.put_device({"bob", "iphone", Platform::apns, "aa", "bb", "sandbox", 3});
  });
  auto bob = store_->devices_of("bob");
  ASSERT_EQ(bob.size(), 3u);
  EXPECT_EQ(bob[0].deviceId, "iphone");
  EXPECT_EQ(bob[0].platform, Platform::apns);
  EXPECT_EQ(bob[0].alertToken, "bb");
  EXPECT_EQ(bob[0].environment, "sandbox");

  // The same device registers a new token; the app signs into another account on the tablet.
  tx([&](Store& s) {
    s.put_device(dev("bob", "phone", "t1b", 4));
    s.put_device(dev("carol", "tab", "t2", 5));
  });
  bob = store_->devices_of("bob");
  ASSERT_EQ(bob.size(), 2u);
  EXPECT_EQ(bob[1].token, "t1b");
  ASSERT_EQ(store_->devices_of("carol").size(), 1u);

  // A dead alert token clears only itself; a dead main token removes the registration; a token
  // the device has replaced since changes nothing.
  tx([&](Store& s) {
    s.forget_push_token("bob", "iphone", "bb");
    s.forget_push_token("bob", "phone", "t1");
  });
  bob = store_->devices_of("bob");
  ASSERT_EQ(bob.size(), 2u);
  EXPECT_EQ(bob[0].alertToken, "");
  tx([&](Store& s) { s.forget_push_token("bob", "iphone", "aa"); });
  ASSERT_EQ(store_->devices_of("bob").size(), 1u);

  bool gone = false, again = true;
  tx([&](Store& s) {
    gone = s.delete_device("bob", "phone");
    again = s.delete_device("bob", "phone");
  });
  EXPECT_TRUE(gone);
  EXPECT_FALSE(again);
  EXPECT_TRUE(store_->devices_of("bob").empty());
}

TEST_P(StoreConformance, DevicesPerUserAreBounded) {
  tx([&](Store& s) {
    for (std::size_t i = 0; i < kMaxDevicesPerUser + 5; ++i)
      s.put_device({"bob", "d" + std::to_string(100 + i), Platform::fcm, "t" + std::to_string(i),
                    "", "", static_cast<TimeMs>(i)});
  });
  auto bob = store_->devices_of("bob");
  ASSERT_EQ(bob.size(), kMaxDevicesPerUser);
  EXPECT_EQ(bob.front().deviceId, "d105");  // the five oldest went
}

// Several nodes on one PostgreSQL: what only a shared database has to get right.
TEST(PostgresStore, NodesStartingTogetherMigrateOnce) {
  std::string url = test::PostgresServer::shared().new_database();
  std::vector<std::unique_ptr<Store>> nodes(4);
  std::vector<std::thread> threads;
  for (auto& n : nodes) threads.emplace_back([&n, &url] { n = open_postgres_store(url); });
  for (auto& t : threads) t.join();
  for (auto& n : nodes) ASSERT_TRUE(n);
  nodes[0]->begin();
  nodes[0]->upsert_user({"alice", "Alice", ""}, 1);
  nodes[0]->commit();
  EXPECT_TRUE(nodes[3]->get_user("alice"));
}

TEST(PostgresStore, EachDueDeadlineIsTakenByOneNode) {
  std::string url = test::PostgresServer::shared().new_database();
  auto a = open_postgres_store(url), b = open_postgres_store(url);
  Call c;
  c.callId = "c1";
  c.callerId = "alice";
  c.receiverId = "bob";
  c.timestamp = c.lastUpdated = 1000;
  c.ringDeadline = 46'000;
  a->begin();
  a->insert_call(c, 46'000, to_storage_string(c, to_public_string(c)));
  a->commit();
  a->begin();
  b->begin();
  EXPECT_EQ(a->due_calls(50'000, 10), std::vector<std::string>{"c1"});
  EXPECT_TRUE(b->due_calls(50'000, 10).empty()) << "node a is firing it";
  a->rollback();  // node a crashed before its commit: node b takes it next time
  EXPECT_EQ(b->due_calls(50'000, 10), std::vector<std::string>{"c1"});
  b->rollback();
}

// `write`, on a second node, waits for node `a`'s open transaction (committed 100 ms later) and
// then fails with a conflict.
void expect_conflict_once_committed(Store& a, const std::function<void()>& write) {
  std::thread commit_a([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    a.commit();
  });
  try {
    write();
    ADD_FAILURE() << "no conflict";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::conflict) << e.what();
  }
  commit_a.join();
}

TEST(PostgresStore, TwoNodesClaimingOneUserConflict) {
  std::string url = test::PostgresServer::shared().new_database();
  auto a = open_postgres_store(url), b = open_postgres_store(url);
  for (auto* s : {a.get(), b.get()}) {
    Call c;
    c.callId = s == a.get() ? "ca" : "cb";
    c.callerId = c.callId;
    c.receiverId = "bob";
    s->begin();
    s->insert_call(c, std::nullopt, to_storage_string(c, to_public_string(c)));
    s->commit();
  }
  a->begin();
  b->begin();
  a->claim_active("bob", "ca");
  // b waits for a's transaction on the key; once a commits, b's insert is a unique violation.
  expect_conflict_once_committed(*a, [&] { b->claim_active("bob", "cb"); });
  b->rollback();
  EXPECT_EQ(b->active_call_of("bob").value_or(""), "ca");
}

// Two nodes adding to one call's timeline at the same moment (the caller's report on one, the
// callee's on the other, as the call ends): both read the same last position; the second learns
// of the collision as a conflict (its job runs again on what is committed) — its events are
// never dropped as if they were stored already.
TEST(PostgresStore, TimelineEventsFromTwoNodesAtOnceConflictAndAreNotLost) {
  std::string url = test::PostgresServer::shared().new_database();
  auto a = open_postgres_store(url), b = open_postgres_store(url);
  auto event = [](TimeMs at, std::string side) {
    return TimelineEvent{at, std::move(side), "dev", "first_audio_sent", boost::json::object{}};
  };
  a->begin();
  b->begin();
  EXPECT_EQ(a->append_events("c1", {event(1000, "caller"), event(1001, "caller")}, 600), 2u);
  expect_conflict_once_committed(*a,
                                 [&] { b->append_events("c1", {event(1000, "receiver")}, 600); });
  b->rollback();
  b->begin();  // the job again
  EXPECT_EQ(b->append_events("c1", {event(1000, "receiver")}, 600), 1u);
  b->commit();
  auto events = a->events_of("c1");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[2].side, "receiver");
}

TEST(PostgresStore, UnreachableIsAClearFailure) {
  try {
    open_postgres_store("postgresql://postgres@127.0.0.1:1/none?connect_timeout=2");
    FAIL() << "connected to nothing";
  } catch (const StoreError& e) {
    EXPECT_EQ(e.kind(), StoreError::Kind::failure);
    EXPECT_NE(std::string(e.what()).find("cannot connect to PostgreSQL"), std::string::npos);
  }
}

TEST_P(StoreConformance, ASharedSecretIsDecidedOnce) {
  std::string first, second;
  tx([&](Store& s) { first = s.shared_secret("dev_token_key", "first-node-key"); });
  tx([&](Store& s) { second = s.shared_secret("dev_token_key", "second-node-key"); });
  EXPECT_EQ(first, "first-node-key");
  EXPECT_EQ(second, "first-node-key");  // the second node takes the first one's
  std::string rolledBack;
  store_->begin();
  EXPECT_EQ(store_->shared_secret("other", "x"), "x");
  store_->rollback();
  tx([&](Store& s) { rolledBack = s.shared_secret("other", "y"); });
  EXPECT_EQ(rolledBack, "y");
}

QueuedPush queued(std::string id, std::string callId, std::string kind, TimeMs expires) {
  return {std::move(id), std::move(callId), std::move(kind), "bob", "b-phone", "{}", expires, 0};
}

std::vector<std::string> ids_of(const std::vector<QueuedPush>& pushes) {
  std::vector<std::string> out;
  for (const auto& p : pushes) out.push_back(p.pushId);
  std::sort(out.begin(), out.end());
  return out;
}

TEST_P(StoreConformance, ThePushOutboxLeasesRenewsAndHandsOverPushes) {
  tx([&](Store& s) {
    s.add_push(queued("p1", "c1", "incoming_call", 100'000), "node-a", 10'000);
    s.add_push(queued("p2", "c1", "missed_call", 100'000), "node-a", 10'000);
    s.add_push(queued("p3", "c2", "incoming_call", 100'000), "node-b", 20'000);
  });
  // Leases not run out: nothing to take, and a node never takes its own.
  tx([&](Store& s) { EXPECT_TRUE(s.claim_pushes("node-b", 5'000, 35'000, 10, false).empty()); });
  tx([&](Store& s) { EXPECT_TRUE(s.claim_pushes("node-a", 15'000, 45'000, 10, false).empty()); });
  // node-a renews; node-b does not: at 25 s node-a's are still its own, node-b's are due.
  tx([&](Store& s) { s.renew_pushes("node-a", 40'000); });
  std::vector<QueuedPush> taken;
  tx([&](Store& s) { taken = s.claim_pushes("node-a", 25'000, 55'000, 10, false); });
  ASSERT_EQ(ids_of(taken), std::vector<std::string>{"p3"});
  EXPECT_EQ(taken[0].callId, "c2");
  EXPECT_EQ(taken[0].kind, "incoming_call");
  EXPECT_EQ(taken[0].userId, "bob");
  EXPECT_EQ(taken[0].deviceId, "b-phone");
  EXPECT_EQ(taken[0].notice, "{}");
  EXPECT_EQ(taken[0].expiresAt, 100'000);
  EXPECT_EQ(taken[0].claims, 1);
  // A node alone on its store takes every other owner's at once, however long their lease.
  tx([&](Store& s) { taken = s.claim_pushes("node-c", 26'000, 56'000, 10, true); });
  EXPECT_EQ(ids_of(taken), (std::vector<std::string>{"p1", "p2", "p3"}));
  // The limit holds, oldest lease first.
  tx([&](Store& s) { s.renew_pushes("node-c", 0); });
  tx([&](Store& s) { taken = s.claim_pushes("node-d", 1'000, 60'000, 2, false); });
  EXPECT_EQ(taken.size(), 2u);
  // Finished and no longer ringing ones go; a rolled-back claim leaves the row as it was.
  tx([&](Store& s) {
    s.delete_push("p2");
    s.delete_incoming_pushes("c1");
  });
  store_->begin();
  EXPECT_EQ(store_->claim_pushes("node-e", 70'000, 90'000, 10, false).size(), 1u);
  store_->rollback();
  tx([&](Store& s) { taken = s.claim_pushes("node-e", 70'000, 90'000, 10, false); });
  ASSERT_EQ(ids_of(taken), std::vector<std::string>{"p3"});
  EXPECT_EQ(taken[0].claims, 3);  // node-a, node-c (or node-d), node-e
  // Expired, or taken over too often (its nodes keep dying on it): purged.
  tx([&](Store& s) { s.add_push(queued("p4", "c3", "missed_call", 200'000), "node-a", 0); });
  tx([&](Store& s) { EXPECT_EQ(s.purge_pushes(150'000, 3), 1u); });  // p3: 3 claims
  tx([&](Store& s) { EXPECT_EQ(s.purge_pushes(200'000, 3), 1u); });  // p4 expired
  tx([&](Store& s) { EXPECT_TRUE(s.claim_pushes("node-f", 300'000, 0, 10, true).empty()); });
}

// Two nodes taking over at the same moment: the second skips the rows the first is claiming
// (SKIP LOCKED) and takes the others at once, instead of waiting for the first's commit.
TEST(PostgresStore, TwoNodesTakingOverPushesSplitThemWithoutWaiting) {
  std::string url = test::PostgresServer::shared().new_database();
  auto a = open_postgres_store(url), b = open_postgres_store(url);
  a->begin();
  for (int i = 0; i < 6; ++i)
    a->add_push(queued("p" + std::to_string(i), "c1", "missed_call", 100'000), "dead-node", i);
  a->commit();
  a->begin();
  b->begin();
  auto byA = a->claim_pushes("node-a", 1'000, 50'000, 3, false);
  // Node a commits 2 s from now: a node b that waited for it would take that long.
  std::thread commit_a([&] {
    std::this_thread::sleep_for(std::chrono::seconds(2));
    a->commit();
  });
  auto started = std::chrono::steady_clock::now();
  auto byB = b->claim_pushes("node-b", 1'000, 50'000, 10, false);
  auto waited = std::chrono::steady_clock::now() - started;
  commit_a.join();
  b->commit();
  EXPECT_LT(waited, std::chrono::seconds(1)) << "node b waited for node a's transaction";
  EXPECT_EQ(ids_of(byA), (std::vector<std::string>{"p0", "p1", "p2"}));
  EXPECT_EQ(ids_of(byB), (std::vector<std::string>{"p3", "p4", "p5"}));
}

INSTANTIATE_TEST_SUITE_P(Backends, StoreConformance, ::testing::ValuesIn(backends()),
                         [](const auto& info) { return info.param.name; });

}  // namespace
}  // namespace dialtone
