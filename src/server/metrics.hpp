// SPDX-License-Identifier: Apache-2.0
// Prometheus text-format metrics. Counters are atomics; labelled counters take a small lock.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <initializer_list>
#include <map>
#include <mutex>
#include <string>

namespace dialtone {

// Bucket bounds in seconds, ascending, at most Histogram::kMaxBounds.
using Bounds = std::initializer_list<double>;
// Server work: 100 µs to 2.5 s.
inline constexpr Bounds kLatencyBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                          0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   2.5};
// What people wait for (setup, first audio, ringing, a push): 50 ms to 60 s.
inline constexpr Bounds kWaitBounds = {0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20, 30, 45, 60};
// How long calls last: 5 s to 2 h.
inline constexpr Bounds kDurationBounds = {5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200};

class Histogram {
 public:
  static constexpr std::size_t kMaxBounds = 16;
  explicit Histogram(Bounds bounds = kLatencyBounds);
  void observe_us(std::int64_t us);
  void observe_ms(std::int64_t ms) { observe_us(ms * 1000); }
  void render(std::string& out, const std::string& name, const std::string& help) const;
  // Only the samples, with `labels` (e.g. provider="fcm") on each.
  void render_samples(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<double, kMaxBounds> bounds_{};
  std::size_t n_ = 0;
  std::array<std::atomic<std::uint64_t>, kMaxBounds + 1> buckets_{};
  std::atomic<std::uint64_t> count_{0};
  std::atomic<std::uint64_t> sum_us_{0};
};

class Metrics {
 public:
  std::atomic<std::int64_t> active_calls{0};
  std::atomic<std::int64_t> ws_sessions{0};
  std::atomic<std::uint64_t> store_batches{0};
  std::atomic<std::uint64_t> store_failures{0};
  std::atomic<std::uint64_t> store_replays{0};
  std::atomic<std::uint64_t> engine_busy_us{0};  // the store thread's time spent on batches
  Histogram transition_latency;                  // op received → committed and published
  Histogram store_commit;                        // one group commit
  std::array<Histogram, 3> push_send;            // one push request, by Platform
  // The store's memory in this process (SQLite's page cache and the rest), when it is known.
  std::int64_t (*store_memory)() = nullptr;
  std::atomic<std::int64_t> push_pending{0};  // pushes queued, waiting to retry or in flight
  std::atomic<std::int64_t> connections{0};   // TCP connections open
  std::atomic<std::uint64_t> tls_handshake_failures{0};
  std::atomic<std::uint64_t> history_pruned{0};   // calls removed by history_retention_days
  std::atomic<std::uint64_t> push_taken_over{0};  // outbox pushes taken over from a dead node
  std::atomic<std::uint64_t> jwks_fetches_ok{0};  // jwks_url fetched and used
  std::atomic<std::uint64_t> jwks_fetches_failed{0};

  // Calls as people live them (from the transitions, and from the clients' reports).
  std::atomic<std::uint64_t> calls_created{0};
  std::atomic<std::uint64_t> calls_connected{0};
  Histogram call_setup{kWaitBounds};         // created → connected
  Histogram call_ring{kWaitBounds};          // created → accepted
  Histogram call_duration{kDurationBounds};  // connected → ended (calls that connected)
  Histogram first_audio{kWaitBounds};        // accepted → a side's first audio received
  std::array<Histogram, 3> push_delivery{Histogram{kWaitBounds}, Histogram{kWaitBounds},
                                         Histogram{kWaitBounds}};  // queued → final, by Platform
  // A side's media path as it connected: local candidate type and protocol.
  void count_path(const std::string& local, const std::string& protocol);
  // A recovery a client started (cause), and how recoveries ended (outcome).
  void count_recovery(const std::string& cause);
  void count_recovery_end(const std::string& outcome);

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
  std::map<std::pair<std::string, std::string>, std::uint64_t> paths_;
  std::map<std::string, std::uint64_t> recoveries_, recoveryEnds_;
};

}  // namespace dialtone
