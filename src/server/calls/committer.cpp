// SPDX-License-Identifier: Apache-2.0
#include "server/calls/committer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <iterator>

namespace dialtone {

namespace {

constexpr TimeMs kProbeMs = 1000;
// Jobs per batch at most: a burst (500 calls created at once) commits and publishes in steps,
// so its first calls ring — and their pushes leave — while the rest are still being written.
constexpr std::size_t kMaxBatch = 64;
constexpr int kConflictRetries = 3;

std::int64_t micros_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

}  // namespace

Committer::Committer(Store& store, Metrics& metrics) : store_(store), metrics_(metrics) {}

Committer::~Committer() {
  stop();
}

void Committer::start() {
  ready_ = true;
  thread_ = std::thread([this] { loop(); });
}

void Committer::stop() {
  {
    std::lock_guard lk(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  ready_ = false;
}

void Committer::enqueue(Run run, Done done, std::string reads) {
  {
    std::lock_guard lk(mu_);
    if (!stopping_) {
      queue_.push_back(
          Job{std::move(run), std::move(done), std::move(reads), std::chrono::steady_clock::now()});
      cv_.notify_one();
      return;
    }
  }
  if (done) done(JobEnd::stopped);
}

void Committer::loop() {
  std::vector<Job> jobs;
  for (;;) {
    {
      std::unique_lock lk(mu_);
      for (;;) {
        if (!queue_.empty() || stopping_) break;
        // The owner's state belongs to this thread, which is the only one that reads it.
        std::optional<TimeMs> wake = owner_ ? owner_->next_wake() : std::nullopt;
        TimeMs now = now_ms();
        // An idle committer still runs an empty batch every second: that is how an outage of
        // the store (a restarted PostgreSQL) makes the node not ready without any traffic, and
        // how it becomes ready again.
        TimeMs probe = last_batch_ + kProbeMs;
        wake = std::min(wake.value_or(probe), probe);
        if (*wake <= now) break;
        cv_.wait_for(lk, std::chrono::milliseconds(*wake - now));
      }
      if (stopping_ && queue_.empty()) return;
      std::size_t n = std::min(queue_.size(), kMaxBatch);
      std::move(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n),
                std::back_inserter(jobs));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
    }
    run_batch(jobs);
    jobs.clear();
  }
}

JobEnd Committer::run_job(Tx& tx, Job& job) {
  for (int attempt = 0;; ++attempt) {
    std::size_t mark = owner_ ? owner_->mark() : 0;
    store_.savepoint();
    bool keep = false;
    bool retry = false;
    JobEnd end = JobEnd::committed;
    try {
      keep = job.run(tx);
    } catch (const StoreError& e) {
      // A conflict means someone else wrote first (another node, on a shared store): run the
      // job again on what is committed now. A deadlock victim can fail again while the winner
      // has not committed yet; the next attempt then waits for its locks.
      retry = e.kind() == StoreError::Kind::conflict && attempt < kConflictRetries;
      if (!retry) spdlog::error("JOB_FAILED error=\"{}\"", e.what());
      end = JobEnd::failed;
    } catch (const std::exception& e) {
      spdlog::error("JOB_FAILED error=\"{}\"", e.what());
      end = JobEnd::failed;
    }
    if (keep && end == JobEnd::committed) {
      store_.release_savepoint();
      return end;
    }
    store_.rollback_to_savepoint();
    if (owner_) owner_->undo(mark);
    if (!retry) return end;
  }
}

Committer::Pipelined Committer::run_pipelined(Tx& tx, std::vector<Job>& jobs) {
  std::size_t start = owner_ ? owner_->mark() : 0;
  auto replay = [&](const char* why) {
    // Nothing of it is committed: roll it back and run the batch again the careful way, where
    // each job has its own savepoint, so that only the job that failed fails.
    spdlog::debug("BATCH_REPLAYED reason=\"{}\"", why);
    metrics_.store_replays++;
    try {
      store_.rollback();
    } catch (const std::exception&) {
      // the careful run's BEGIN tells whether the store is there
    }
    if (owner_) owner_->undo(start);
    return Pipelined::replay;
  };
  try {
    if (!store_.begin_pipelined()) return Pipelined::unsupported;
    if (owner_) {
      owner_->begin(tx);
      std::vector<std::string> keys;
      for (const auto& j : jobs)
        if (!j.reads.empty()) keys.push_back(j.reads);
      if (!keys.empty()) owner_->prefetch(tx, keys);
    }
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      std::size_t mark = owner_ ? owner_->mark() : 0;
      std::uint64_t writes = store_.writes();
      if (jobs[i].run(tx)) continue;
      // It gave up: undone if it wrote nothing; without a savepoint, its writes cannot be.
      if (store_.writes() != writes) return replay("a job gave up after writing");
      if (owner_) owner_->undo(mark);
    }
    if (owner_) owner_->before_commit(tx);
  } catch (const std::exception& e) {
    return replay(e.what());
  }
  // An error thrown from here may come after the commit took effect (the connection broke
  // before its answer): the batch is not run again, it is unavailable, as in the careful way.
  try {
    auto t0 = std::chrono::steady_clock::now();
    if (!store_.commit_pipelined()) return replay("a statement failed");
    metrics_.store_commit.observe_us(micros_since(t0));
    metrics_.store_batches++;
  } catch (const std::exception& e) {
    spdlog::error("STORE_COMMIT_FAILED error=\"{}\"", e.what());
    return Pipelined::failed;
  }
  return Pipelined::committed;  // every job's end is `committed` (a refused one rolled back alone)
}

bool Committer::run_with_savepoints(Tx& tx, std::vector<Job>& jobs, std::vector<JobEnd>& ends) {
  bool ok = true;
  try {
    store_.begin();
    if (owner_) owner_->begin(tx);
  } catch (const std::exception& e) {
    spdlog::error("STORE_BEGIN_FAILED error=\"{}\"", e.what());
    ok = false;
  }
  for (std::size_t i = 0; ok && i < jobs.size(); ++i) {
    try {
      ends[i] = run_job(tx, jobs[i]);
    } catch (const std::exception& e) {  // the savepoint machinery itself failed
      spdlog::error("STORE_SAVEPOINT_FAILED error=\"{}\"", e.what());
      ok = false;
    }
  }
  if (ok) {
    try {
      if (owner_) owner_->before_commit(tx);
      auto t0 = std::chrono::steady_clock::now();
      store_.commit();
      metrics_.store_commit.observe_us(micros_since(t0));
      metrics_.store_batches++;
    } catch (const std::exception& e) {
      spdlog::error("STORE_COMMIT_FAILED error=\"{}\"", e.what());
      ok = false;
    }
  }
  return ok;
}

void Committer::run_batch(std::vector<Job>& jobs) {
  auto started = std::chrono::steady_clock::now();
  Tx tx{store_, now_ms()};
  last_batch_ = tx.now;
  std::vector<JobEnd> ends(jobs.size(), JobEnd::committed);
  bool ok = false;
  switch (run_pipelined(tx, jobs)) {
    case Pipelined::committed:
      ok = true;
      break;
    case Pipelined::failed:
      break;
    case Pipelined::unsupported:
    case Pipelined::replay:
      ok = run_with_savepoints(tx, jobs, ends);
      break;
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
    std::fill(ends.begin(), ends.end(), JobEnd::unavailable);
  }
  std::function<void()> published = owner_ ? owner_->finish(tx, ok) : nullptr;
  auto answer = [this, published = std::move(published), jobs = std::move(jobs),
                 ends = std::move(ends)]() mutable {
    if (published) published();
    auto end = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      metrics_.transition_latency.observe_us(
          std::chrono::duration_cast<std::chrono::microseconds>(end - jobs[i].enqueued).count());
      if (jobs[i].done) jobs[i].done(ends[i]);
    }
  };
  if (publisher_)
    publisher_(std::move(answer));
  else
    answer();
  metrics_.engine_busy_us += static_cast<std::uint64_t>(micros_since(started));
}

}  // namespace dialtone
