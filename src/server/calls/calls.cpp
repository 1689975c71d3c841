// SPDX-License-Identifier: Apache-2.0
#include "server/calls/calls.hpp"

#include <spdlog/spdlog.h>
#include <boost/json/object.hpp>

#include <string_view>

namespace dialtone {

namespace json = boost::json;

Calls::Calls(Store& store, Hub& hub, Metrics& metrics, CallOptions opts)
    : store_(store),
      hub_(hub),
      metrics_(metrics),
      outbox_(hub, metrics),
      service_(opts, hub, outbox_),
      committer_(store, metrics) {
  committer_.set_owner(&service_);
}

Calls::~Calls() {
  stop();
}

void Calls::set_push(PushService* p) {
  push_ = p;
  outbox_.set_push(p);
  if (p)
    service_.set_pushable([p](Platform pl) { return p->handles(pl); });
  else
    service_.set_pushable(nullptr);
}

void Calls::start() {
  auto active = service_.load(store_, now_ms());
  hub_.seed(active);
  metrics_.active_calls = static_cast<std::int64_t>(active.size());
  auto wake = service_.next_wake();
  spdlog::info("CALLS_START activeCalls={} nextDeadline={}", active.size(),
               wake ? format_iso(*wake) : "none");
  committer_.start();
}

void Calls::stop() {
  committer_.stop();
}

void Calls::run(Job job, DoneFn done) {
  auto result = std::make_shared<OpResult>();
  committer_.enqueue(
      [fn = std::move(job.fn), result](Tx& tx) {
        try {
          *result = fn(tx);
        } catch (const Error& e) {
          *result = OpResult::fail(e.code(), e.what());
          return false;
        }
        return !result->rollback;
      },
      [result, done = std::move(done)](JobEnd end) {
        if (!done) return;
        switch (end) {
          case JobEnd::committed:
            return done(std::move(*result));
          case JobEnd::unavailable:
            return done(OpResult::fail(ErrorCode::unavailable,
                                       "the store is unavailable; nothing changed"));
          case JobEnd::failed:
            return done(
                OpResult::fail(ErrorCode::internal, "the server could not apply the operation"));
          case JobEnd::stopped:
            return done(OpResult::fail(ErrorCode::unavailable, "server is shutting down"));
        }
      },
      std::move(job.reads));
}

Calls::Job Calls::op(const Principal& who, const std::string& deviceId, Request req) {
  std::string reads = req.op == Op::create ? std::string() : req.callId;
  return Job([this, who, deviceId,
              req = std::move(req)](Tx& tx) { return service_.op(tx, who, deviceId, req); },
             std::move(reads));
}

std::optional<OpResult> Calls::signal_now(const Principal& who, const std::string& deviceId,
                                          const Request& req) {
  if (req.op != Op::signal) return std::nullopt;
  auto call = hub_.route(req.callId);
  if (!call || !call->is_participant(who.userId)) return std::nullopt;
  Transition t = apply(*call, Intent{Event::signal}, Actor{who.userId, deviceId}, now_ms());
  if (t.error != ErrorCode::ok) return std::nullopt;
  outbox_.relay(SignalSent{*call, who.userId, req.data});
  OpResult r;
  r.call = *call;
  return r;
}

void Calls::on_push_result(const PushResult& r) {
  TimelineEvent e{now_ms(), "server", r.deviceId, "push",
                  json::object{{"provider", platform_name(r.platform)},
                               {"outcome", r.outcome},
                               {"latencyMs", r.latencyMs},
                               {"attempts", r.attempts}}};
  if (!r.detail.empty()) e.data["detail"] = r.detail.substr(0, 200);
  {
    std::lock_guard lk(push_results_mu_);
    auto [it, fresh] = push_results_.try_emplace(r.callId);
    (r.delivered() ? it->second.delivered : it->second.failed)++;
    if (it->second.events.size() < kMaxTimelineEvents) it->second.events.push_back(std::move(e));
    if (!fresh) return;  // a job for this call is queued and will take this one too
  }
  // (A job may run more than once — a batch run again, a conflict — so what it takes it keeps.)
  run(Job(
          [this, callId = r.callId, got = std::make_shared<std::optional<PushResults>>()](Tx& tx) {
            if (!*got) {
              std::lock_guard lk(push_results_mu_);
              auto it = push_results_.find(callId);
              if (it == push_results_.end()) return OpResult{};
              *got = std::move(it->second);
              push_results_.erase(it);
            }
            service_.push_results(tx, callId, (*got)->delivered, (*got)->failed, (*got)->events);
            return OpResult{};
          },
          r.callId),
      nullptr);
}

void Calls::on_signals(const Call& call, const Hub::SignalCounts& counts) {
  std::vector<TimelineEvent> events;
  TimeMs now = now_ms();
  for (const auto* side : {"caller", "receiver"}) {
    const auto& n = side == std::string_view("caller") ? counts.caller : counts.receiver;
    json::object data{{"from", side}};
    std::int64_t total = 0;
    for (std::size_t i = 0; i < n.size(); ++i) {
      data[Hub::kSignalTypes[i]] = n[i];
      total += n[i];
    }
    if (total > 0) events.push_back(TimelineEvent{now, "server", "", "signals", std::move(data)});
  }
  if (events.empty()) return;
  run(
      [this, callId = call.callId, events = std::move(events)](Tx& tx) {
        service_.append_server_events(tx, callId, events);
        return OpResult{};
      },
      nullptr);
}

void Calls::on_push_finished(const std::string& pushId) {
  {
    std::lock_guard lk(finished_mu_);
    finished_.push_back(pushId);
    if (finished_.size() > 1) return;  // a job is queued and will take this one too
  }
  run(
      [this, ids = std::make_shared<std::vector<std::string>>()](Tx& tx) {
        if (ids->empty()) {
          std::lock_guard lk(finished_mu_);
          ids->swap(finished_);
        }
        for (const auto& id : *ids) service_.push_finished(tx, id);
        return OpResult{};
      },
      nullptr);
}

void Calls::tend_pushes(bool alone) {
  auto taken = std::make_shared<std::vector<PushPlan>>();
  run(
      [this, alone, taken](Tx& tx) {
        *taken = service_.tend_pushes(tx, alone);
        return OpResult{};
      },
      [this, taken](OpResult r) {
        if (r.error != ErrorCode::ok) {
          spdlog::warn("PUSH_OUTBOX_FAILED error=\"{}\"", r.message);
          return;
        }
        if (!taken->empty()) {
          metrics_.push_taken_over += taken->size();
          spdlog::info("PUSH_TAKEN_OVER count={}", taken->size());
        }
        if (push_)
          for (const auto& plan : *taken) push_->send(plan.notice, plan.devices, plan.pushIds);
      });
}

void Calls::forget_push_token(const PushDevice& d, const std::string& token) {
  run([d, token](Tx& tx) { return queries::forget_push_token(tx, d, token); }, nullptr);
}

void Calls::on_presence(const std::string& userId, const std::string& deviceId, bool online,
                        TimeMs when) {
  run(
      [this, userId, deviceId, online, when](Tx& tx) {
        service_.device_presence(tx, userId, deviceId, online, when);
        return OpResult{};
      },
      nullptr);
}

void Calls::touch_user(const Principal& who, std::function<void()> done) {
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
  run([p = Profile{who.userId, name, who.photo}](Tx& tx) { return queries::upsert_user(tx, p); },
      [this, id = who.userId, done = std::move(done)](OpResult r) {
        if (r.error != ErrorCode::ok) {
          std::lock_guard lk(profiles_mu_);
          known_profiles_.erase(id);
        }
        if (done) done();
      });
}

}  // namespace dialtone
