// SPDX-License-Identifier: Apache-2.0
// Sends push notifications on its own thread, so that a slow or hanging push service never
// delays call signaling: send() only queues. At most `concurrency` requests are in flight;
// a request that meets 429/5xx or a network error is retried with exponential backoff and
// jitter (or after the service's Retry-After), never past the notice's expiry; a dead token is
// reported for deletion. Results go to the hooks, called on the push thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "push/http_client.hpp"
#include "push/provider.hpp"

namespace dialtone {

struct PushOptions {
  std::size_t concurrency = 32;              // requests in flight, all providers together
  std::size_t maxQueue = 10000;              // pushes waiting; beyond this new ones are dropped
  std::chrono::milliseconds timeout{10000};  // one request
  int maxAttempts = 5;
  HttpClientOptions http;
};

// The final result of one incoming-call push to one device (for the call's delivery progress
// and timeline). No token: only which device, through which provider, and what came of it.
struct PushResult {
  std::string callId, userId, deviceId;
  Platform platform = Platform::fcm;
  std::string outcome;         // delivered | dead_token | failed | expired | dropped
  std::string detail;          // the provider's words when not delivered
  std::int64_t latencyMs = 0;  // queued → final answer
  int attempts = 0;
  bool delivered() const { return outcome == "delivered"; }
};

struct PushHooks {
  // The final result of one incoming-call push.
  std::function<void(const PushResult&)> incoming_result;
  // `token` of `device` is gone for good (the device's token or its APNs regular token).
  std::function<void(const PushDevice& device, const std::string& token)> dead_token;
  // Every request's outcome (delivered, retried, dead_token, failed, expired, cancelled,
  // dropped) and, for
  // those that got an answer, how long it took.
  std::function<void(Platform, const std::string& outcome, std::chrono::microseconds)> outcome;
  std::function<void(std::int64_t pending)> pending;
  // A push sent with an outbox id is over, whatever came of it (delivered, failed, expired,
  // cancelled, dropped): its row in the store's outbox can go. Not called for what stop()
  // abandons: those rows stay, for this node's next start or another node to take over.
  std::function<void(const std::string& pushId)> finished;
};

class PushService {
 public:
  PushService(std::vector<std::unique_ptr<PushProvider>> providers, PushOptions opts,
              PushHooks hooks);
  ~PushService();

  bool handles(Platform p) const;
  void start();
  void stop();  // abandons what is still queued
  // Queues `notice` for each device whose platform has a provider; returns how many were queued.
  // `pushIds`, when given, are the outbox rows of the devices, one each, reported to
  // hooks.finished when their push is over. Thread-safe and never blocks on the network.
  std::size_t send(std::shared_ptr<const Notice> notice, const std::vector<PushDevice>& devices,
                   const std::vector<std::string>& pushIds = {});
  // The call stopped ringing: its incoming-call pushes not yet sent (waiting, or to be retried)
  // are dropped, so that no device is woken for a call that is gone. `ringDeadline`: after it
  // they expire anyway. Thread-safe.
  void cancel_incoming(const std::string& callId, TimeMs ringDeadline);

 private:
  struct Delivery {
    std::shared_ptr<const Notice> notice;
    PushDevice device;
    std::string token;  // the device token the last attempt used
    int attempts = 0;
    bool reauthed = false;
    TimeMs queuedAt = 0;
    std::string pushId;  // its outbox row, if any
  };
  struct ProviderState {
    std::unique_ptr<PushProvider> provider;
    bool authInFlight = false;
    TimeMs authFailedAt = 0;
    std::string authError;
  };

  void loop();
  void pump(TimeMs now);
  void start_auth(ProviderState& ps, TimeMs now);
  // Credentials are fetched ahead of the first push (at start) and renewed before they expire,
  // so a push never waits for them while things work.
  void keep_credentials(TimeMs now);
  using DeliveryPtr = std::shared_ptr<Delivery>;
  void dispatch(DeliveryPtr d, ProviderState& ps, TimeMs now);
  void finish(DeliveryPtr d, ProviderState& ps, const HttpReply& r,
              std::chrono::microseconds elapsed);
  // `counted`: the outcome hook already heard of it.
  void give_up(Delivery& d, const std::string& outcome, const std::string& why,
               bool counted = false);
  // The push's final line in the log (PUSH_SENT; not for drops, which are counted per second)
  // and, for an incoming call, its result.
  void settle(const Delivery& d, const std::string& outcome, const std::string& detail,
              bool logLine = true);
  ProviderState* state_for(Platform p);
  // `d` is over: no longer queued, and its outbox row can go.
  void release(const Delivery& d);

  PushOptions opts_;
  PushHooks hooks_;
  std::vector<ProviderState> providers_;
  HttpClient http_;

  std::mutex mu_;
  std::vector<std::shared_ptr<Delivery>> incoming_;      // from send(), under mu_
  std::vector<std::pair<std::string, TimeMs>> cancels_;  // from cancel_incoming(), under mu_
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<std::size_t> queued_{0};  // accepted and not yet finished
  std::size_t dropped_ = 0;             // under mu_: drops not yet logged
  TimeMs dropped_logged_at_ = 0;

  // Push-thread state. Incoming-call pushes go first: a phone must ring while the call does;
  // stop-ringing and missed-call notices can wait behind them.
  std::deque<std::shared_ptr<Delivery>> ringing_;  // incoming_call notices ready to go
  std::deque<std::shared_ptr<Delivery>> ready_;    // every other notice ready to go
  std::deque<std::shared_ptr<Delivery>>& queue_for(const Delivery& d);
  std::multimap<TimeMs, std::shared_ptr<Delivery>> waiting_;  // backing off, by due time
  std::unordered_map<std::string, TimeMs> cancelled_;         // callId → its ring deadline
  TimeMs last_sweep_ = 0;
  bool cancelled(const Delivery& d) const;
};

}  // namespace dialtone
