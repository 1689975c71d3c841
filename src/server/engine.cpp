#include "server/engine.hpp"

#include <spdlog/spdlog.h>

#include <boost/json.hpp>

#include <algorithm>

#include "server/push_plan.hpp"
#include "util/encoding.hpp"
#include "util/text.hpp"

namespace dialtone {

namespace json = boost::json;

struct Engine::Batch {
  struct Effect {
    Call call;
    std::optional<CallState> from;  // nullopt: the call was created by this change
    std::vector<Action> actions;
    std::shared_ptr<const std::string> doc;  // the public document, serialized
    std::string actorDevice;                 // the device whose op made the change
    std::vector<PushDevice> devices;         // the receiver's, when the change may push
    bool clientReason = false;               // `reason` was chosen by a client's op
  };
  Store& store;
  TimeMs now;
  std::vector<Effect> effects;
};

// What a committed batch hands to the publisher.
struct Engine::Outcome {
  std::vector<Batch::Effect> effects;
  std::vector<Job> jobs;
  std::vector<OpResult> results;
  TimeMs now = 0;
};

namespace {

constexpr TimeMs kProbeMs = 1000;

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

// The reasons the server itself chooses; a client's own reason (whatever it says, "network"
// included) is counted as "other", so metrics keep a bounded label set that clients cannot
// steer.
std::string reason_label(const std::optional<std::string>& r, bool fromClient) {
  static const char* known[] = {"cancelled", "rejected_by_receiver", "ended_by_user", "timeout",
                                "busy",      "media_timeout",        "network"};
  if (!r) return "none";
  if (fromClient) return "other";
  for (const char* k : known)
    if (*r == k) return *r;
  return "other";
}

json::object profile_json(const Profile& p, bool online) {
  return {{"userId", p.userId}, {"name", p.name}, {"photo", p.photo}, {"online", online}};
}

}  // namespace

Engine::Engine(Store& store, Hub& hub, Metrics& metrics, EngineOptions opts)
    : store_(store), hub_(hub), metrics_(metrics), opts_(opts) {}

Engine::~Engine() {
  stop();
}

void Engine::start() {
  started_at_ = now_ms();
  auto active = store_.active_calls();
  hub_.seed(active);
  metrics_.active_calls = static_cast<std::int64_t>(active.size());
  for (const auto& c : active) {
    schedule_presence(c, c.callerId, c.timestamp);
    if (c.acceptedAt) schedule_presence(c, c.receiverId, *c.acceptedAt);
  }
  next_deadline_ = store_.next_deadline();
  spdlog::info("ENGINE_START activeCalls={} nextDeadline={}", active.size(),
               next_deadline_ ? format_iso(*next_deadline_) : "none");
  ready_ = true;
  thread_ = std::thread([this] { loop(); });
}

void Engine::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  ready_ = false;
}

void Engine::enqueue(RunFn run, DoneFn done) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      queue_.push_back(Job{std::move(run), std::move(done), std::chrono::steady_clock::now()});
      cv_.notify_one();
      return;
    }
  }
  if (done) done(OpResult::fail(ErrorCode::unavailable, "server is shutting down"));
}

void Engine::loop() {
  std::vector<Job> jobs;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      for (;;) {
        if (!queue_.empty() || stopping_) break;
        std::optional<TimeMs> wake = next_deadline_;
        if (!presence_.empty())
          wake = std::min(wake.value_or(presence_.top().at), presence_.top().at);
        TimeMs now = now_ms();
        // An idle engine still runs an empty batch every second: that is how an outage of the
        // store (a restarted PostgreSQL) makes the node not ready without any traffic, and how
        // it becomes ready again.
        TimeMs probe = last_batch_ + kProbeMs;
        wake = std::min(wake.value_or(probe), probe);
        if (wake && *wake <= now) break;
        if (wake)
          cv_.wait_for(lk, std::chrono::milliseconds(*wake - now));
        else
          cv_.wait(lk);
      }
      if (stopping_ && queue_.empty()) return;
      jobs.swap(queue_);
    }
    run_batch(jobs);
    jobs.clear();
  }
}

constexpr int kConflictRetries = 3;

OpResult Engine::run_job(Batch& b, Job& job) {
  for (int attempt = 0;; ++attempt) {
    size_t mark = b.effects.size();
    store_.savepoint();
    OpResult r;
    bool retry = false;
    try {
      r = job.run(b);
    } catch (const Error& e) {
      r = OpResult::fail(e.code(), e.what());
      r.rollback = true;
    } catch (const StoreError& e) {
      // A conflict means someone else wrote first (another node, on a shared store): drop the
      // cache and run the job again on what is committed now. A deadlock victim can fail again
      // while the winner has not committed yet; the next attempt then waits for its locks.
      retry = e.kind() == StoreError::Kind::conflict && attempt < kConflictRetries;
      if (!retry) spdlog::error("JOB_FAILED error=\"{}\"", e.what());
      r = OpResult::fail(ErrorCode::internal, "the server could not apply the operation");
      r.rollback = true;
    } catch (const std::exception& e) {
      spdlog::error("JOB_FAILED error=\"{}\"", e.what());
      r = OpResult::fail(ErrorCode::internal, "the server could not apply the operation");
      r.rollback = true;
    }
    if (!r.rollback) {
      store_.release_savepoint();
      return r;
    }
    store_.rollback_to_savepoint();
    b.effects.resize(mark);
    cache_.clear();
    if (!retry) return r;
  }
}

void Engine::run_batch(std::vector<Job>& jobs) {
  auto started = std::chrono::steady_clock::now();
  Batch b{store_, now_ms(), {}};
  last_batch_ = b.now;
  if (!opts_.cacheAcrossBatches) cache_.clear();  // other nodes write too
  std::vector<OpResult> results(jobs.size());
  bool ok = true;
  try {
    store_.begin();
  } catch (const std::exception& e) {
    spdlog::error("STORE_BEGIN_FAILED error=\"{}\"", e.what());
    ok = false;
  }
  for (size_t i = 0; ok && i < jobs.size(); ++i) {
    try {
      results[i] = run_job(b, jobs[i]);
    } catch (const std::exception& e) {  // the savepoint machinery itself failed
      spdlog::error("STORE_SAVEPOINT_FAILED error=\"{}\"", e.what());
      ok = false;
    }
  }
  if (ok) {
    try {
      fire_deadlines(b);
      fire_presence(b);
      auto t0 = std::chrono::steady_clock::now();
      store_.commit();
      metrics_.store_commit.observe_us(std::chrono::duration_cast<std::chrono::microseconds>(
                                           std::chrono::steady_clock::now() - t0)
                                           .count());
      metrics_.store_batches++;
    } catch (const std::exception& e) {
      spdlog::error("STORE_COMMIT_FAILED error=\"{}\"", e.what());
      ok = false;
    }
  }
  if (store_ok_ != ok) {
    if (ok)
      spdlog::info("STORE_RECOVERED");
    else
      spdlog::error("STORE_UNAVAILABLE: not ready until it answers again");
  }
  store_ok_ = ok;
  if (!ok) {
    metrics_.store_failures++;
    try {
      store_.rollback();
    } catch (const std::exception& e) {
      spdlog::error("STORE_ROLLBACK_FAILED error=\"{}\"", e.what());
    }
    b.effects.clear();
    cache_.clear();
    for (auto& r : results)
      r = OpResult::fail(ErrorCode::unavailable, "the store is unavailable; nothing changed");
  }
  after_commit(b);
  try {
    next_deadline_ = store_.next_deadline();
  } catch (const std::exception& e) {
    next_deadline_ = b.now + 1000;  // retry soon
  }
  auto out = std::make_shared<Outcome>(
      Outcome{std::move(b.effects), std::move(jobs), std::move(results), b.now});
  if (publisher_)
    publisher_([this, out] { publish(*out); });
  else
    publish(*out);
  metrics_.engine_busy_us +=
      static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(
                                     std::chrono::steady_clock::now() - started)
                                     .count());
}

std::optional<Call> Engine::load(Batch& b, const std::string& callId) {
  if (auto it = cache_.find(callId); it != cache_.end()) return it->second;
  auto c = b.store.get_call(callId);
  if (c && is_active(c->state)) cache_.emplace(callId, *c);
  return c;
}

std::vector<PushDevice> Engine::push_targets(Batch& b, const std::string& userId) {
  std::vector<PushDevice> out;
  if (!push_) return out;
  for (auto& d : b.store.devices_of(userId))
    if (push_->handles(d.platform)) out.push_back(std::move(d));
  return out;
}

std::shared_ptr<const std::string> Engine::persist(Batch& b, const Transition& t, CallState from,
                                                   const std::string& actorDevice) {
  if (!t.changed) return nullptr;
  auto doc = std::make_shared<const std::string>(to_public_string(t.call));
  b.store.update_call(t.call, t.call.next_deadline(opts_.mediaTimeoutMs),
                      to_storage_string(t.call, *doc));
  if (has(t.actions, Action::clear_active_calls)) b.store.release_active(t.call.callId);
  if (is_active(t.call.state))
    cache_.insert_or_assign(t.call.callId, t.call);
  else
    cache_.erase(t.call.callId);
  std::vector<PushDevice> devices;
  if (push_ && may_push(t.call, from)) devices = push_targets(b, t.call.receiverId);
  b.effects.push_back({t.call, from, t.actions, doc, actorDevice, std::move(devices)});
  return doc;
}

std::shared_ptr<const std::string> Engine::insert(Batch& b, const Call& c,
                                                  std::vector<PushDevice> devices) {
  auto doc = std::make_shared<const std::string>(to_public_string(c));
  b.store.insert_call(c, c.next_deadline(opts_.mediaTimeoutMs), to_storage_string(c, *doc));
  if (is_active(c.state)) cache_.insert_or_assign(c.callId, c);
  // People who have had a call are each other's contacts (directory = "contacts").
  b.store.add_contact(c.callerId, c.receiverId);
  b.store.add_contact(c.receiverId, c.callerId);
  b.effects.push_back({c, std::nullopt, {}, doc, c.callerDeviceId, std::move(devices)});
  return doc;
}

void Engine::fire_deadlines(Batch& b) {
  for (const auto& id : store_.due_calls(b.now, 256)) {
    contended(b, [&] {
      auto call = load(b, id);
      if (!call) return;
      Event ev = is_unanswered(call->state) ? Event::ring_timeout : Event::media_timeout;
      Transition t = apply(*call, Intent{ev}, Actor{}, b.now);
      if (t.error != ErrorCode::ok) {
        spdlog::warn("DEADLINE_IGNORED callId={} state={}", id, state_name(call->state));
        return;
      }
      persist(b, t, call->state);
    });
  }
}

void Engine::contended(Batch& b, const std::function<void()>& fn) {
  size_t mark = b.effects.size();
  store_.savepoint();
  try {
    fn();
  } catch (const StoreError& e) {
    if (e.kind() != StoreError::Kind::conflict) throw;
    // Another node changed the call first; its change stands and this one is moot.
    store_.rollback_to_savepoint();
    b.effects.resize(mark);
    cache_.clear();
    spdlog::debug("CONTENDED_CHANGE_DROPPED error=\"{}\"", e.what());
    return;
  }
  store_.release_savepoint();
}

void Engine::fire_presence(Batch& b) {
  while (!presence_.empty() && presence_.top().at <= b.now) {
    PresenceCheck pc = presence_.top();
    presence_.pop();
    if (hub_.online(pc.userId)) continue;
    auto call = load(b, pc.callId);
    if (!call || is_terminal(call->state)) continue;
    std::optional<TimeMs> required =
        pc.userId == call->callerId ? std::optional<TimeMs>(call->timestamp) : call->acceptedAt;
    if (!required) continue;
    auto off = offline_since_.find(pc.userId);
    TimeMs since =
        std::max({*required, started_at_, off == offline_since_.end() ? started_at_ : off->second});
    if (since + opts_.presenceGraceMs > b.now) {
      presence_.push({since + opts_.presenceGraceMs, pc.callId, pc.userId});
      continue;
    }
    Transition t = apply(*call, Intent{Event::presence_lost}, Actor{pc.userId, ""}, b.now);
    if (t.error != ErrorCode::ok) continue;
    contended(b, [&] {
      persist(b, t, call->state);
      spdlog::info("PRESENCE_LOST callId={} user={}", call->callId, pc.userId);
    });
  }
}

void Engine::schedule_presence(const Call& c, const std::string& userId, TimeMs requiredSince) {
  if (hub_.online(userId)) return;
  auto off = offline_since_.find(userId);
  TimeMs since = std::max(
      {requiredSince, started_at_, off == offline_since_.end() ? started_at_ : off->second});
  presence_.push({since + opts_.presenceGraceMs, c.callId, userId});
}

void Engine::after_commit(Batch& b) {
  for (const auto& e : b.effects) {
    const Call& c = e.call;
    if (!e.from) {
      if (c.state != CallState::busy) {
        metrics_.active_calls++;
        schedule_presence(c, c.callerId, c.timestamp);
      }
      continue;
    }
    if (has(e.actions, Action::clear_active_calls)) metrics_.active_calls--;
    if (has(e.actions, Action::require_receiver_presence))
      schedule_presence(c, c.receiverId, c.acceptedAt.value_or(b.now));
  }
}

void Engine::publish(Outcome& out) {
  for (const auto& e : out.effects) {
    const Call& c = e.call;
    hub_.publish(c, e.doc);
    if (push_ && e.from && is_unanswered(*e.from) && !is_unanswered(c.state))
      push_->cancel_incoming(c.callId, c.ringDeadline);
    if (push_ && !e.devices.empty())
      for (auto& plan : plan_pushes(c, e.from, e.actorDevice, e.devices, out.now))
        push_->send(plan.notice, plan.devices);
    if (!e.from) {
      if (c.state == CallState::busy) {
        spdlog::info("CALL_BUSY callId={} callerId={} receiverId={}", c.callId, c.callerId,
                     c.receiverId);
        metrics_.count_terminal("busy", "busy");
      } else {
        spdlog::info("CALL_START_CREATED callId={} callerId={} receiverId={} ringDeadline={}",
                     c.callId, c.callerId, c.receiverId, format_iso(c.ringDeadline));
      }
      continue;
    }
    spdlog::debug("CALL_TRANSITION callId={} from={} to={} version={}", c.callId,
                  state_name(*e.from), state_name(c.state), c.version);
    for (Action a : e.actions) {
      switch (a) {
        case Action::clear_active_calls:
        case Action::require_receiver_presence:
          break;  // done on the store thread
        case Action::log_received:
          spdlog::info("CALL_RECEIVED callId={} user={} devices={}", c.callId, c.receiverId,
                       c.ringingDeviceIds.size());
          break;
        case Action::log_accepted:
          spdlog::info("CALL_ACCEPTED callId={} user={} device={}", c.callId, c.receiverId,
                       c.answeredBy.value_or(""));
          break;
        case Action::log_connected:
          spdlog::info("CALL_CONNECTED callId={} connectedAt={}", c.callId,
                       format_iso(c.connectedAt.value_or(out.now)));
          break;
        case Action::log_ended:
          // The reason may be a client's own text: quoted, so it cannot forge other fields.
          spdlog::info("CALL_ENDED callId={} duration={} reason={} state={}", c.callId,
                       c.durationSeconds.value_or(0), log_value(c.reason.value_or("")),
                       state_name(c.state));
          metrics_.count_terminal(std::string(state_name(c.state)),
                                  reason_label(c.reason, e.clientReason));
          break;
      }
    }
  }
  auto end = std::chrono::steady_clock::now();
  for (size_t i = 0; i < out.jobs.size(); ++i) {
    metrics_.transition_latency.observe_us(
        std::chrono::duration_cast<std::chrono::microseconds>(end - out.jobs[i].enqueued).count());
    if (out.jobs[i].done) out.jobs[i].done(std::move(out.results[i]));
  }
}

Engine::RunFn Engine::op_job(const Principal& who, const std::string& deviceId, Request req) {
  return [this, who, deviceId, req = std::move(req)](Batch& b) -> OpResult {
    Actor actor{who.userId, deviceId};
    if (req.op == Op::create) {
      CreateInput in;
      in.caller = actor;
      in.callerProfile = {who.userId, who.name.empty() ? who.userId : who.name, who.photo};
      in.receiverId = req.receiverId;
      in.receiver = b.store.get_user(req.receiverId);
      if (auto id = b.store.active_call_of(who.userId)) in.callerActive = load(b, *id);
      if (in.receiver)
        if (auto id = b.store.active_call_of(req.receiverId)) in.receiverActive = load(b, *id);
      // On a shared store each read sees what is committed at that moment: a call between the
      // two (glare from another node) can appear between the two reads. It is then the caller's
      // active call too.
      if (!in.callerActive && in.receiverActive && in.receiverActive->is_participant(who.userId))
        in.callerActive = in.receiverActive;
      in.newCallId = random_id();
      in.now = b.now;
      in.ringTimeoutMs = opts_.ringTimeoutMs;
      CreateDecision d = decide_create(in);
      OpResult r;
      switch (d.kind) {
        case CreateDecision::Kind::created: {
          auto devices = push_targets(b, d.call->receiverId);
          if (!devices.empty())
            d.call->delivery = PushDelivery{static_cast<std::int64_t>(devices.size()), 0, 0};
          r.doc = insert(b, *d.call, std::move(devices));
          // The database's unique key decides between writers: if another node claimed one of
          // the two users first, this throws a conflict and the job runs again on what that
          // node committed (a busy call, glare, or already in a call).
          b.store.claim_active(d.call->callerId, d.call->callId);
          b.store.claim_active(d.call->receiverId, d.call->callId);
          r.status = 201;
          r.call = d.call;
          return r;
        }
        case CreateDecision::Kind::busy_stored: {
          auto doc = insert(b, *d.call, push_targets(b, d.call->receiverId));
          auto res = OpResult::fail(ErrorCode::busy, "the receiver is in another call", d.call);
          res.doc = doc;
          return res;
        }
        case CreateDecision::Kind::glare:
          r.doc = persist(b, d.glare, in.callerActive->state);
          spdlog::info("CALL_GLARE callId={} user={}", d.call->callId, who.userId);
          r.call = d.call;
          return r;
        case CreateDecision::Kind::retry:
          r.call = d.call;
          return r;
        case CreateDecision::Kind::refused:
          return OpResult::fail(d.error,
                                d.error == ErrorCode::not_found ? "unknown receiver"
                                : d.error == ErrorCode::already_in_call
                                    ? "you are already in a call"
                                    : "cannot call yourself",
                                d.call);
      }
      return OpResult::fail(ErrorCode::internal, "unreachable");
    }

    auto call = load(b, req.callId);
    if (!call || !call->is_participant(who.userId))
      return OpResult::fail(ErrorCode::not_found, "no such call");
    Transition t = apply(*call, Intent{op_event(req.op), req.reason, req.muted}, actor, b.now);
    if (t.error != ErrorCode::ok)
      return OpResult::fail(t.error, message_for(t.error, op_name(req.op), t.call), t.call);
    OpResult r;
    r.doc = persist(b, t, call->state, deviceId);
    if (r.doc && req.reason) b.effects.back().clientReason = true;
    if (req.op == Op::signal) hub_.relay_signal(t.call, who.userId, req.data);
    r.call = t.call;
    return r;
  };
}

Engine::RunFn Engine::get_call_job(const Principal& who, std::string callId) {
  return [who, callId = std::move(callId)](Batch& b) -> OpResult {
    auto call = b.store.get_call(callId);
    if (!call || !call->is_participant(who.userId))
      return OpResult::fail(ErrorCode::not_found, "no such call");
    OpResult r;
    r.call = call;
    return r;
  };
}

Engine::RunFn Engine::history_job(const Principal& who, TimeMs before, std::size_t limit) {
  return [who, before, limit](Batch& b) -> OpResult {
    json::array calls;
    for (const auto& c : b.store.history(who.userId, before, limit)) {
      json::object o = to_public_json(c);
      o["direction"] = direction_name(direction_for(c, who.userId));
      calls.push_back(std::move(o));
    }
    OpResult r;
    r.body = json::object{{"calls", std::move(calls)}};
    return r;
  };
}

namespace {

// May `viewer` see `user` (profile, online, busy) under `policy`? Everyone sees themselves.
bool may_see(Store& store, const std::string& viewer, const std::string& user, Directory policy) {
  if (viewer == user) return true;
  switch (policy) {
    case Directory::open:
      return true;
    case Directory::contacts:
      return store.mutual_contacts(viewer, user);
    case Directory::none:
      return false;
  }
  return false;
}

}  // namespace

Engine::RunFn Engine::users_job(std::string viewer, std::optional<std::string> userId,
                                Directory policy) {
  return [this, viewer = std::move(viewer), userId = std::move(userId), policy](Batch& b) {
    OpResult r;
    if (userId) {
      auto p = b.store.get_user(*userId);
      // Someone you may not see is answered as someone who does not exist.
      if (!p || !may_see(b.store, viewer, *userId, policy))
        return OpResult::fail(ErrorCode::not_found, "unknown user");
      r.body = profile_json(*p, hub_.online(p->userId));
      return r;
    }
    std::vector<Profile> people;
    switch (policy) {
      case Directory::open:
        people = b.store.list_users(1000);
        break;
      case Directory::contacts:
        people = b.store.list_mutual_contacts(viewer, 1000);
        break;
      case Directory::none:
        break;
    }
    json::array users;
    for (const auto& p : people) users.push_back(profile_json(p, hub_.online(p.userId)));
    r.body = json::object{{"users", std::move(users)}};
    return r;
  };
}

Engine::RunFn Engine::busy_job(std::string viewer, std::string userId, Directory policy) {
  return [viewer = std::move(viewer), userId = std::move(userId), policy](Batch& b) {
    if (!b.store.get_user(userId) || !may_see(b.store, viewer, userId, policy))
      return OpResult::fail(ErrorCode::not_found, "unknown user");
    OpResult r;
    r.body = json::object{{"busy", b.store.active_call_of(userId).has_value()}};
    return r;
  };
}

Engine::RunFn Engine::add_contact_job(std::string userId, std::string contactId) {
  return [userId = std::move(userId), contactId = std::move(contactId)](Batch& b) {
    if (!b.store.get_user(contactId)) return OpResult::fail(ErrorCode::not_found, "unknown user");
    b.store.add_contact(userId, contactId);
    OpResult r;
    r.body =
        json::object{{"userId", contactId}, {"mutual", b.store.mutual_contacts(userId, contactId)}};
    return r;
  };
}

Engine::RunFn Engine::remove_contact_job(std::string userId, std::string contactId) {
  return [userId = std::move(userId), contactId = std::move(contactId)](Batch& b) {
    if (!b.store.remove_contact(userId, contactId))
      return OpResult::fail(ErrorCode::not_found, "no such contact");
    OpResult r;
    r.body = json::object{{"userId", contactId}, {"deleted", true}};
    return r;
  };
}

Engine::RunFn Engine::upsert_user_job(Profile p) {
  return [p = std::move(p)](Batch& b) -> OpResult {
    b.store.upsert_user(p, b.now);
    return OpResult{};
  };
}

Engine::RunFn Engine::register_device_job(PushDevice d) {
  return [d = std::move(d)](Batch& b) -> OpResult {
    PushDevice dev = d;
    dev.updatedAt = b.now;
    b.store.put_device(dev);
    OpResult r;
    r.body = json::object{{"deviceId", dev.deviceId}, {"platform", platform_name(dev.platform)}};
    return r;
  };
}

Engine::RunFn Engine::delete_device_job(std::string userId, std::string deviceId) {
  return [userId = std::move(userId), deviceId = std::move(deviceId)](Batch& b) -> OpResult {
    if (!b.store.delete_device(userId, deviceId))
      return OpResult::fail(ErrorCode::not_found, "no such device");
    OpResult r;
    r.body = json::object{{"deviceId", deviceId}, {"deleted", true}};
    return r;
  };
}

Engine::RunFn Engine::devices_job(std::string userId) {
  return [userId = std::move(userId)](Batch& b) -> OpResult {
    json::array devices;
    for (const auto& d : b.store.devices_of(userId)) {
      json::object o{{"deviceId", d.deviceId},
                     {"platform", platform_name(d.platform)},
                     {"updatedAt", format_iso(d.updatedAt)}};
      if (d.platform == Platform::apns) {
        o["environment"] =
            d.environment.empty() ? json::value(nullptr) : json::value(d.environment);
        o["alertToken"] = !d.alertToken.empty();
      }
      devices.push_back(std::move(o));
    }
    OpResult r;
    r.body = json::object{{"devices", std::move(devices)}};
    return r;
  };
}

void Engine::on_push_result(const std::string& callId, bool delivered) {
  {
    std::lock_guard lk(push_results_mu_);
    auto [it, fresh] = push_results_.try_emplace(callId, 0, 0);
    (delivered ? it->second.first : it->second.second)++;
    if (!fresh) return;  // a job for this call is queued and will take this one too
  }
  enqueue(
      [this, callId](Batch& b) -> OpResult {
        std::pair<std::int64_t, std::int64_t> counts;
        {
          std::lock_guard lk(push_results_mu_);
          auto it = push_results_.find(callId);
          if (it == push_results_.end()) return OpResult{};
          counts = it->second;
          push_results_.erase(it);
        }
        auto call = load(b, callId);
        if (!call) return OpResult{};
        Transition t = record_push_results(*call, counts.first, counts.second, b.now);
        persist(b, t, call->state);
        return OpResult{};
      },
      nullptr);
}

void Engine::forget_push_token(const PushDevice& d, const std::string& token) {
  enqueue(
      [userId = d.userId, deviceId = d.deviceId, token](Batch& b) -> OpResult {
        b.store.forget_push_token(userId, deviceId, token);
        return OpResult{};
      },
      nullptr);
}

void Engine::touch_user(const Principal& who, std::function<void()> done) {
  std::string name = who.name.empty() ? who.userId : who.name;
  {
    std::lock_guard lk(profiles_mu_);
    auto it = known_profiles_.find(who.userId);
    if (it != known_profiles_.end() && it->second.first == name && it->second.second == who.photo) {
      if (done) done();
      return;
    }
    known_profiles_[who.userId] = {name, who.photo};
  }
  enqueue(upsert_user_job({who.userId, name, who.photo}),
          [this, id = who.userId, done = std::move(done)](OpResult r) {
            if (r.error != ErrorCode::ok) {
              std::lock_guard lk(profiles_mu_);
              known_profiles_.erase(id);
            }
            if (done) done();
          });
}

void Engine::on_presence(const std::string& userId, bool online, TimeMs when) {
  enqueue(
      [this, userId, online, when](Batch& b) -> OpResult {
        if (online) {
          offline_since_.erase(userId);
        } else {
          offline_since_[userId] = when;
          auto id = b.store.active_call_of(userId);
          if (auto c = id ? load(b, *id) : std::nullopt) {
            std::optional<TimeMs> required =
                userId == c->callerId ? std::optional<TimeMs>(c->timestamp) : c->acceptedAt;
            if (required) schedule_presence(*c, userId, *required);
          }
        }
        return OpResult{};
      },
      nullptr);
}

}  // namespace dialtone
