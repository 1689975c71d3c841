// The engine: the only writer of call state. It owns the store and one thread (the store
// thread). Network threads enqueue jobs; the store thread takes every queued job as one batch,
// runs each inside its own savepoint of one transaction, fires due deadlines, commits once
// (group commit), and only then publishes the changes to the hub and answers the requests.
// An op is acknowledged only after its transition is durable.
#pragma once

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <queue>
#include <thread>
#include <unordered_map>

#include "auth/jwt.hpp"
#include "core/request.hpp"
#include "push/push_service.hpp"
#include "server/config.hpp"
#include "server/hub.hpp"
#include "server/metrics.hpp"
#include "store/store.hpp"

namespace dialtone {

struct OpResult {
  ErrorCode error = ErrorCode::ok;
  std::string message;
  int status = 200;                        // 200, 201 or the error's status
  std::optional<Call> call;                // the document (also with busy / invalid_transition)
  std::shared_ptr<const std::string> doc;  // `call` serialized, when the engine already did it
  std::optional<boost::json::value> body;  // reads answer with a body of their own
  bool rollback = false;                   // undo this job's writes (its savepoint)
  int retryAfterSeconds = 0;               // rate_limited

  static OpResult fail(ErrorCode e, std::string msg, std::optional<Call> call = std::nullopt) {
    OpResult r;
    r.error = e;
    r.message = std::move(msg);
    r.status = http_status(e);
    r.call = std::move(call);
    return r;
  }
};

struct EngineOptions {
  TimeMs ringTimeoutMs = 45'000;
  TimeMs mediaTimeoutMs = 30'000;
  TimeMs presenceGraceMs = 20'000;
  // Keep active calls cached from one batch to the next: only when this engine is the store's
  // only writer (SQLite). On a shared store each batch starts from what is committed.
  bool cacheAcrossBatches = true;
};

class Engine {
 public:
  // What a job sees: the store inside the batch transaction, and the changes to publish.
  struct Batch;
  using RunFn = std::function<OpResult(Batch&)>;
  using DoneFn = std::function<void(OpResult)>;

  Engine(Store& store, Hub& hub, Metrics& metrics, EngineOptions opts);
  ~Engine();

  // Where committed batches are published and answered: a serial executor of the network
  // threads (a strand), so that the store thread goes straight on to the next batch. Without
  // one, the store thread publishes itself.
  using Publisher = std::function<void(std::function<void()>)>;
  void set_publisher(Publisher p) { publisher_ = std::move(p); }
  // Where the receiver's push notifications go (none: no pushes). Set before start().
  void set_push(PushService* p) { push_ = p; }

  void start();  // loads active calls, arms deadlines and presence checks, starts the thread
  void stop();   // finishes queued jobs, commits, joins the thread

  // Runs `run` on the store thread inside the next batch; `done` gets the result after commit.
  void enqueue(RunFn run, DoneFn done);

  // The same as an Asio asynchronous operation: the result is delivered on the executor
  // associated with the completion handler.
  template <class Token>
  auto async_run(RunFn run, Token&& token) {
    return boost::asio::async_initiate<Token, void(OpResult)>(
        [this](auto handler, RunFn fn) {
          auto ex = boost::asio::get_associated_executor(handler);
          auto h = std::make_shared<decltype(handler)>(std::move(handler));
          enqueue(std::move(fn), [h, ex](OpResult r) {
            boost::asio::post(ex, [h, r = std::move(r)]() mutable { (*h)(std::move(r)); });
          });
        },
        token, std::move(run));
  }

  // Job builders: each returns the function that runs on the store thread.
  RunFn op_job(const Principal& who, const std::string& deviceId, Request req);
  RunFn get_call_job(const Principal& who, std::string callId);
  RunFn history_job(const Principal& who, TimeMs before, std::size_t limit);
  // Reads of other people, as the directory policy lets `viewer` see them: a profile, online
  // and busy only of someone `viewer` may see (else not_found, as for an unknown user);
  // the list of every user (open), of `viewer`'s mutual contacts (contacts), or none.
  RunFn users_job(std::string viewer, std::optional<std::string> userId, Directory policy);
  RunFn busy_job(std::string viewer, std::string userId, Directory policy);
  RunFn add_contact_job(std::string userId, std::string contactId);
  RunFn remove_contact_job(std::string userId, std::string contactId);
  RunFn upsert_user_job(Profile p);
  RunFn register_device_job(PushDevice d);
  RunFn delete_device_job(std::string userId, std::string deviceId);
  RunFn devices_job(std::string userId);

  // From the push service: one incoming-call push finished. Results are counted into the call's
  // `delivery` by one job per call however many arrive meanwhile.
  void on_push_result(const std::string& callId, bool delivered);
  // From the push service: the device's `token` is dead.
  void forget_push_token(const PushDevice& d, const std::string& token);

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
  // From the hub: a user's first session opened / last session closed.
  void on_presence(const std::string& userId, bool online, TimeMs when);

  // Started, and the store answered the last batch (a store outage makes the node not ready
  // until a probe, once a second, succeeds again).
  bool ready() const { return ready_.load() && store_ok_.load(); }

 private:
  struct Job {
    RunFn run;
    DoneFn done;
    std::chrono::steady_clock::time_point enqueued;
  };
  struct PresenceCheck {
    TimeMs at;
    std::string callId, userId;
    bool operator>(const PresenceCheck& o) const { return at > o.at; }
  };

  void loop();
  void run_batch(std::vector<Job>& jobs);
  OpResult run_job(Batch& b, Job& job);  // one job in its own savepoint
  void fire_deadlines(Batch& b);
  void fire_presence(Batch& b);
  // Runs `fn` (a server-driven change) in its own savepoint; a version conflict (another node
  // changed the call first) rolls back only that change.
  void contended(Batch& b, const std::function<void()>& fn);
  void after_commit(Batch& b);  // store-thread bookkeeping of the committed changes
  struct Outcome;
  void publish(Outcome& out);  // on the publisher: snapshots, log lines, answers
  void schedule_presence(const Call& c, const std::string& userId, TimeMs requiredSince);
  // Reads a call inside the batch, from the cache of active calls when it is there.
  std::optional<Call> load(Batch& b, const std::string& callId);
  // Writes a change (or a new call) and records it for publication after the commit; returns
  // the serialized public document.
  // `actorDevice`: the device whose op made the change, if any.
  std::shared_ptr<const std::string> persist(Batch& b, const Transition& t, CallState from,
                                             const std::string& actorDevice = {});
  std::shared_ptr<const std::string> insert(Batch& b, const Call& c,
                                            std::vector<PushDevice> devices = {});
  // The user's devices the push service can reach (none without a push service).
  std::vector<PushDevice> push_targets(Batch& b, const std::string& userId);

  Store& store_;
  Hub& hub_;
  Metrics& metrics_;
  EngineOptions opts_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> store_ok_{true};
  Publisher publisher_;
  PushService* push_ = nullptr;
  std::mutex push_results_mu_;
  std::unordered_map<std::string, std::pair<std::int64_t, std::int64_t>> push_results_;

  // Store-thread state.
  std::optional<TimeMs> next_deadline_;
  TimeMs last_batch_ = 0;
  std::priority_queue<PresenceCheck, std::vector<PresenceCheck>, std::greater<>> presence_;
  std::unordered_map<std::string, TimeMs> offline_since_;
  TimeMs started_at_ = 0;
  // Active calls as written by this engine (committed, or written earlier in the current
  // batch). Saves a read and a JSON parse per op; cleared whenever anything rolls back, and a
  // version conflict in the store (another writer) clears it and retries the job once.
  std::unordered_map<std::string, Call> cache_;

  std::mutex profiles_mu_;
  std::unordered_map<std::string, std::pair<std::string, std::string>> known_profiles_;
};

}  // namespace dialtone
