// SPDX-License-Identifier: Apache-2.0
// The committer: the only writer of the store. It owns one thread (the store thread). Other
// threads enqueue jobs; the store thread takes every queued job as one batch, runs each inside
// its own savepoint of one transaction, lets the batch's owner add its server-driven changes,
// commits once (group commit), and only then hands the batch back to be published and answered,
// in commit order. A job is answered only after its writes are durable.
//
// On a store across the network (PostgreSQL) a batch first runs pipelined, without savepoints:
// writes are sent without waiting, and the batch costs about one round trip per read. If any of
// it fails before the commit (a conflict with another node, an error, a job that gave up after
// writing), that run is rolled back and undone and the batch runs again the savepoint way, where
// the failure is only its own job's.
//
// It knows nothing about calls: what a batch means is its owner's business (BatchOwner, the call
// service). It knows the store's transactions, conflicts, retries, readiness and timing.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "server/metrics.hpp"
#include "store/store.hpp"

namespace dialtone {

// What a job sees: the store inside the batch transaction, and the batch's clock.
struct Tx {
  Store& store;
  TimeMs now;
};

// What a batch writes besides its jobs, and what must hear how it ended.
class BatchOwner {
 public:
  virtual ~BatchOwner() = default;
  // The earliest time server-driven work is due (a deadline), or nullopt.
  virtual std::optional<TimeMs> next_wake() = 0;
  virtual void begin(Tx& tx) = 0;
  // In a pipelined batch, after begin(): what the batch's jobs read first (Committer::enqueue's
  // `reads`), to fetch at once rather than one round trip per job.
  virtual void prefetch(Tx& /*tx*/, const std::vector<std::string>& /*keys*/) {}
  // After the jobs, inside the transaction: the changes the server makes itself.
  virtual void before_commit(Tx& tx) = 0;
  // Around each savepoint: mark() before it; undo(mark) when it was rolled back.
  virtual std::size_t mark() = 0;
  virtual void undo(std::size_t mark) = 0;
  // The batch committed (or was rolled back whole): store-thread bookkeeping, and what to run on
  // the publisher before the jobs are answered.
  virtual std::function<void()> finish(Tx& tx, bool committed) = 0;
};

// How a job's batch ended for it.
enum class JobEnd {
  committed,    // its writes (or its own rollback) are durable
  unavailable,  // the store failed: the whole batch was rolled back
  failed,       // it threw something unexpected, or lost every retry of a conflict
  stopped,      // the committer was stopping: it never ran
};

class Committer {
 public:
  // Runs on the store thread inside its own savepoint; false rolls its writes back. A
  // StoreError(conflict) (another writer was first) runs it again on what is committed now.
  using Run = std::function<bool(Tx&)>;
  using Done = std::function<void(JobEnd)>;
  // Where committed batches are published and answered: a serial executor of the network
  // threads (a strand), so that the store thread goes straight on to the next batch. Without
  // one, the store thread publishes itself.
  using Publisher = std::function<void(std::function<void()>)>;

  Committer(Store& store, Metrics& metrics);
  ~Committer();

  void set_owner(BatchOwner* owner) { owner_ = owner; }  // before start()
  void set_publisher(Publisher p) { publisher_ = std::move(p); }

  void start();
  void stop();  // finishes queued jobs, commits, joins the thread

  // `reads`: the key of what the job reads first (a call id), for BatchOwner::prefetch.
  void enqueue(Run run, Done done, std::string reads = {});

  // Started, and the store answered the last batch (a store outage makes the node not ready
  // until a probe, once a second, succeeds again).
  bool ready() const { return ready_.load() && store_ok_.load(); }

 private:
  struct Job {
    Run run;
    Done done;
    std::string reads;
    std::chrono::steady_clock::time_point enqueued;
  };

  // How a batch went when its statements were pipelined (Store::begin_pipelined).
  enum class Pipelined {
    unsupported,  // the store runs statements in-process: savepoints cost next to nothing
    committed,
    replay,  // something failed before the commit: rolled back, to be run with savepoints
    failed,  // the commit itself failed
  };

  void loop();
  void run_batch(std::vector<Job>& jobs);
  Pipelined run_pipelined(Tx& tx, std::vector<Job>& jobs);
  bool run_with_savepoints(Tx& tx, std::vector<Job>& jobs, std::vector<JobEnd>& ends);
  JobEnd run_job(Tx& tx, Job& job);

  Store& store_;
  Metrics& metrics_;
  BatchOwner* owner_ = nullptr;
  Publisher publisher_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  std::thread thread_;
  std::atomic<bool> ready_{false};
  std::atomic<bool> store_ok_{true};
  TimeMs last_batch_ = 0;  // store thread
};

}  // namespace dialtone
