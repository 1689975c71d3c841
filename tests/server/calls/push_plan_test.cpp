// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include "core/state_machine.hpp"
#include "server/calls/push_plan.hpp"

namespace dialtone {
namespace {

std::vector<PushDevice> devices() {
  return {{"bob", "phone", Platform::fcm, "t1", "", "", 0},
          {"bob", "iphone", Platform::apns, "aa", "bb", "", 0},
          {"bob", "web", Platform::webpush, "{}", "", "", 0}};
}

Call ringing_call() {
  Call c;
  c.callId = "c1";
  c.callerId = "alice";
  c.callerName = "Alice";
  c.receiverId = "bob";
  c.timestamp = 1000;
  c.ringDeadline = 46000;
  c.state = CallState::ringing;
  return c;
}

std::vector<std::string> ids(const PushPlan& p) {
  std::vector<std::string> out;
  for (auto& d : p.devices) out.push_back(d.deviceId);
  return out;
}

TEST(PushPlan, ACreatedCallRingsEveryDeviceUntilTheRingDeadline) {
  Call c = ringing_call();
  c.state = CallState::calling;
  auto plans = plan_pushes(c, std::nullopt, "alice-laptop", devices(), 1000);
  ASSERT_EQ(plans.size(), 1u);
  EXPECT_EQ(plans[0].notice->kind, NoticeKind::incoming_call);
  EXPECT_EQ(plans[0].notice->expiresAt, 46000);
  EXPECT_EQ(plans[0].devices.size(), 3u);
  EXPECT_TRUE(plan_pushes(c, std::nullopt, "", {}, 1000).empty());
}

TEST(PushPlan, EachWayTheRingEndsHasItsReasonAndTargets) {
  Call c = ringing_call();
  Call accepted = c;
  accepted.state = CallState::accepted;
  accepted.answeredBy = "iphone";
  auto p = plan_pushes(accepted, CallState::ringing, "iphone", devices(), 2000);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].notice->reason, "answered_elsewhere");
  EXPECT_EQ(ids(p[0]), (std::vector<std::string>{"phone", "web"}));

  Call rejected = c;
  rejected.state = CallState::rejected;
  p = plan_pushes(rejected, CallState::ringing, "web", devices(), 2000);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].notice->reason, "declined_elsewhere");
  EXPECT_EQ(ids(p[0]), (std::vector<std::string>{"phone", "iphone"}));

  struct Case {
    CallState state;
    std::optional<std::string> by;
    const char* reason;
  };
  for (const Case& k : {Case{CallState::timeout, std::nullopt, "timeout"},
                        Case{CallState::ended, std::string("alice"), "cancelled"},
                        Case{CallState::ended, std::nullopt, "missed"},
                        Case{CallState::failed, std::string("alice"), "missed"}}) {
    Call e = c;
    e.state = k.state;
    e.terminatedBy = k.by;
    p = plan_pushes(e, CallState::ringing, "", devices(), 2000);
    ASSERT_EQ(p.size(), 2u) << k.reason;
    EXPECT_EQ(p[0].notice->kind, NoticeKind::call_cancelled);
    EXPECT_EQ(p[0].notice->reason, k.reason);
    EXPECT_EQ(p[0].notice->expiresAt, 2000 + kCancelPushTtlMs);
    EXPECT_EQ(p[1].notice->kind, NoticeKind::missed_call);
    EXPECT_EQ(p[1].devices.size(), 3u);
  }

  Call busy = c;
  busy.state = CallState::busy;
  p = plan_pushes(busy, std::nullopt, "", devices(), 2000);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0].notice->kind, NoticeKind::missed_call);
  EXPECT_EQ(p[0].notice->reason, "busy");
}

TEST(PushPlan, NothingOnceAnswered) {
  Call c = ringing_call();
  c.state = CallState::ended;
  EXPECT_TRUE(plan_pushes(c, CallState::connected, "", devices(), 2000).empty());
  c.state = CallState::ringing;
  EXPECT_TRUE(plan_pushes(c, CallState::calling, "", devices(), 2000).empty());
}

TEST(PushResults, CountIntoTheDocumentWhileActiveOnly) {
  Call c = ringing_call();
  c.delivery = PushDelivery{3, 0, 0};
  Transition t = record_push_results(c, 2, 1, 5000);
  ASSERT_TRUE(t.changed);
  EXPECT_EQ(t.call.version, c.version + 1);
  EXPECT_EQ(t.call.delivery->sent, 2);
  EXPECT_EQ(t.call.delivery->failed, 1);
  EXPECT_EQ(t.call.delivery->targets, 3);
  c.state = CallState::timeout;
  EXPECT_FALSE(record_push_results(c, 1, 0, 5000).changed);
  // Round trip through the stored document.
  Call back = call_from_storage_json(to_storage_json(t.call));
  ASSERT_TRUE(back.delivery);
  EXPECT_EQ(back.delivery->sent, 2);
}

}  // namespace
}  // namespace dialtone
