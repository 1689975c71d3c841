// SPDX-License-Identifier: Apache-2.0
// The call service without a process: an in-memory store, a presence set the test controls, a
// clock the test moves, and an outbox that records what leaves after each commit.
#include <gtest/gtest.h>

#include <boost/json/parse.hpp>

#include <algorithm>
#include <set>

#include "server/calls/call_service.hpp"
#include "store/memory_store.hpp"

namespace dialtone {
namespace {

constexpr TimeMs kStart = 1'800'000'000'000;
constexpr TimeMs kGrace = 5'000;

struct FakePresence final : Presence {
  std::set<std::pair<std::string, std::string>> devices;
  bool user_online(const std::string& u) const override {
    return std::any_of(devices.begin(), devices.end(), [&](auto& d) { return d.first == u; });
  }
  bool device_online(const std::string& u, const std::string& d) const override {
    return devices.count({u, d}) != 0;
  }
};

struct RecordingOutbox final : Outbox {
  std::vector<std::vector<Effect>> batches;
  void deliver(std::vector<Effect> effects, TimeMs) override {
    batches.push_back(std::move(effects));
  }
  std::vector<Effect> all() const {
    std::vector<Effect> out;
    for (auto& b : batches) out.insert(out.end(), b.begin(), b.end());
    return out;
  }
  // The states the committed changes of `callId` went through, in order.
  std::vector<CallState> states() const {
    std::vector<CallState> out;
    for (auto& e : all())
      if (auto* c = std::get_if<CallChanged>(&e)) out.push_back(c->call->state);
    return out;
  }
};

class CallServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_.begin();
    store_.upsert_user({"alice", "Alice", ""}, kStart);
    store_.upsert_user({"bob", "Bob", ""}, kStart);
    store_.commit();
    service_.load(store_, now_);
  }

  // One batch, as the committer runs it: the jobs (each in a savepoint), the server's own
  // changes, the commit, then the effects delivered.
  template <class F>
  void batch(F&& jobs) {
    Tx tx{store_, now_};
    store_.begin();
    service_.begin(tx);
    jobs(tx);
    service_.before_commit(tx);
    store_.commit();
    if (auto publish = service_.finish(tx, true)) publish();
  }
  void tick() {
    batch([](Tx&) {});
  }

  OpResult op(const std::string& user, const std::string& device, Op o,
              std::optional<std::string> reason = std::nullopt) {
    Request r;
    r.op = o;
    r.callId = callId_;
    r.receiverId = user == "alice" ? "bob" : "alice";
    r.reason = std::move(reason);
    OpResult out;
    batch([&](Tx& tx) {
      out = service_.op(tx, Principal{user, "", "", 0}, device, r);
      if (o == Op::create && out.call) callId_ = out.call->callId;
    });
    return out;
  }

  // Alice on her phone calls Bob, who answers on his phone; both ready: connected.
  void connected_call() {
    presence_.devices = {{"alice", "a-phone"}, {"bob", "b-phone"}};
    ASSERT_EQ(op("alice", "a-phone", Op::create).status, 201);
    ASSERT_EQ(op("bob", "b-phone", Op::ringing).error, ErrorCode::ok);
    ASSERT_EQ(op("bob", "b-phone", Op::accept).error, ErrorCode::ok);
    ASSERT_EQ(op("alice", "a-phone", Op::ready).error, ErrorCode::ok);
    ASSERT_EQ(op("bob", "b-phone", Op::ready).error, ErrorCode::ok);
    ASSERT_EQ(state(), CallState::connected);
  }

  // A device's last session closed at `now_`.
  void gone(const std::string& user, const std::string& device) {
    presence_.devices.erase({user, device});
    batch([&](Tx& tx) { service_.device_presence(tx, user, device, false, now_); });
  }
  void back(const std::string& user, const std::string& device) {
    presence_.devices.insert({user, device});
    batch([&](Tx& tx) { service_.device_presence(tx, user, device, true, now_); });
  }

  CallState state() { return store_.get_call(callId_)->state; }

  MemoryStore store_;
  FakePresence presence_;
  RecordingOutbox outbox_;
  static CallOptions options() {
    CallOptions o;
    o.presenceGraceMs = kGrace;
    o.ringTimeoutMs = 45'000;
    o.mediaTimeoutMs = 30'000;
    return o;
  }
  CallOptions opts_ = options();
  CallService service_{opts_, presence_, outbox_};
  TimeMs now_ = kStart;
  std::string callId_;
};

TEST_F(CallServiceTest, EachCommittedChangeLeavesOnceInOrder) {
  connected_call();
  op("alice", "a-phone", Op::end);
  EXPECT_EQ(outbox_.states(), (std::vector<CallState>{CallState::calling, CallState::ringing,
                                                      CallState::accepted, CallState::connecting,
                                                      CallState::connected, CallState::ended}));
  auto first = std::get<CallChanged>(outbox_.all().front());
  EXPECT_FALSE(first.from) << "created";
  EXPECT_EQ(first.actorDevice, "a-phone");
  EXPECT_EQ(*first.doc, to_public_string(*first.call));
}

TEST_F(CallServiceTest, ARefusedOpChangesNothingAndSendsNothing) {
  connected_call();
  std::size_t before = outbox_.all().size();
  auto r = op("bob", "b-phone", Op::reject);
  EXPECT_EQ(r.error, ErrorCode::invalid_transition);
  EXPECT_EQ(outbox_.all().size(), before);
  EXPECT_EQ(state(), CallState::connected);
}

TEST_F(CallServiceTest, ARolledBackSavepointTakesItsEffectsWithIt) {
  presence_.devices = {{"alice", "a-phone"}};
  batch([&](Tx& tx) {
    std::size_t mark = service_.mark();
    store_.savepoint();
    Request r;
    r.op = Op::create;
    r.receiverId = "bob";
    service_.op(tx, Principal{"alice", "", "", 0}, "a-phone", r);
    store_.rollback_to_savepoint();
    service_.undo(mark);
  });
  EXPECT_TRUE(outbox_.all().empty());
  EXPECT_FALSE(store_.active_call_of("alice"));
}

TEST_F(CallServiceTest, ABatchThatFailsToCommitSendsNothing) {
  presence_.devices = {{"alice", "a-phone"}};
  Tx tx{store_, now_};
  store_.begin();
  service_.begin(tx);
  Request r;
  r.op = Op::create;
  r.receiverId = "bob";
  service_.op(tx, Principal{"alice", "", "", 0}, "a-phone", r);
  store_.rollback();
  EXPECT_FALSE(service_.finish(tx, false));
  EXPECT_TRUE(outbox_.all().empty());
}

TEST_F(CallServiceTest, SignalsLeaveAfterTheCommitForTheOtherParticipant) {
  connected_call();
  Request r;
  r.op = Op::signal;
  r.callId = callId_;
  r.data = boost::json::object{{"type", "offer"}, {"sdp", "v=0"}};
  batch([&](Tx& tx) {
    service_.op(tx, Principal{"alice", "", "", 0}, "a-phone", r);
    EXPECT_FALSE(std::holds_alternative<SignalSent>(outbox_.all().back()))
        << "nothing leaves before the commit";
  });
  auto effects = outbox_.all();
  auto* s = std::get_if<SignalSent>(&effects.back());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->fromUser, "alice");
  EXPECT_EQ(s->call.callId, callId_);
}

TEST_F(CallServiceTest, TheRingTimeoutFiresOnceAtItsDeadline) {
  presence_.devices = {{"alice", "a-phone"}};
  op("alice", "a-phone", Op::create);
  now_ = kStart + 45'000 - 1;
  tick();
  EXPECT_EQ(state(), CallState::calling);
  EXPECT_EQ(service_.next_wake(), kStart + 45'000);
  now_ = kStart + 45'000;
  tick();
  tick();
  EXPECT_EQ(state(), CallState::timeout);
  auto states = outbox_.states();
  EXPECT_EQ(std::count(states.begin(), states.end(), CallState::timeout), 1);
}

// The issue's case: Bob answers on his phone while his laptop is online; the phone dies.
TEST_F(CallServiceTest, TheAnsweringDeviceGoneEndsTheCallThoughItsOwnerHasAnother) {
  connected_call();
  presence_.devices.insert({"bob", "b-laptop"});
  gone("bob", "b-phone");
  now_ += kGrace - 1;
  tick();
  EXPECT_EQ(state(), CallState::connected) << "still within the grace";
  ASSERT_EQ(service_.next_wake().value_or(0), now_ + 1);
  now_ += 1;
  tick();
  auto c = store_.get_call(callId_);
  EXPECT_EQ(c->state, CallState::ended);
  EXPECT_EQ(c->reason.value_or(""), "network");
  auto log = std::get<LogLine>(outbox_.all().back());
  EXPECT_EQ(log.text.find("PRESENCE_LOST callId=" + callId_ + " user=bob device=b-phone"), 0u);
}

TEST_F(CallServiceTest, ADeviceBackWithinTheGraceKeepsTheCall) {
  connected_call();
  gone("bob", "b-phone");
  now_ += kGrace - 100;
  back("bob", "b-phone");
  now_ += 10 * kGrace;
  tick();
  EXPECT_EQ(state(), CallState::connected);
}

TEST_F(CallServiceTest, TheCallersDeviceGoneEndsTheCallThoughTheCallerHasAnotherTab) {
  connected_call();
  presence_.devices.insert({"alice", "a-tab2"});
  gone("alice", "a-phone");
  now_ += kGrace;
  tick();
  EXPECT_EQ(state(), CallState::ended);
}

TEST_F(CallServiceTest, AnotherDeviceOfTheReceiverGoingAwayIsNotTheCallsBusiness) {
  connected_call();
  presence_.devices.insert({"bob", "b-laptop"});
  gone("bob", "b-laptop");
  now_ += 10 * kGrace;
  tick();
  EXPECT_EQ(state(), CallState::connected);
}

TEST_F(CallServiceTest, RingingNeedsNoDeviceOfTheReceiver) {
  presence_.devices = {{"alice", "a-phone"}};  // none of Bob's: he is woken by push
  op("alice", "a-phone", Op::create);
  now_ += 8 * kGrace;  // well past the grace, before the ring timeout
  tick();
  EXPECT_EQ(state(), CallState::calling);
}

TEST_F(CallServiceTest, ACallerWhoNeverConnectsLosesTheCallAfterTheGrace) {
  op("alice", "http", Op::create);  // created over HTTP; no session on that device
  now_ += kGrace;
  tick();
  EXPECT_EQ(state(), CallState::ended);
}

TEST_F(CallServiceTest, AnHttpCallerWithoutADeviceIdNeedsAnyOfItsDevices) {
  presence_.devices = {{"alice", "a-laptop"}};
  op("alice", "http", Op::create);  // over HTTP, naming no device: any of Alice's will do
  now_ += 4 * kGrace;
  tick();
  EXPECT_EQ(state(), CallState::calling);
  gone("alice", "a-laptop");  // her last device
  now_ += kGrace;
  tick();
  EXPECT_EQ(state(), CallState::ended);
}

TEST_F(CallServiceTest, GlareAcceptsTheOtherCallAndLogsIt) {
  presence_.devices = {{"alice", "a-phone"}, {"bob", "b-phone"}};
  op("alice", "a-phone", Op::create);
  std::string first = callId_;
  auto r = op("bob", "b-phone", Op::create);
  EXPECT_EQ(r.error, ErrorCode::ok);
  EXPECT_EQ(r.call->callId, first);
  EXPECT_EQ(state(), CallState::accepted);
  auto log = std::get<LogLine>(outbox_.all().back());
  EXPECT_EQ(log.text.find("CALL_GLARE callId=" + first), 0u);
}

TEST_F(CallServiceTest, AfterARestartTheCallsDevicesAreWatchedAgain) {
  connected_call();
  // A new service on the same store, as after a restart: nobody has reconnected yet.
  presence_.devices.clear();
  RecordingOutbox outbox;
  CallService restarted(opts_, presence_, outbox);
  now_ += 1000;
  restarted.load(store_, now_);
  EXPECT_EQ(restarted.next_wake(), now_ + kGrace);
}

// The pushes a change plans are in the store's outbox with it, leased to this node; the end of
// the ring takes the incoming-call pushes out of it; a restarted node (alone on its store) takes
// over what is left, and only the pushes still worth sending.
TEST_F(CallServiceTest, PushesAreWrittenToTheOutboxWithTheChangeThatPlansThem) {
  service_.set_pushable([](Platform) { return true; });
  store_.begin();
  store_.put_device({"bob", "b-phone", Platform::fcm, "fcm-token", "", "", kStart});
  store_.put_device({"bob", "b-tab", Platform::fcm, "fcm-token-2", "", "", kStart});
  store_.commit();
  // What is queued in the outbox now, as a node that takes everything over would see it (and
  // then rolls back).
  auto queued = [&] {
    store_.begin();
    auto all = store_.claim_pushes("peek", now_, now_, 100, true);
    store_.rollback();
    std::vector<std::pair<std::string, std::string>> out;  // (kind, device)
    for (auto& q : all) out.emplace_back(q.kind, q.deviceId);
    std::sort(out.begin(), out.end());
    return out;
  };
  presence_.devices = {{"alice", "a-phone"}};
  ASSERT_EQ(op("alice", "a-phone", Op::create).status, 201);
  using Rows = std::vector<std::pair<std::string, std::string>>;
  EXPECT_EQ(queued(), (Rows{{"incoming_call", "b-phone"}, {"incoming_call", "b-tab"}}));
  auto created = std::get<CallChanged>(outbox_.all().front());
  ASSERT_EQ(created.pushes.size(), 1u);
  EXPECT_EQ(created.pushes[0].devices.size(), 2u);
  EXPECT_EQ(created.pushes[0].pushIds.size(), 2u);

  // A restart while it rings: the new node takes both over (it is alone on the store).
  RecordingOutbox outbox;
  CallOptions o = opts_;
  o.pushOwner = "restarted";
  CallService restarted(o, presence_, outbox);
  restarted.set_pushable([](Platform) { return true; });
  restarted.load(store_, now_);
  std::vector<PushPlan> taken;
  batch([&](Tx& tx) { taken = restarted.tend_pushes(tx, true); });
  ASSERT_EQ(taken.size(), 2u);
  EXPECT_EQ(taken[0].notice->kind, NoticeKind::incoming_call);
  EXPECT_EQ(taken[0].notice->callId, callId_);
  EXPECT_EQ(taken[0].notice->callerName, "alice");
  EXPECT_EQ(taken[0].devices.at(0).token.rfind("fcm-token", 0), 0u);
  // Taken once: the next round finds them leased to the new node.
  batch([&](Tx& tx) { EXPECT_TRUE(restarted.tend_pushes(tx, true).empty()); });

  // Bob declines on his phone: the incoming-call pushes go, a "stop ringing" for the tablet comes.
  ASSERT_EQ(op("bob", "b-phone", Op::reject).error, ErrorCode::ok);
  EXPECT_EQ(queued(), (Rows{{"call_cancelled", "b-tab"}}));
  // A push that is over goes; one for a device that unregistered is dropped when taken over.
  store_.begin();
  store_.delete_device("bob", "b-tab");
  store_.commit();
  batch([&](Tx& tx) { EXPECT_TRUE(restarted.tend_pushes(tx, true).empty()); });
  EXPECT_TRUE(queued().empty());
}

}  // namespace
}  // namespace dialtone

namespace dialtone {
namespace {

// `report`: stored for participants, thinned quality samples, a Reported effect after the commit,
// and a window that closes 10 minutes after the call ended.
class ReportTest : public CallServiceTest {
 protected:
  OpResult report(const std::string& user, const char* events) {
    Request r;
    r.op = Op::report;
    r.callId = callId_;
    r.data = check_report_events(boost::json::parse(events));
    OpResult out;
    batch([&](Tx& tx) { out = service_.op(tx, Principal{user, "", "", 0}, user + "-phone", r); });
    return out;
  }
  std::size_t stored(const std::string& type) {
    std::size_t n = 0;
    for (const auto& e : store_.events_of(callId_)) n += e.type == type;
    return n;
  }
};

TEST_F(ReportTest, QualitySamplesAreThinnedAndEachReportLeavesAfterTheCommit) {
  connected_call();
  const char* sample = R"([{"type":"quality","lossPercent":1,"jitterMs":5}])";
  ASSERT_EQ(report("alice", sample).error, ErrorCode::ok);
  now_ += 1000;  // 1 s later: dropped (at least 4 s apart)
  ASSERT_EQ(report("alice", sample).error, ErrorCode::ok);
  ASSERT_EQ(report("bob", sample).error, ErrorCode::ok);  // the other side has its own spacing
  now_ += 4000;
  ASSERT_EQ(report("alice", sample).error, ErrorCode::ok);
  EXPECT_EQ(stored("quality"), 3u);
  ASSERT_TRUE(std::holds_alternative<Reported>(outbox_.all().back()));
  EXPECT_EQ(std::get<Reported>(outbox_.all().back()).events.size(), 1u);
  EXPECT_EQ(std::get<Reported>(outbox_.all().back()).call.callId, callId_);
}

TEST_F(ReportTest, OnlyParticipantsAndOnlyUntilTenMinutesAfterTheEnd) {
  connected_call();
  const char* ev = R"([{"type":"first_audio_sent"}])";
  auto carol = [&] {
    Request r;
    r.op = Op::report;
    r.callId = callId_;
    r.data = check_report_events(boost::json::parse(ev));
    OpResult out;
    batch([&](Tx& tx) { out = service_.op(tx, Principal{"carol", "", "", 0}, "c", r); });
    return out;
  };
  EXPECT_EQ(carol().error, ErrorCode::not_found);
  ASSERT_EQ(op("alice", "a-phone", Op::end).error, ErrorCode::ok);
  now_ += kReportWindowAfterEndMs;
  EXPECT_EQ(report("bob", ev).error, ErrorCode::ok) << "still inside the window";
  now_ += 1;
  auto late = report("bob", ev);
  EXPECT_EQ(late.error, ErrorCode::invalid_transition);
  EXPECT_EQ(stored("first_audio_sent"), 1u);
}

}  // namespace
}  // namespace dialtone
