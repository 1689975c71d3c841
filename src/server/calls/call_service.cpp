// SPDX-License-Identifier: Apache-2.0
#include "server/calls/call_service.hpp"

#include "core/timeline.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "server/calls/push_plan.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace {

bool has(const std::vector<Action>& actions, Action a) {
  return std::find(actions.begin(), actions.end(), a) != actions.end();
}

std::string message_for(ErrorCode e, std::string_view op, const Call& c) {
  switch (e) {
    case ErrorCode::invalid_transition:
      return fmt::format("{} is not allowed in state {}", op, state_name(c.state));
    case ErrorCode::forbidden:
      return fmt::format("your role in this call may not {}", op);
    case ErrorCode::not_found:
      return "no such call";
    default:
      return std::string(error_name(e));
  }
}

// The device of `userId` that call `c` needs, and since when: the caller's device from the
// start, the answering device from the answer; nothing of the receiver while it rings.
struct Need {
  std::string deviceId;
  TimeMs since;
};
std::optional<Need> need(const Call& c, const std::string& userId) {
  if (userId == c.callerId) return Need{c.callerDeviceId, c.timestamp};
  if (userId == c.receiverId && c.acceptedAt && c.answeredBy)
    return Need{*c.answeredBy, *c.acceptedAt};
  return std::nullopt;
}

std::string device_key(const std::string& userId, const std::string& deviceId) {
  return userId + '\n' + deviceId;  // ids never hold a newline
}

}  // namespace

CallService::CallService(CallOptions opts, const Presence& presence, Outbox& outbox)
    : opts_(opts), presence_(presence), outbox_(outbox) {}

std::vector<Call> CallService::load(Store& store, TimeMs now) {
  started_at_ = now;
  auto active = store.active_calls();
  for (const auto& c : active) {
    watch(c, c.callerId);
    watch(c, c.receiverId);
  }
  next_deadline_ = store.next_deadline();
  return active;
}

// ---- batches ------------------------------------------------------------------------------

std::optional<TimeMs> CallService::next_wake() {
  std::optional<TimeMs> wake = next_deadline_;
  if (!checks_.empty()) wake = std::min(wake.value_or(checks_.top().at), checks_.top().at);
  return wake;
}

void CallService::begin(Tx&) {
  if (!opts_.cacheAcrossBatches) cache_.clear();  // other nodes write too
}

void CallService::prefetch(Tx& tx, const std::vector<std::string>& callIds) {
  if (opts_.cacheAcrossBatches) return;  // the active calls are cached already
  std::vector<std::string> want;
  for (const auto& id : callIds)
    if (!cache_.count(id) && std::find(want.begin(), want.end(), id) == want.end())
      want.push_back(id);
  if (want.empty()) return;
  // Ended calls too: the cache lives for this batch only here.
  for (auto& c : tx.store.get_calls(want)) {
    std::string id = c.callId;
    cache_.insert_or_assign(std::move(id), std::make_shared<const Call>(std::move(c)));
  }
}

void CallService::before_commit(Tx& tx) {
  fire_deadlines(tx);
  fire_presence(tx);
}

void CallService::undo(std::size_t mark) {
  staged_.truncate(mark);
  cache_.clear();
}

std::function<void()> CallService::finish(Tx& tx, bool committed) {
  if (!committed) {
    staged_.take();
    cache_.clear();
  } else {
    for (const auto& e : staged_.all()) {
      const auto* c = std::get_if<CallChanged>(&e);
      if (!c) continue;
      const Call& call = *c->call;
      if (!c->from && call.state != CallState::busy) watch(call, call.callerId);
      if (has(c->actions, Action::require_receiver_presence)) watch(call, call.receiverId);
    }
  }
  try {
    next_deadline_ = tx.store.next_deadline();
  } catch (const std::exception&) {
    next_deadline_ = tx.now + 1000;  // look again soon
  }
  // Devices gone for long are forgotten, oldest first: their calls have ended or were checked
  // by now. (This was a scan of every entry once there were 4,096 — on every batch: with
  // sessions opened per call, 90,000 devices gone within the window, a third of the server's
  // CPU.)
  TimeMs forget_before = tx.now - 2 * opts_.presenceGraceMs;
  while (!gone_order_.empty() && gone_order_.front().first < forget_before) {
    auto it = gone_since_.find(gone_order_.front().second);
    if (it != gone_since_.end() && it->second == gone_order_.front().first) gone_since_.erase(it);
    gone_order_.pop_front();
  }
  if (staged_.all().empty()) return nullptr;
  return [this, effects = staged_.take(), now = tx.now]() mutable {
    outbox_.deliver(std::move(effects), now);
  };
}

void CallService::contended(Tx& tx, const std::function<void()>& fn) {
  std::size_t m = staged_.mark();
  tx.store.savepoint();
  try {
    fn();
  } catch (const StoreError& e) {
    if (e.kind() != StoreError::Kind::conflict) throw;
    // Another node changed the call first; its change stands and this one is moot.
    tx.store.rollback_to_savepoint();
    undo(m);
    spdlog::debug("CONTENDED_CHANGE_DROPPED error=\"{}\"", e.what());
    return;
  }
  tx.store.release_savepoint();
}

// ---- reads and writes ---------------------------------------------------------------------

std::optional<Call> CallService::load_call(Tx& tx, const std::string& callId) {
  if (auto it = cache_.find(callId); it != cache_.end()) return *it->second;
  auto c = tx.store.get_call(callId);
  if (c && is_active(c->state)) cache_.emplace(callId, std::make_shared<const Call>(*c));
  return c;
}

void CallService::arm(std::optional<TimeMs> deadline) {
  if (deadline) next_deadline_ = std::min(next_deadline_.value_or(*deadline), *deadline);
}

std::vector<PushDevice> CallService::push_targets(Tx& tx, const std::string& userId) {
  if (!pushable_) return {};
  return pushable(tx.store.devices_of(userId));
}

std::vector<PushDevice> CallService::pushable(std::vector<PushDevice> devices) const {
  std::vector<PushDevice> out;
  if (!pushable_) return out;
  for (auto& d : devices)
    if (pushable_(d.platform)) out.push_back(std::move(d));
  return out;
}

std::shared_ptr<const std::string> CallService::persist(Tx& tx, const Transition& t, CallState from,
                                                        const std::string& actorDevice) {
  if (!t.changed) return nullptr;
  auto doc = std::make_shared<const std::string>(to_public_string(t.call));
  auto deadline = t.call.next_deadline(opts_.mediaTimeoutMs);
  tx.store.update_call(t.call, deadline, to_storage_string(t.call, *doc));
  arm(deadline);
  if (has(t.actions, Action::clear_active_calls)) tx.store.release_active(t.call.callId);
  auto call = std::make_shared<const Call>(t.call);
  if (is_active(call->state))
    cache_.insert_or_assign(call->callId, call);
  else
    cache_.erase(call->callId);
  std::vector<PushPlan> pushes;
  if (pushable_ && may_push(t.call, from)) {
    // It stopped ringing: incoming-call pushes not yet sent are no longer wanted, on any node.
    if (t.call.delivery) tx.store.delete_incoming_pushes(t.call.callId);
    pushes = queue_pushes(tx, t.call, from, actorDevice, push_targets(tx, t.call.receiverId));
  }
  staged_.add(CallChanged{std::move(call), from, t.actions, doc, actorDevice, std::move(pushes)});
  return doc;
}

std::shared_ptr<const std::string> CallService::insert(Tx& tx, const Call& c,
                                                       std::vector<PushDevice> devices) {
  auto doc = std::make_shared<const std::string>(to_public_string(c));
  auto deadline = c.next_deadline(opts_.mediaTimeoutMs);
  tx.store.insert_call(c, deadline, to_storage_string(c, *doc));
  arm(deadline);
  auto call = std::make_shared<const Call>(c);
  if (is_active(c.state)) cache_.insert_or_assign(c.callId, call);
  // People who have had a call are each other's contacts (directory = "contacts").
  tx.store.add_contact(c.callerId, c.receiverId);
  tx.store.add_contact(c.receiverId, c.callerId);
  auto pushes = queue_pushes(tx, c, std::nullopt, c.callerDeviceId, devices);
  staged_.add(
      CallChanged{std::move(call), std::nullopt, {}, doc, c.callerDeviceId, std::move(pushes)});
  return doc;
}

std::vector<PushPlan> CallService::queue_pushes(Tx& tx, const Call& c,
                                                std::optional<CallState> from,
                                                const std::string& actorDevice,
                                                const std::vector<PushDevice>& devices) {
  auto plans = plan_pushes(c, from, actorDevice, devices, tx.now);
  for (auto& plan : plans) {
    const std::string notice = notice_to_string(*plan.notice);
    const std::string kind(notice_type(plan.notice->kind));
    for (const auto& d : plan.devices) {
      QueuedPush q{
          random_id(), c.callId, kind, d.userId, d.deviceId, notice, plan.notice->expiresAt, 0};
      tx.store.add_push(q, opts_.pushOwner, tx.now + opts_.pushLeaseMs);
      plan.pushIds.push_back(std::move(q.pushId));
    }
  }
  return plans;
}

std::vector<PushPlan> CallService::tend_pushes(Tx& tx, bool alone) {
  std::vector<PushPlan> out;
  tx.store.renew_pushes(opts_.pushOwner, tx.now + opts_.pushLeaseMs);
  tx.store.purge_pushes(tx.now, opts_.pushMaxClaims);
  if (!pushable_) return out;
  auto taken = tx.store.claim_pushes(opts_.pushOwner, tx.now, tx.now + opts_.pushLeaseMs,
                                     opts_.pushClaimLimit, alone);
  std::unordered_map<std::string, std::vector<PushDevice>> devices;  // by user
  for (auto& q : taken) {
    auto notice = notice_from_string(q.notice);
    // An incoming-call push only while its call still rings (a change that ended the ring
    // deletes them; this is for what an older node left).
    if (notice && notice->kind == NoticeKind::incoming_call) {
      auto call = load_call(tx, q.callId);
      if (!call || !is_unanswered(call->state)) notice.reset();
    }
    auto [it, fresh] = devices.try_emplace(q.userId);
    if (fresh) it->second = push_targets(tx, q.userId);
    auto d = std::find_if(it->second.begin(), it->second.end(),
                          [&](const PushDevice& x) { return x.deviceId == q.deviceId; });
    if (!notice || d == it->second.end()) {  // nothing to send, or the device is gone
      tx.store.delete_push(q.pushId);
      continue;
    }
    out.push_back({std::make_shared<const Notice>(std::move(*notice)), {*d}, {q.pushId}});
  }
  return out;
}

// ---- ops ----------------------------------------------------------------------------------

OpResult CallService::op(Tx& tx, const Principal& who, const std::string& deviceId,
                         const Request& req) {
  if (req.op == Op::create) return create(tx, who, deviceId, req);
  if (req.op == Op::report) return report(tx, who, deviceId, req);
  auto call = load_call(tx, req.callId);
  if (!call || !call->is_participant(who.userId))
    return OpResult::fail(ErrorCode::not_found, "no such call");
  Transition t = apply(*call, Intent{op_event(req.op), req.reason, req.muted},
                       Actor{who.userId, deviceId}, tx.now);
  if (t.error != ErrorCode::ok)
    return OpResult::fail(t.error, message_for(t.error, op_name(req.op), t.call), t.call);
  OpResult r;
  r.doc = persist(tx, t, call->state, deviceId);
  if (r.doc && req.reason) std::get<CallChanged>(staged_.all().back()).clientReason = true;
  if (req.op == Op::signal) staged_.add(SignalSent{t.call, who.userId, req.data});
  r.call = t.call;
  return r;
}

OpResult CallService::report(Tx& tx, const Principal& who, const std::string& deviceId,
                             const Request& req) {
  auto call = load_call(tx, req.callId);
  if (!call || !call->is_participant(who.userId))
    return OpResult::fail(ErrorCode::not_found, "no such call");
  if (!is_active(call->state) && tx.now - call->lastUpdated > kReportWindowAfterEndMs)
    return OpResult::fail(ErrorCode::invalid_transition,
                          "the call ended over 10 minutes ago; its timeline is closed");
  std::string side = call->is_caller(who.userId) ? "caller" : "receiver";
  auto events = report_events(req.data.as_array(), side, deviceId, tx.now, call->timestamp);
  // Quality samples at most every kMinQualitySpacingMs, further apart as the call goes on.
  TimeMs start = call->acceptedAt.value_or(call->timestamp);
  if (last_sample_.size() > 50'000) last_sample_.clear();
  std::erase_if(events, [&](const TimelineEvent& e) {
    if (e.type != "quality") return false;
    TimeMs spacing = std::max(kMinQualitySpacingMs, (e.at - start) / kQualitySamplesTarget);
    auto [it, fresh] = last_sample_.try_emplace(call->callId + "\n" + side, e.at);
    // (A batch run again sees its own samples again: the same time is kept, not thinned.)
    if (fresh || e.at == it->second) return false;
    if (e.at - it->second < spacing) return true;
    it->second = e.at;
    return false;
  });
  tx.store.append_events(call->callId, events, kMaxTimelineEvents);
  staged_.add(Reported{*call, std::move(events)});
  return OpResult{};
}

OpResult CallService::create(Tx& tx, const Principal& who, const std::string& deviceId,
                             const Request& req) {
  CreateInput in;
  in.caller = Actor{who.userId, deviceId};
  in.callerProfile = {who.userId, who.name.empty() ? who.userId : who.name, who.photo};
  in.receiverId = req.receiverId;
  // Read together (one round trip on PostgreSQL); the devices are those a new call pushes to.
  auto reads = tx.store.create_reads(who.userId, req.receiverId, pushable_ != nullptr);
  in.receiver = std::move(reads.receiver);
  if (reads.callerActive) in.callerActive = load_call(tx, *reads.callerActive);
  if (in.receiver && reads.receiverActive) in.receiverActive = load_call(tx, *reads.receiverActive);
  // On a shared store each read sees what is committed at that moment: a call between the two
  // (glare from another node) can appear between the two reads. It is then the caller's active
  // call too.
  if (!in.callerActive && in.receiverActive && in.receiverActive->is_participant(who.userId))
    in.callerActive = in.receiverActive;
  in.newCallId = random_id();
  in.now = tx.now;
  in.ringTimeoutMs = opts_.ringTimeoutMs;
  CreateDecision d = decide_create(in);
  OpResult r;
  switch (d.kind) {
    case CreateDecision::Kind::created: {
      auto devices = pushable(std::move(reads.devices));
      if (!devices.empty())
        d.call->delivery = PushDelivery{static_cast<std::int64_t>(devices.size()), 0, 0};
      r.doc = insert(tx, *d.call, std::move(devices));
      // The database's unique key decides between writers: if another node claimed one of the
      // two users first, this throws a conflict and the job runs again on what that node
      // committed (a busy call, glare, or already in a call).
      tx.store.claim_active(d.call->callerId, d.call->callId);
      tx.store.claim_active(d.call->receiverId, d.call->callId);
      r.status = 201;
      r.call = d.call;
      return r;
    }
    case CreateDecision::Kind::busy_stored: {
      auto doc = insert(tx, *d.call, pushable(std::move(reads.devices)));
      auto res = OpResult::fail(ErrorCode::busy, "the receiver is in another call", d.call);
      res.doc = doc;
      return res;
    }
    case CreateDecision::Kind::glare:
      r.doc = persist(tx, d.glare, in.callerActive->state);
      staged_.add(LogLine{fmt::format("CALL_GLARE callId={} user={}", d.call->callId, who.userId)});
      r.call = d.call;
      return r;
    case CreateDecision::Kind::retry:
      r.call = d.call;
      return r;
    case CreateDecision::Kind::refused:
      return OpResult::fail(d.error,
                            d.error == ErrorCode::not_found         ? "unknown receiver"
                            : d.error == ErrorCode::already_in_call ? "you are already in a call"
                                                                    : "cannot call yourself",
                            d.call);
  }
  return OpResult::fail(ErrorCode::internal, "unreachable");
}

void CallService::push_results(Tx& tx, const std::string& callId, std::int64_t sent,
                               std::int64_t failed, const std::vector<TimelineEvent>& events) {
  auto call = load_call(tx, callId);
  if (!call) return;
  tx.store.append_events(callId, events, kMaxTimelineEvents);
  Transition t = record_push_results(*call, sent, failed, tx.now);
  persist(tx, t, call->state);
}

void CallService::append_server_events(Tx& tx, const std::string& callId,
                                       const std::vector<TimelineEvent>& events) {
  if (load_call(tx, callId)) tx.store.append_events(callId, events, kMaxTimelineEvents);
}

// ---- deadlines and presence ---------------------------------------------------------------

void CallService::fire_deadlines(Tx& tx) {
  // None due by what the store said after the last batch and what this batch armed: no query.
  // (Another node's new deadline is at least a second away and each batch, at least one a
  // second, reads the earliest anew.)
  if (!next_deadline_ || *next_deadline_ > tx.now) return;
  for (const auto& id : tx.store.due_calls(tx.now, 256)) {
    contended(tx, [&] {
      auto call = load_call(tx, id);
      if (!call) return;
      Event ev = is_unanswered(call->state) ? Event::ring_timeout : Event::media_timeout;
      Transition t = apply(*call, Intent{ev}, Actor{}, tx.now);
      if (t.error != ErrorCode::ok) {
        spdlog::warn("DEADLINE_IGNORED callId={} state={}", id, state_name(call->state));
        return;
      }
      persist(tx, t, call->state);
    });
  }
}

bool CallService::here(const std::string& userId, const std::string& deviceId) const {
  return deviceId == kHttpDeviceId ? presence_.user_online(userId)
                                   : presence_.device_online(userId, deviceId);
}

TimeMs CallService::gone_since(const std::string& userId, const std::string& deviceId,
                               TimeMs required) {
  // A device never seen since this process started counts as gone since the start (its
  // session, if it had one, was on the process before).
  auto it = gone_since_.find(device_key(userId, deviceId));
  return std::max({required, started_at_, it == gone_since_.end() ? started_at_ : it->second});
}

void CallService::watch(const Call& c, const std::string& userId) {
  auto n = need(c, userId);
  if (!n || here(userId, n->deviceId)) return;
  checks_.push({gone_since(userId, n->deviceId, n->since) + opts_.presenceGraceMs, c.callId, userId,
                n->deviceId});
}

void CallService::fire_presence(Tx& tx) {
  while (!checks_.empty() && checks_.top().at <= tx.now) {
    Check ch = checks_.top();
    checks_.pop();
    if (here(ch.userId, ch.deviceId)) continue;
    auto call = load_call(tx, ch.callId);
    if (!call || is_terminal(call->state)) continue;
    auto n = need(*call, ch.userId);
    if (!n || n->deviceId != ch.deviceId) continue;
    TimeMs due = gone_since(ch.userId, ch.deviceId, n->since) + opts_.presenceGraceMs;
    if (due > tx.now) {
      checks_.push({due, ch.callId, ch.userId, ch.deviceId});
      continue;
    }
    Transition t =
        apply(*call, Intent{Event::presence_lost}, Actor{ch.userId, ch.deviceId}, tx.now);
    if (t.error != ErrorCode::ok) continue;
    contended(tx, [&] {
      persist(tx, t, call->state);
      staged_.add(LogLine{fmt::format("PRESENCE_LOST callId={} user={} device={}", call->callId,
                                      ch.userId, ch.deviceId)});
    });
  }
}

void CallService::device_presence(Tx& tx, const std::string& userId, const std::string& deviceId,
                                  bool online, TimeMs when) {
  std::string key = device_key(userId, deviceId);
  std::string any = device_key(userId, kHttpDeviceId);
  if (online) {
    gone_since_.erase(key);
    gone_since_.erase(any);
    return;
  }
  gone_since_[key] = when;
  gone_order_.emplace_back(when, key);
  bool userGone = !presence_.user_online(userId);
  if (userGone) {
    gone_since_[any] = when;
    gone_order_.emplace_back(when, any);
  }
  auto id = tx.store.active_call_of(userId);
  if (auto c = id ? load_call(tx, *id) : std::nullopt)
    if (auto n = need(*c, userId);
        n && (n->deviceId == deviceId || (n->deviceId == kHttpDeviceId && userGone)))
      watch(*c, userId);
}

}  // namespace dialtone
