// SPDX-License-Identifier: Apache-2.0
// The full state × event × actor matrix of the call state machine, plus the details of each
// transition (reasons, flags, timestamps, versions) and of create.
#include <gtest/gtest.h>

#include <map>

#include "core/state_machine.hpp"

namespace dialtone {
namespace {

constexpr TimeMs T0 = 1'700'000'000'000;

const std::vector<CallState> kStates = {
    CallState::calling,   CallState::ringing, CallState::accepted, CallState::connecting,
    CallState::connected, CallState::ended,   CallState::rejected, CallState::timeout,
    CallState::busy,      CallState::failed};

// A canonical document in each state, as the server would have produced it.
Call fixture(CallState s) {
  Call c;
  c.callId = "call1";
  c.callerId = "alice";
  c.receiverId = "bob";
  c.callerName = "Alice";
  c.receiverName = "Bob";
  c.timestamp = T0;
  c.lastUpdated = T0;
  c.ringDeadline = T0 + 45'000;
  c.callerDeviceId = "dev-c";
  c.version = 5;
  c.state = s;
  switch (s) {
    case CallState::calling:
      break;
    case CallState::ringing:
      c.ringingDeviceIds = {"dev-r1"};
      break;
    case CallState::connecting:
      c.callerReady = true;
      [[fallthrough]];
    case CallState::accepted:
      c.ringingDeviceIds = {"dev-r1"};
      c.answeredBy = "dev-r1";
      c.acceptedAt = T0 + 1000;
      break;
    case CallState::connected:
      c.answeredBy = "dev-r1";
      c.acceptedAt = T0 + 1000;
      c.callerReady = c.receiverReady = true;
      c.connectedAt = T0 + 2000;
      break;
    case CallState::ended:
      c.terminatedBy = "alice";
      c.reason = "ended_by_user";
      break;
    case CallState::rejected:
      c.terminatedBy = "bob";
      c.reason = "rejected_by_receiver";
      break;
    case CallState::timeout:
      c.reason = "timeout";
      break;
    case CallState::busy:
      c.reason = "busy";
      break;
    case CallState::failed:
      c.terminatedBy = "alice";
      c.reason = "media_failed";
      break;
  }
  return c;
}

const std::map<std::string, Actor> kActors = {
    {"caller", {"alice", "dev-c"}},
    {"r1", {"bob", "dev-r1"}},  // the receiver's ringing / answering device
    {"r2", {"bob", "dev-r2"}},  // another device of the receiver
    {"stranger", {"carol", "dev-x"}},
    {"server", {}},
};

// Cells: "=" ok and unchanged; "→state" ok and changed; otherwise the HTTP status of the error.
struct Row {
  Event event;
  std::string actor;
  std::array<const char*, 10> cells;  // calling ringing accepted connecting connected
                                      // ended rejected timeout busy failed
};

// clang-format off
const std::vector<Row> kMatrix = {
  {Event::ringing, "caller",   {"403","403","403","403","403","403","403","403","403","403"}},
  {Event::ringing, "r1",       {"→ringing","=","409","409","409","409","409","409","409","409"}},
  {Event::ringing, "r2",       {"→ringing","→ringing","409","409","409","409","409","409","409","409"}},
  {Event::ringing, "stranger", {"404","404","404","404","404","404","404","404","404","404"}},
  {Event::accept,  "caller",   {"403","403","403","403","403","403","403","403","403","403"}},
  {Event::accept,  "r1",       {"→accepted","→accepted","=","=","=","409","409","409","409","409"}},
  {Event::accept,  "r2",       {"→accepted","→accepted","409","409","409","409","409","409","409","409"}},
  {Event::accept,  "stranger", {"404","404","404","404","404","404","404","404","404","404"}},
  {Event::reject,  "caller",   {"403","403","403","403","403","403","403","403","403","403"}},
  {Event::reject,  "r1",       {"→rejected","→rejected","409","409","409","409","=","409","409","409"}},
  {Event::reject,  "r2",       {"→rejected","→rejected","409","409","409","409","=","409","409","409"}},
  {Event::reject,  "stranger", {"404","404","404","404","404","404","404","404","404","404"}},
  {Event::ready,   "caller",   {"409","409","→connecting","=","=","409","409","409","409","409"}},
  {Event::ready,   "r1",       {"409","409","→connecting","→connected","=","409","409","409","409","409"}},
  {Event::ready,   "r2",       {"409","409","→connecting","→connected","=","409","409","409","409","409"}},
  {Event::ready,   "stranger", {"404","404","404","404","404","404","404","404","404","404"}},
  {Event::end,     "caller",   {"→ended","→ended","→ended","→ended","→ended","=","409","409","409","409"}},
  {Event::end,     "r1",       {"→rejected","→rejected","→ended","→ended","→ended","409","=","409","409","409"}},
  {Event::end,     "r2",       {"→rejected","→rejected","→ended","→ended","→ended","409","=","409","409","409"}},
  {Event::end,     "stranger", {"404","404","404","404","404","404","404","404","404","404"}},
  {Event::fail,    "caller",   {"→failed","→failed","→failed","→failed","→failed","409","409","409","409","="}},
  {Event::fail,    "r1",       {"→failed","→failed","→failed","→failed","→failed","409","409","409","409","409"}},
  {Event::fail,    "stranger", {"404","404","404","404","404","404","404","404","404","404"}},
  {Event::mute,    "caller",   {"409","409","→accepted","→connecting","→connected","409","409","409","409","409"}},
  {Event::mute,    "r1",       {"409","409","→accepted","→connecting","→connected","409","409","409","409","409"}},
  {Event::mute,    "r2",       {"409","409","→accepted","→connecting","→connected","409","409","409","409","409"}},
  {Event::mute,    "stranger", {"404","404","404","404","404","404","404","404","404","404"}},
  {Event::signal,  "caller",   {"409","409","=","=","=","409","409","409","409","409"}},
  {Event::signal,  "r1",       {"409","409","=","=","=","409","409","409","409","409"}},
  {Event::signal,  "stranger", {"404","404","404","404","404","404","404","404","404","404"}},
  {Event::ring_timeout,  "server", {"→timeout","→timeout","409","409","409","409","409","409","409","409"}},
  {Event::media_timeout, "server", {"409","409","→failed","→failed","409","409","409","409","409","409"}},
  {Event::presence_lost, "caller", {"→ended","→ended","→ended","→ended","→ended","409","409","409","409","409"}},
  {Event::presence_lost, "r1",     {"409","409","→ended","→ended","→ended","409","409","409","409","409"}},
};
// clang-format on

TEST(StateMachineMatrix, EveryCell) {
  int cells = 0;
  for (const auto& row : kMatrix) {
    for (size_t i = 0; i < kStates.size(); ++i) {
      Call before = fixture(kStates[i]);
      Intent in{row.event, std::nullopt, true};
      if (row.event == Event::fail) in.reason = "media_failed";
      Transition t = apply(before, in, kActors.at(row.actor), T0 + 10'000);
      std::string want = row.cells[i];
      SCOPED_TRACE(std::string(event_name(row.event)) + " by " + row.actor + " in " +
                   std::string(state_name(kStates[i])));
      ++cells;
      if (want == "=") {
        EXPECT_EQ(t.error, ErrorCode::ok);
        EXPECT_FALSE(t.changed);
        EXPECT_EQ(t.call.version, before.version);
        EXPECT_EQ(t.call.state, before.state);
      } else if (want.rfind("→", 0) == 0) {
        EXPECT_EQ(t.error, ErrorCode::ok);
        EXPECT_TRUE(t.changed);
        EXPECT_EQ(state_name(t.call.state), want.substr(std::string("→").size()));
        EXPECT_EQ(t.call.version, before.version + 1);
        EXPECT_EQ(t.call.lastUpdated, T0 + 10'000);
      } else {
        EXPECT_EQ(http_status(t.error), std::stoi(want));
        EXPECT_FALSE(t.changed);
        EXPECT_EQ(t.call.version, before.version);  // refused: nothing changes
      }
    }
  }
  EXPECT_EQ(cells, 340);
}

TEST(StateMachineMatrix, TerminalStatesAreNeverLeft) {
  for (CallState s : kStates) {
    if (is_active(s)) continue;
    for (const auto& [name, actor] : kActors)
      for (Event e : {Event::ringing, Event::accept, Event::reject, Event::ready, Event::end,
                      Event::fail, Event::mute, Event::signal, Event::ring_timeout,
                      Event::media_timeout, Event::presence_lost}) {
        Transition t = apply(fixture(s), Intent{e, "x", true}, actor, T0 + 5000);
        EXPECT_EQ(t.call.state, s);
        EXPECT_FALSE(t.changed);
      }
  }
}

TEST(StateMachine, RingingCountsDistinctDevices) {
  Call c = fixture(CallState::calling);
  auto t1 = apply(c, {Event::ringing}, {"bob", "d1"}, T0 + 1);
  EXPECT_EQ(t1.call.ringingDeviceIds.size(), 1u);
  EXPECT_EQ(t1.actions, std::vector<Action>{Action::log_received});
  auto t2 = apply(t1.call, {Event::ringing}, {"bob", "d2"}, T0 + 2);
  EXPECT_EQ(t2.call.ringingDeviceIds.size(), 2u);
  EXPECT_TRUE(t2.actions.empty());
  auto t3 = apply(t2.call, {Event::ringing}, {"bob", "d1"}, T0 + 3);
  EXPECT_FALSE(t3.changed);
  EXPECT_EQ(t3.call.ringingDeviceIds.size(), 2u);
}

TEST(StateMachine, AcceptRecordsDeviceAndStartsMediaClock) {
  auto t = apply(fixture(CallState::ringing), {Event::accept}, {"bob", "dev-r2"}, T0 + 7);
  EXPECT_EQ(t.call.answeredBy, "dev-r2");
  EXPECT_EQ(t.call.acceptedAt, T0 + 7);
  EXPECT_EQ(t.call.next_deadline(30'000), T0 + 7 + 30'000);
  EXPECT_NE(std::find(t.actions.begin(), t.actions.end(), Action::require_receiver_presence),
            t.actions.end());
}

TEST(StateMachine, ConnectedOnlyWhenBothReadyWithOneTimestamp) {
  auto a = apply(fixture(CallState::accepted), {Event::ready}, {"bob", "dev-r1"}, T0 + 100);
  EXPECT_EQ(a.call.state, CallState::connecting);
  EXPECT_FALSE(a.call.connectedAt);
  auto b = apply(a.call, {Event::ready}, {"alice", "dev-c"}, T0 + 200);
  EXPECT_EQ(b.call.state, CallState::connected);
  EXPECT_EQ(b.call.connectedAt, T0 + 200);
  EXPECT_FALSE(b.call.next_deadline(30'000));
  EXPECT_EQ(to_public_json(b.call).at("callStartedAt"), to_public_json(b.call).at("connectedAt"));
}

TEST(StateMachine, EndReasonsAndDuration) {
  auto cancel = apply(fixture(CallState::ringing), {Event::end}, {"alice", "dev-c"}, T0 + 1);
  EXPECT_EQ(cancel.call.reason, "cancelled");
  EXPECT_EQ(cancel.call.state, CallState::ended);
  auto decline = apply(fixture(CallState::calling), {Event::end}, {"bob", "d"}, T0 + 1);
  EXPECT_EQ(decline.call.state, CallState::rejected);
  EXPECT_EQ(decline.call.reason, "rejected_by_receiver");
  auto hang = apply(fixture(CallState::connected), {Event::end}, {"bob", "d"}, T0 + 2000 + 61'999);
  EXPECT_EQ(hang.call.reason, "ended_by_user");
  EXPECT_EQ(hang.call.durationSeconds, 61);  // whole seconds, rounded down
  auto custom = apply(fixture(CallState::connected), {Event::end, "bye"}, {"bob", "d"}, T0 + 3000);
  EXPECT_EQ(custom.call.reason, "bye");
  auto early = apply(fixture(CallState::accepted), {Event::end}, {"bob", "d"}, T0 + 3000);
  EXPECT_FALSE(early.call.durationSeconds);  // never connected
  for (auto* t : {&cancel, &decline, &hang})
    EXPECT_NE(std::find(t->actions.begin(), t->actions.end(), Action::clear_active_calls),
              t->actions.end());
}

TEST(StateMachine, ServerDrivenReasons) {
  EXPECT_EQ(apply(fixture(CallState::ringing), {Event::ring_timeout}, {}, T0).call.reason,
            "timeout");
  EXPECT_EQ(apply(fixture(CallState::accepted), {Event::media_timeout}, {}, T0).call.reason,
            "media_timeout");
  auto net = apply(fixture(CallState::connected), {Event::presence_lost}, {"alice", ""}, T0 + 5000);
  EXPECT_EQ(net.call.reason, "network");
  EXPECT_EQ(net.call.durationSeconds, 3);
}

TEST(StateMachine, MuteSetsOnlyTheSendersFlag) {
  auto t =
      apply(fixture(CallState::connected), {Event::mute, std::nullopt, true}, {"bob", "x"}, T0);
  EXPECT_TRUE(t.call.receiverMuted);
  EXPECT_FALSE(t.call.callerMuted);
  auto again = apply(t.call, {Event::mute, std::nullopt, true}, {"bob", "x"}, T0);
  EXPECT_FALSE(again.changed);
}

// ---- create --------------------------------------------------------------------------------

CreateInput base_create() {
  CreateInput in;
  in.caller = {"alice", "dev-c"};
  in.callerProfile = {"alice", "Alice", "https://a"};
  in.receiverId = "bob";
  in.receiver = Profile{"bob", "Bob", "https://b"};
  in.newCallId = "new1";
  in.now = T0;
  in.ringTimeoutMs = 45'000;
  return in;
}

TEST(Create, NewCallIsCallingWithDeadline) {
  auto d = decide_create(base_create());
  ASSERT_EQ(d.kind, CreateDecision::Kind::created);
  EXPECT_EQ(d.call->state, CallState::calling);
  EXPECT_EQ(d.call->ringDeadline, T0 + 45'000);
  EXPECT_EQ(d.call->receiverName, "Bob");
  EXPECT_EQ(d.call->callerPhoto, "https://a");
  EXPECT_EQ(d.call->version, 1);
  EXPECT_EQ(to_public_json(*d.call).at("channelName"), "new1");
}

TEST(Create, ChecksInContractOrder) {
  auto self = base_create();
  self.receiverId = "alice";
  EXPECT_EQ(decide_create(self).error, ErrorCode::bad_request);

  auto unknown = base_create();
  unknown.receiver.reset();
  unknown.callerActive = fixture(CallState::connected);  // 404 comes before the caller's call
  EXPECT_EQ(decide_create(unknown).error, ErrorCode::not_found);

  auto glare = base_create();
  Call bobCalling = fixture(CallState::ringing);
  std::swap(bobCalling.callerId, bobCalling.receiverId);  // bob → alice
  glare.callerActive = bobCalling;
  glare.receiverActive = bobCalling;
  auto g = decide_create(glare);
  ASSERT_EQ(g.kind, CreateDecision::Kind::glare);
  EXPECT_EQ(g.call->state, CallState::accepted);
  EXPECT_EQ(g.call->answeredBy, "dev-c");

  auto retry = base_create();
  retry.callerActive = fixture(CallState::calling);
  retry.receiverActive = fixture(CallState::calling);
  EXPECT_EQ(decide_create(retry).kind, CreateDecision::Kind::retry);

  auto inCall = base_create();
  inCall.callerActive = fixture(CallState::connected);  // alice ↔ bob connected, calls bob again
  auto ic = decide_create(inCall);
  EXPECT_EQ(ic.error, ErrorCode::already_in_call);
  EXPECT_EQ(ic.call->callId, "call1");

  auto busy = base_create();
  Call other = fixture(CallState::connected);
  other.callerId = "carol";
  busy.receiverActive = other;
  auto b = decide_create(busy);
  ASSERT_EQ(b.kind, CreateDecision::Kind::busy_stored);
  EXPECT_EQ(b.error, ErrorCode::busy);
  EXPECT_EQ(b.call->state, CallState::busy);
  EXPECT_EQ(b.call->reason, "busy");
}

TEST(Create, GlareOnlyWhileUnanswered) {
  auto in = base_create();
  Call bobToAlice = fixture(CallState::accepted);
  std::swap(bobToAlice.callerId, bobToAlice.receiverId);
  in.callerActive = bobToAlice;
  EXPECT_EQ(decide_create(in).error, ErrorCode::already_in_call);
}

TEST(Direction, FromEachSide) {
  Call c = fixture(CallState::ended);
  EXPECT_EQ(direction_for(c, "alice"), Direction::dialed);
  EXPECT_EQ(direction_for(c, "bob"), Direction::missed);
  EXPECT_EQ(direction_for(fixture(CallState::rejected), "bob"), Direction::declined);
  Call answered = fixture(CallState::connected);
  EXPECT_EQ(direction_for(answered, "bob"), Direction::received);
}

}  // namespace
}  // namespace dialtone
