// Prometheus text-format metrics. Counters are atomics; labelled counters take a small lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>

namespace dialtone {

class Histogram {
 public:
  static constexpr std::array<double, 14> kBounds = {
      0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5};
  void observe_us(std::int64_t us);
  void render(std::string& out, const std::string& name, const std::string& help) const;
  // Only the samples, with `labels` (e.g. provider="fcm") on each.
  void render_samples(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
};

class Metrics {
 public:
  std::atomic<std::int64_t> active_calls{0};
  std::atomic<std::int64_t> ws_sessions{0};
  std::atomic<std::uint64_t> store_batches{0};
  std::atomic<std::uint64_t> store_failures{0};
  std::atomic<std::uint64_t> engine_busy_us{0};  // the store thread's time spent on batches
  Histogram transition_latency;                  // op received → committed and published
  Histogram store_commit;                        // one group commit
  std::array<Histogram, 3> push_send;            // one push request, by Platform
  std::atomic<std::int64_t> push_pending{0};     // pushes queued, waiting to retry or in flight
  std::atomic<std::int64_t> connections{0};      // TCP connections open
  std::atomic<std::uint64_t> tls_handshake_failures{0};

  void count_terminal(const std::string& state, const std::string& reason);
  // outcome: delivered, retried, dead_token, failed, expired, cancelled, dropped.
  void count_push(const std::string& provider, const std::string& outcome);
  // limit: calls, requests, messages, sessions, connections.
  void count_limited(const char* limit);
  std::string render() const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> terminal_;
  std::map<std::pair<std::string, std::string>, std::uint64_t> pushes_;
  std::map<std::string, std::uint64_t> limited_;
};

}  // namespace dialtone
