// SPDX-License-Identifier: Apache-2.0
#include "push/push_service.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <random>

#include "util/text.hpp"

namespace dialtone {

namespace {

constexpr TimeMs kAuthRetryMs = 5000;  // after a failed credential fetch, fail fast this long
// Ahead of any push, a failed credential fetch is tried again after this long (a push that
// needs one tries at once, then every kAuthRetryMs).
constexpr TimeMs kAuthRefreshAfterFailureMs = 60000;
constexpr TimeMs kMaxBackoffMs = 30000;

TimeMs backoff_ms(int attempts) {
  thread_local std::mt19937 rng{std::random_device{}()};
  TimeMs base = std::min<TimeMs>(kMaxBackoffMs, 1000LL << std::min(attempts - 1, 5));
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return static_cast<TimeMs>(static_cast<double>(base) * jitter(rng));
}

}  // namespace

PushService::PushService(std::vector<std::unique_ptr<PushProvider>> providers, PushOptions opts,
                         PushHooks hooks)
    : opts_(std::move(opts)), hooks_(std::move(hooks)), http_(opts_.http) {
  for (auto& p : providers) {
    ProviderState ps;
    ps.provider = std::move(p);
    providers_.push_back(std::move(ps));
  }
}

PushService::~PushService() {
  stop();
}

bool PushService::handles(Platform p) const {
  for (const auto& ps : providers_)
    if (ps.provider->platform() == p) return true;
  return false;
}

PushService::ProviderState* PushService::state_for(Platform p) {
  for (auto& ps : providers_)
    if (ps.provider->platform() == p) return &ps;
  return nullptr;
}

void PushService::start() {
  thread_ = std::thread([this] { loop(); });
}

void PushService::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  http_.wakeup();
  if (thread_.joinable()) thread_.join();
}

std::size_t PushService::send(std::shared_ptr<const Notice> notice,
                              const std::vector<PushDevice>& devices,
                              const std::vector<std::string>& pushIds) {
  std::size_t n = 0;
  bool wake = false;
  std::vector<std::string> dropped;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return 0;
    // The push thread drains everything queued when it wakes: one wakeup per batch suffices.
    bool idle = incoming_.empty() && cancels_.empty();
    for (std::size_t i = 0; i < devices.size(); ++i) {
      const PushDevice& dev = devices[i];
      std::string pushId = i < pushIds.size() ? pushIds[i] : std::string();
      if (!handles(dev.platform)) {
        if (!pushId.empty()) dropped.push_back(std::move(pushId));
        continue;
      }
      ++n;
      if (queued_ >= opts_.maxQueue) {
        // One line per second at most: a flood of drops must not become a flood of log lines.
        ++dropped_;
        TimeMs now = now_ms();
        if (now - dropped_logged_at_ >= 1000) {
          spdlog::warn("PUSH_DROPPED count={} queue={} (the push services do not keep up)",
                       dropped_, queued_.load());
          dropped_ = 0;
          dropped_logged_at_ = now;
        }
        if (hooks_.outcome) hooks_.outcome(dev.platform, "dropped", {});
        settle(Delivery{notice, dev, {}, 0, false, now}, "dropped", "the push queue was full",
               false);
        if (!pushId.empty()) dropped.push_back(std::move(pushId));
        continue;
      }
      ++queued_;
      auto d = std::make_shared<Delivery>();
      d->notice = notice;
      d->device = dev;
      d->queuedAt = now_ms();
      d->pushId = std::move(pushId);
      incoming_.push_back(std::move(d));
      wake = idle;
    }
  }
  if (hooks_.finished)
    for (const auto& id : dropped) hooks_.finished(id);
  if (wake) http_.wakeup();
  return n;
}

void PushService::cancel_incoming(const std::string& callId, TimeMs ringDeadline) {
  bool wake = false;
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    wake = incoming_.empty() && cancels_.empty();
    cancels_.emplace_back(callId, ringDeadline);
  }
  if (wake) http_.wakeup();
}

std::deque<PushService::DeliveryPtr>& PushService::queue_for(const Delivery& d) {
  return d.notice->kind == NoticeKind::incoming_call ? ringing_ : ready_;
}

bool PushService::cancelled(const Delivery& d) const {
  return d.notice->kind == NoticeKind::incoming_call && cancelled_.count(d.notice->callId);
}

void PushService::loop() {
  for (;;) {
    TimeMs now = now_ms();
    {
      std::lock_guard lk(mu_);
      if (stopping_) break;
      for (auto& d : incoming_) queue_for(*d).push_back(std::move(d));
      incoming_.clear();
      for (auto& [id, deadline] : cancels_) cancelled_[id] = deadline;
      cancels_.clear();
    }
    while (!waiting_.empty() && waiting_.begin()->first <= now) {
      queue_for(*waiting_.begin()->second).push_back(std::move(waiting_.begin()->second));
      waiting_.erase(waiting_.begin());
    }
    keep_credentials(now);
    pump(now);
    if (hooks_.pending) hooks_.pending(static_cast<std::int64_t>(queued_.load()));
    TimeMs wait = 1000;
    if (!waiting_.empty()) wait = std::clamp<TimeMs>(waiting_.begin()->first - now, 0, 1000);
    http_.run_once(std::chrono::milliseconds(wait));
  }
}

void PushService::pump(TimeMs now) {
  // What expired or stopped ringing goes at once, but a full pass over the queue is made at
  // most once a second: while every slot is taken, a wakeup must cost nothing.
  if (now - last_sweep_ >= 1000) {
    last_sweep_ = now;
    // Past its ring deadline an incoming-call push expires by itself.
    std::erase_if(cancelled_, [now](const auto& kv) { return kv.second < now; });
    for (auto* q : {&ringing_, &ready_})
      std::erase_if(*q, [&](const DeliveryPtr& d) {
        if (now >= d->notice->expiresAt)
          give_up(*d, "expired", "expired before it could be sent");
        else if (cancelled(*d))
          give_up(*d, "cancelled", "the call stopped ringing before it was sent");
        else
          return false;
        return true;
      });
  }
  std::deque<DeliveryPtr> awaiting_auth;
  while ((!ringing_.empty() || !ready_.empty()) && http_.in_flight() < opts_.concurrency) {
    auto& q = ringing_.empty() ? ready_ : ringing_;
    DeliveryPtr d = std::move(q.front());
    q.pop_front();
    if (now >= d->notice->expiresAt) {
      give_up(*d, "expired", "expired before it could be sent");
      continue;
    }
    if (cancelled(*d)) {
      give_up(*d, "cancelled", "the call stopped ringing before it was sent");
      continue;
    }
    ProviderState* ps = state_for(d->device.platform);
    if (!ps->provider->auth_ready(now)) {
      if (!ps->authInFlight) {
        if (ps->authFailedAt && now - ps->authFailedAt < kAuthRetryMs) {
          give_up(*d, "failed", "no credential: " + ps->authError);
          continue;
        }
        start_auth(*ps, now);
      }
      awaiting_auth.push_back(std::move(d));
      continue;
    }
    dispatch(std::move(d), *ps, now);
  }
  // Back at the front of their queues, in their order.
  for (auto it = awaiting_auth.rbegin(); it != awaiting_auth.rend(); ++it)
    queue_for(**it).push_front(std::move(*it));
}

void PushService::keep_credentials(TimeMs now) {
  for (auto& ps : providers_) {
    if (ps.authInFlight || ps.provider->auth_ready(now)) continue;
    if (ps.authFailedAt && now - ps.authFailedAt < kAuthRefreshAfterFailureMs) continue;
    start_auth(ps, now);
  }
}

void PushService::start_auth(ProviderState& ps, TimeMs now) {
  std::optional<HttpCall> call;
  try {
    call = ps.provider->auth_request(now);
  } catch (const std::exception& e) {
    ps.authFailedAt = now;
    ps.authError = e.what();
    return;
  }
  if (!call) return;
  ps.authInFlight = true;
  std::string_view name = platform_name(ps.provider->platform());
  http_.post(std::move(*call), opts_.timeout,
             [this, &ps, name](HttpReply r, std::chrono::microseconds) {
               ps.authInFlight = false;
               std::string error;
               TimeMs t = now_ms();
               if (ps.provider->auth_result(r, t, error)) {
                 ps.authFailedAt = 0;
                 spdlog::info("PUSH_AUTH_OK provider={}", name);
               } else {
                 ps.authFailedAt = t;
                 ps.authError = error;
                 spdlog::error("PUSH_AUTH_FAILED provider={} error={}", name, log_value(error));
               }
               http_.wakeup();
             });
}

void PushService::dispatch(DeliveryPtr d, ProviderState& ps, TimeMs now) {
  std::optional<HttpCall> call;
  try {
    call = ps.provider->request(d->device, *d->notice, now, d->token);
  } catch (const std::exception& e) {
    give_up(*d, "failed", e.what());
    return;
  }
  if (!call) {  // this device has no target for this kind of message
    release(*d);
    return;
  }
  ++d->attempts;
  auto left = std::chrono::milliseconds(std::max<TimeMs>(1, d->notice->expiresAt - now));
  http_.post(std::move(*call), std::min(opts_.timeout, left),
             [this, d, &ps](HttpReply r, std::chrono::microseconds elapsed) {
               finish(d, ps, r, elapsed);
             });
}

void PushService::finish(DeliveryPtr d, ProviderState& ps, const HttpReply& r,
                         std::chrono::microseconds elapsed) {
  Verdict v = ps.provider->classify(r);
  TimeMs now = now_ms();
  const Notice& n = *d->notice;
  Platform p = d->device.platform;
  auto outcome = [&](const char* o) {
    if (hooks_.outcome) hooks_.outcome(p, o, elapsed);
  };
  switch (v.kind) {
    case Verdict::Kind::delivered:
      outcome("delivered");
      settle(*d, "delivered", "");
      release(*d);
      return;
    case Verdict::Kind::dead_token:
      outcome("dead_token");
      spdlog::info("PUSH_DEAD_TOKEN callId={} provider={} user={} device={} detail=\"{}\"",
                   n.callId, platform_name(p), d->device.userId, d->device.deviceId, v.detail);
      if (hooks_.dead_token) hooks_.dead_token(d->device, d->token);
      settle(*d, "dead_token", v.detail);
      release(*d);
      return;
    case Verdict::Kind::reauth:
      if (d->reauthed) break;
      d->reauthed = true;
      ps.provider->invalidate_auth();
      outcome("retried");
      queue_for(*d).push_front(std::move(d));
      return;
    case Verdict::Kind::retry: {
      if (cancelled(*d)) {
        outcome("cancelled");
        give_up(*d, "cancelled", "the call stopped ringing (" + v.detail + ")", true);
        return;
      }
      if (d->attempts >= opts_.maxAttempts) {
        outcome("failed");
        give_up(*d, "failed",
                "gave up after " + std::to_string(d->attempts) + " attempts: " + v.detail, true);
        return;
      }
      auto after = parse_retry_after(r.header("retry-after"), now);
      TimeMs due = now + (after ? *after : backoff_ms(d->attempts));
      if (due >= n.expiresAt) {
        outcome("expired");
        give_up(*d, "expired", "the next attempt would be too late (" + v.detail + ")", true);
        return;
      }
      outcome("retried");
      spdlog::info("PUSH_RETRY callId={} provider={} device={} in_ms={} after=\"{}\"", n.callId,
                   platform_name(p), d->device.deviceId, due - now, v.detail);
      waiting_.emplace(due, std::move(d));
      return;
    }
    case Verdict::Kind::failed:
      break;
  }
  outcome("failed");
  give_up(*d, "failed", v.detail, true);
}

void PushService::give_up(Delivery& d, const std::string& outcome, const std::string& why,
                          bool counted) {
  if (!counted && hooks_.outcome) hooks_.outcome(d.device.platform, outcome, {});
  // A push dropped because its call stopped ringing is the normal course of things: not a
  // warning, and not a failure to count into the call (which no longer rings).
  bool ring_over = outcome == "cancelled" || why.rfind("the call stopped ringing", 0) == 0;
  spdlog::log(ring_over ? spdlog::level::debug : spdlog::level::warn,
              "PUSH_FAILED callId={} type={} provider={} user={} device={} reason={}",
              d.notice->callId, notice_type(d.notice->kind), platform_name(d.device.platform),
              d.device.userId, d.device.deviceId, log_value(why));
  if (!ring_over) settle(d, outcome, why);
  release(d);
}

void PushService::release(const Delivery& d) {
  --queued_;
  if (!d.pushId.empty() && hooks_.finished) hooks_.finished(d.pushId);
}

void PushService::settle(const Delivery& d, const std::string& outcome, const std::string& detail,
                         bool logLine) {
  const Notice& n = *d.notice;
  std::int64_t latency = std::max<std::int64_t>(0, now_ms() - d.queuedAt);
  // One line per push, as the original spec's FCM_PUSH_SENT: no token, no payload.
  if (logLine)
    spdlog::info(
        "PUSH_SENT callId={} type={} provider={} user={} device={} outcome={} attempts={} "
        "latency_ms={}",
        n.callId, notice_type(n.kind), platform_name(d.device.platform), d.device.userId,
        d.device.deviceId, outcome, d.attempts, latency);
  if (n.kind != NoticeKind::incoming_call || !hooks_.incoming_result) return;
  PushResult r{n.callId, d.device.userId, d.device.deviceId, d.device.platform,
               outcome,  detail,          latency,           d.attempts};
  hooks_.incoming_result(r);
}

}  // namespace dialtone
