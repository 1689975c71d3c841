// SPDX-License-Identifier: Apache-2.0
#include "media/reaper.hpp"

#include <algorithm>
#include <condition_variable>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

namespace dialtone::media {

namespace {

struct Worker {
  std::thread thread;
  bool done = false;  // its work is over; the thread is exiting (thread-local destructors)
};

// Never destroyed: a worker that outlived wait_retired's limit may still reach it at exit.
struct State {
  std::mutex mu;
  std::condition_variable cv;
  std::list<Worker> workers;  // stable addresses: each thread marks its own entry
};
State& state() {
  static State* s = new State;
  return *s;
}

// Joins the workers whose work is over. A worker's thread goes on after its work: its
// thread-local destructors (GLib's, OpenSSL's) run as it exits, and must not meet a process
// that is already tearing those libraries down — so "done" is not enough, the thread is joined.
void join_done(std::unique_lock<std::mutex>& lock) {
  State& s = state();
  std::vector<std::thread> ended;
  for (auto it = s.workers.begin(); it != s.workers.end();) {
    if (!it->done) {
      ++it;
      continue;
    }
    ended.push_back(std::move(it->thread));
    it = s.workers.erase(it);
  }
  lock.unlock();
  for (auto& t : ended) t.join();
  lock.lock();
}

}  // namespace

void retire(std::function<void()> work) {
  State& s = state();
  std::unique_lock lock(s.mu);
  join_done(lock);  // the ones finished since the last time
  Worker& w = s.workers.emplace_back();
  // The thread marks `w` under the lock, which is held until `w.thread` is set.
  w.thread = std::thread([&s, &w, work = std::move(work)]() mutable {
    work();
    work = nullptr;  // whatever it captured goes now, not after the mark
    std::lock_guard lock(s.mu);
    w.done = true;
    s.cv.notify_all();
  });
}

bool wait_retired(std::chrono::milliseconds limit) {
  State& s = state();
  std::unique_lock lock(s.mu);
  bool all = s.cv.wait_for(lock, limit, [&] {
    return std::all_of(s.workers.begin(), s.workers.end(), [](const Worker& w) { return w.done; });
  });
  join_done(lock);
  return all;
}

}  // namespace dialtone::media
