// SPDX-License-Identifier: Apache-2.0
// What SDK tests share: a Listener that records everything it is told, with waits.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <dialtone/client.hpp>

namespace dialtone::test {

using namespace std::chrono_literals;

class Recorder : public Listener {
 public:
  void on_connection(ConnectionState s) override {
    add([&] { connection = s; });
  }
  void on_call(const CallSnapshot& c) override {
    add([&] {
      calls.push_back(c);
      log.push_back("call:" + std::string(state_name(c.state)));
    });
  }
  void on_media(const std::string& id, MediaEvent e) override {
    add([&] {
      media.push_back(e);
      log.push_back(e == MediaEvent::connected      ? "media:connected"
                    : e == MediaEvent::reconnecting ? "media:reconnecting"
                                                    : "media:reconnected");
    });
  }
  void on_quality(const std::string&, const QualityReport& r) override {
    add([&] { quality.push_back(r); });
  }
  void on_error(const std::string&, ErrorCode code, const std::string& m) override {
    add([&] { errors.emplace_back(code, m); });
  }
  void on_media_path(const std::string&, const MediaPath& p) override {
    add([&] { paths.push_back(p); });
  }

  // Waits until `pred` (called under the lock) holds; false on timeout.
  bool wait(const std::function<bool()>& pred, std::chrono::milliseconds t = 10s) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, t, pred);
  }
  bool wait_online(std::chrono::milliseconds t = 10s) {
    return wait([&] { return connection == ConnectionState::online; }, t);
  }
  // The latest snapshot of any call in `state`.
  std::optional<CallSnapshot> wait_state(CallState state, std::chrono::milliseconds t = 10s) {
    std::optional<CallSnapshot> found;
    wait(
        [&] {
          for (auto it = calls.rbegin(); it != calls.rend(); ++it)
            if (it->state == state) return found = *it, true;
          return false;
        },
        t);
    return found;
  }
  bool wait_media(MediaEvent e, std::chrono::milliseconds t = 10s) {
    return wait([&] { return std::find(media.begin(), media.end(), e) != media.end(); }, t);
  }
  template <class F>
  auto locked(F f) {
    std::lock_guard lock(mu);
    return f();
  }

  std::mutex mu;
  std::condition_variable cv;
  ConnectionState connection = ConnectionState::connecting;
  std::vector<CallSnapshot> calls;
  std::vector<MediaEvent> media;
  std::vector<QualityReport> quality;
  std::vector<std::pair<ErrorCode, std::string>> errors;
  std::vector<MediaPath> paths;  // every path reported, in order
  std::vector<std::string> log;  // calls and media events, in the order they were delivered
  // Position of the first `entry` in the log, or -1.
  int position(const std::string& entry) {
    std::lock_guard lock(mu);
    for (size_t i = 0; i < log.size(); ++i)
      if (log[i] == entry) return static_cast<int>(i);
    return -1;
  }

 private:
  template <class F>
  void add(F f) {
    {
      std::lock_guard lock(mu);
      f();
    }
    cv.notify_all();
  }
};

}  // namespace dialtone::test
