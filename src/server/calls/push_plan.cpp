// SPDX-License-Identifier: Apache-2.0
#include "server/calls/push_plan.hpp"

namespace dialtone {

namespace {

std::shared_ptr<Notice> notice_for(const Call& c, NoticeKind kind, std::string reason,
                                   TimeMs expires) {
  auto n = std::make_shared<Notice>();
  n->kind = kind;
  n->callId = c.callId;
  n->callerId = c.callerId;
  n->callerName = c.callerName;
  n->callerPhoto = c.callerPhoto;
  n->timestamp = c.timestamp;
  n->ringDeadline = c.ringDeadline;
  n->reason = std::move(reason);
  n->expiresAt = expires;
  return n;
}

std::vector<PushDevice> all_but(const std::vector<PushDevice>& devices, const std::string& id) {
  std::vector<PushDevice> out;
  for (const auto& d : devices)
    if (d.deviceId != id) out.push_back(d);
  return out;
}

}  // namespace

bool may_push(const Call& c, std::optional<CallState> from) {
  if (!from) return c.state == CallState::calling || c.state == CallState::busy;
  return is_unanswered(*from) && !is_unanswered(c.state);
}

std::vector<PushPlan> plan_pushes(const Call& c, std::optional<CallState> from,
                                  const std::string& actorDevice,
                                  const std::vector<PushDevice>& devices, TimeMs now) {
  std::vector<PushPlan> plans;
  if (devices.empty() || !may_push(c, from)) return plans;
  auto add = [&](std::shared_ptr<Notice> n, std::vector<PushDevice> to) {
    if (!to.empty()) plans.push_back({std::move(n), std::move(to)});
  };
  if (!from) {
    if (c.state == CallState::calling)
      add(notice_for(c, NoticeKind::incoming_call, "", c.ringDeadline), devices);
    else
      add(notice_for(c, NoticeKind::missed_call, "busy", now + kMissedPushTtlMs), devices);
    return plans;
  }
  const TimeMs cancelBy = now + kCancelPushTtlMs;
  if (c.state == CallState::accepted) {
    add(notice_for(c, NoticeKind::call_cancelled, "answered_elsewhere", cancelBy),
        all_but(devices, c.answeredBy.value_or("")));
    return plans;
  }
  if (c.state == CallState::rejected) {
    add(notice_for(c, NoticeKind::call_cancelled, "declined_elsewhere", cancelBy),
        all_but(devices, actorDevice));
    return plans;
  }
  std::string reason = "missed";
  if (c.state == CallState::timeout)
    reason = "timeout";
  else if (c.state == CallState::ended && c.terminatedBy == c.callerId)
    reason = "cancelled";
  add(notice_for(c, NoticeKind::call_cancelled, reason, cancelBy), devices);
  add(notice_for(c, NoticeKind::missed_call, reason, now + kMissedPushTtlMs), devices);
  return plans;
}

}  // namespace dialtone
