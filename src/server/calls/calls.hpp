// SPDX-License-Identifier: Apache-2.0
// The call path's one spine, as the network code sees it:
//
//   WebSocket / HTTP ──► Calls::run(job) ──► Committer (store thread: batch, savepoints, commit)
//                                              │  jobs: CallService::op, queries::*
//                                              │  before commit: deadlines, presence
//                                              ▼
//                         HubOutbox (publisher strand, commit order): snapshots, signals,
//                         pushes, log lines, metrics ──► answers to the jobs
//
// Calls owns the four parts and wires them; it adds the few jobs the server makes itself
// (profiles from tokens, push results, dead push tokens, device presence) and the one answer
// that needs no commit: a signal on an active call, checked against the hub's latest document.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>

#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "core/timeline.hpp"
#include "push/push_service.hpp"
#include "server/calls/call_service.hpp"
#include "server/calls/committer.hpp"
#include "server/calls/hub_outbox.hpp"
#include "server/calls/queries.hpp"
#include "server/hub.hpp"

namespace dialtone {

class Calls {
 public:
  // What runs on the store thread, and the call it reads first, if any: the batch's calls are
  // then fetched together, in one round trip to PostgreSQL (BatchOwner::prefetch).
  struct Job {
    std::function<OpResult(Tx&)> fn;
    std::string reads;
    Job() = default;
    Job(std::nullptr_t) {}  // NOLINT(google-explicit-constructor): "no such job"
    template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, Job> &&
                                                std::is_invocable_r_v<OpResult, F&, Tx&>>>
    Job(F f, std::string reads = {})  // NOLINT(google-explicit-constructor)
        : fn(std::move(f)), reads(std::move(reads)) {}
    explicit operator bool() const { return static_cast<bool>(fn); }
  };
  using DoneFn = std::function<void(OpResult)>;

  Calls(Store& store, Hub& hub, Metrics& metrics, CallOptions opts);
  ~Calls();

  void set_publisher(Committer::Publisher p) { committer_.set_publisher(std::move(p)); }
  // Where the receiver's push notifications go (none: no pushes). Set before start().
  void set_push(PushService* p);

  void start();  // loads the active calls, seeds the hub's routes, starts the store thread
  void stop();   // finishes queued jobs, commits, joins the thread
  bool ready() const { return committer_.ready(); }

  // Runs `job` on the store thread inside the next batch; `done` gets its result once the batch
  // is durable and published (or the store's failure).
  void run(Job job, DoneFn done);
  // The same as an Asio asynchronous operation: the result is delivered on the executor
  // associated with the completion handler.
  template <class Token>
  auto async_run(Job job, Token&& token) {
    return boost::asio::async_initiate<Token, void(OpResult)>(
        [this](auto handler, Job j) {
          auto ex = boost::asio::get_associated_executor(handler);
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          run(std::move(j), [h, ex](OpResult r) {
            boost::asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
          });
        },
        token, std::move(job));
  }

  // A participant's op, as a job.
  Job op(const Principal& who, const std::string& deviceId, Request req);
  // A signal on an active call answered at once, without the store: it changes nothing, and the
  // hub holds the latest committed document of every active call. nullopt: not that case (an
  // unknown or finished call, a refused op): run op() for the full answer.
  std::optional<OpResult> signal_now(const Principal& who, const std::string& deviceId,
                                     const Request& req);

  const Presence& presence() const { return hub_; }

  // From the push service: one incoming-call push finished. Results are counted into the call's
  // `delivery`, and each goes on its timeline, by one job per call however many arrive meanwhile.
  void on_push_result(const PushResult& r);
  // From the hub: a call this node relayed signals for ended; its counts go on the timeline.
  void on_signals(const Call& call, const Hub::SignalCounts& counts);
  // From the push service: a push with an outbox row is over; the row goes (one job for all
  // that arrive meanwhile).
  void on_push_finished(const std::string& pushId);
  // The push outbox's upkeep (CallService::tend_pushes); what it took over is sent once
  // committed.
  void tend_pushes(bool alone);
  // From the push service: the device's `token` is dead.
  void forget_push_token(const PushDevice& d, const std::string& token);
  // From the hub: a device's first session opened, or its last one closed.
  void on_presence(const std::string& userId, const std::string& deviceId, bool online,
                   TimeMs when);

  // Keeps the user's profile (from the token's claims) in the store; writes only on change.
  // `done` runs once the profile is stored (at once when it already was).
  void touch_user(const Principal& who, std::function<void()> done = nullptr);
  // The same as an Asio asynchronous operation: a WebSocket says hello only once its user can
  // be called from any node.
  template <class Token>
  auto async_touch_user(const Principal& who, Token&& token) {
    return boost::asio::async_initiate<Token, void()>(
        [this](auto handler, const Principal& p) {
          auto ex = boost::asio::get_associated_executor(handler);
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          touch_user(p, [h, ex] { boost::asio::post(ex, [h]() mutable { (*h)(); }); });
        },
        token, who);
  }

 private:
  Store& store_;
  Hub& hub_;
  Metrics& metrics_;
  HubOutbox outbox_;
  CallService service_;
  Committer committer_;

  std::mutex push_results_mu_;
  struct PushResults {
    std::int64_t delivered = 0, failed = 0;
    std::vector<TimelineEvent> events;
  };
  std::unordered_map<std::string, PushResults> push_results_;
  std::mutex finished_mu_;
  std::vector<std::string> finished_;  // push ids whose rows are to go
  PushService* push_ = nullptr;
  std::mutex profiles_mu_;
  std::unordered_map<std::string, std::pair<std::string, std::string>> known_profiles_;
};

}  // namespace dialtone
