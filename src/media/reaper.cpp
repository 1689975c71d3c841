#include "media/reaper.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace dialtone::media {

namespace {
std::mutex mu;
std::condition_variable cv;
int running = 0;
}  // namespace

void retire(std::function<void()> work) {
  {
    std::lock_guard lock(mu);
    ++running;
  }
  std::thread([work = std::move(work)] {
    work();
    std::lock_guard lock(mu);
    --running;
    cv.notify_all();
  }).detach();
}

bool wait_retired(std::chrono::milliseconds limit) {
  std::unique_lock lock(mu);
  return cv.wait_for(lock, limit, [] { return running == 0; });
}

}  // namespace dialtone::media
