// SPDX-License-Identifier: Apache-2.0
#include "server/metrics.hpp"

#include <fmt/format.h>

#include <string_view>

namespace dialtone {

Histogram::Histogram(Bounds bounds) {
  for (double b : bounds)
    if (n_ < kMaxBounds) bounds_[n_++] = b;
}

void Histogram::observe_us(std::int64_t us) {
  double s = static_cast<double>(us) / 1e6;
  size_t i = 0;
  while (i < n_ && s > bounds_[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_us_.fetch_add(static_cast<std::uint64_t>(us < 0 ? 0 : us), std::memory_order_relaxed);
}

void Histogram::render(std::string& out, const std::string& name, const std::string& help) const {
  out += fmt::format("# HELP {} {}\n# TYPE {} histogram\n", name, help, name);
  render_samples(out, name, "");
}

void Histogram::render_samples(std::string& out, const std::string& name,
                               const std::string& labels) const {
  std::string sep = labels.empty() ? "" : ",";
  std::string own = labels.empty() ? "" : "{" + labels + "}";
  std::uint64_t cumulative = 0;
  for (size_t i = 0; i < n_; ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out +=
        fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, bounds_[i], cumulative);
  }
  cumulative += buckets_[n_].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cumulative);
  out += fmt::format("{}_sum{} {}\n", name, own,
                     static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
  out += fmt::format("{}_count{} {}\n", name, own, count_.load(std::memory_order_relaxed));
}

void Metrics::count_terminal(const std::string& state, const std::string& reason) {
  std::lock_guard lk(mu_);
  ++terminal_[{state, reason}];
}

void Metrics::count_path(const std::string& local, const std::string& protocol) {
  std::lock_guard lk(mu_);
  ++paths_[{local, protocol}];
}

void Metrics::count_recovery(const std::string& cause) {
  std::lock_guard lk(mu_);
  ++recoveries_[cause];
}

void Metrics::count_recovery_end(const std::string& outcome) {
  std::lock_guard lk(mu_);
  ++recoveryEnds_[outcome];
}

void Metrics::count_push(const std::string& provider, const std::string& outcome) {
  std::lock_guard lk(mu_);
  ++pushes_[{provider, outcome}];
}

void Metrics::count_limited(const char* limit) {
  std::lock_guard lk(mu_);
  ++limited_[limit];
}

namespace {
// Label values come from clients (reasons): escape as the text format requires.
std::string escape(const std::string& v) {
  std::string out;
  for (char ch : v) {
    if (ch == '\\' || ch == '"') out += '\\';
    if (ch == '\n') {
      out += "\\n";
      continue;
    }
    out += ch;
  }
  return out;
}
// "# HELP" and "# TYPE" of one metric.
void head(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// A counter without labels.
void counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t v) {
  head(out, name, "counter", help);
  out += fmt::format("{} {}\n", name, v);
}

}  // namespace

std::string Metrics::render() const {
  std::string out;
  out +=
      "# HELP dialtone_active_calls Calls in an active state.\n"
      "# TYPE dialtone_active_calls gauge\n";
  out += fmt::format("dialtone_active_calls {}\n", active_calls.load());
  out +=
      "# HELP dialtone_websocket_sessions Live WebSocket sessions.\n"
      "# TYPE dialtone_websocket_sessions gauge\n";
  out += fmt::format("dialtone_websocket_sessions {}\n", ws_sessions.load());
  out +=
      "# HELP dialtone_calls_terminal_total Calls that reached a terminal state.\n"
      "# TYPE dialtone_calls_terminal_total counter\n";
  {
    std::lock_guard lk(mu_);
    for (const auto& [k, n] : terminal_)
      out += fmt::format("dialtone_calls_terminal_total{{state=\"{}\",reason=\"{}\"}} {}\n",
                         escape(k.first), escape(k.second), n);
  }
  out +=
      "# HELP dialtone_store_batches_total Group commits.\n"
      "# TYPE dialtone_store_batches_total counter\n";
  out += fmt::format("dialtone_store_batches_total {}\n", store_batches.load());
  out +=
      "# HELP dialtone_store_failures_total Failed group commits.\n"
      "# TYPE dialtone_store_failures_total counter\n";
  out += fmt::format("dialtone_store_failures_total {}\n", store_failures.load());
  out +=
      "# HELP dialtone_store_replays_total Pipelined batches run again with savepoints after a "
      "failure before their commit.\n"
      "# TYPE dialtone_store_replays_total counter\n";
  out += fmt::format("dialtone_store_replays_total {}\n", store_replays.load());
  out +=
      "# HELP dialtone_engine_busy_seconds_total Time the store thread (the committer) spent on "
      "batches (its saturation: rate close to 1 means it is the bottleneck).\n"
      "# TYPE dialtone_engine_busy_seconds_total counter\n";
  out += fmt::format("dialtone_engine_busy_seconds_total {}\n",
                     static_cast<double>(engine_busy_us.load()) / 1e6);
  transition_latency.render(out, "dialtone_transition_latency_seconds",
                            "From an op's arrival to its committed, published transition.");
  store_commit.render(out, "dialtone_store_commit_seconds", "Duration of one group commit.");
  out +=
      "# HELP dialtone_push_total Push requests by provider and outcome (delivered, retried, "
      "dead_token, failed, expired, cancelled, dropped).\n"
      "# TYPE dialtone_push_total counter\n";
  {
    std::lock_guard lk(mu_);
    for (const auto& [k, n] : pushes_)
      out += fmt::format("dialtone_push_total{{provider=\"{}\",outcome=\"{}\"}} {}\n", k.first,
                         k.second, n);
  }
  out +=
      "# HELP dialtone_rate_limited_total Requests, messages and connections refused by an abuse "
      "limit.\n"
      "# TYPE dialtone_rate_limited_total counter\n";
  {
    std::lock_guard lk(mu_);
    for (const auto& [k, n] : limited_)
      out += fmt::format("dialtone_rate_limited_total{{limit=\"{}\"}} {}\n", k, n);
  }
  out +=
      "# HELP dialtone_connections TCP connections open.\n"
      "# TYPE dialtone_connections gauge\n";
  out += fmt::format("dialtone_connections {}\n", connections.load());
  out +=
      "# HELP dialtone_tls_handshake_failures_total TLS handshakes that failed or timed out.\n"
      "# TYPE dialtone_tls_handshake_failures_total counter\n";
  out += fmt::format("dialtone_tls_handshake_failures_total {}\n", tls_handshake_failures.load());
  out +=
      "# HELP dialtone_history_pruned_total Calls removed with their timelines by "
      "history_retention_days.\n"
      "# TYPE dialtone_history_pruned_total counter\n";
  out += fmt::format("dialtone_history_pruned_total {}\n", history_pruned.load());
  out +=
      "# HELP dialtone_jwks_fetches_total Fetches of jwks_url, by outcome (a failed one keeps the "
      "last good keys).\n"
      "# TYPE dialtone_jwks_fetches_total counter\n";
  out += fmt::format("dialtone_jwks_fetches_total{{outcome=\"ok\"}} {}\n", jwks_fetches_ok.load());
  out += fmt::format("dialtone_jwks_fetches_total{{outcome=\"failed\"}} {}\n",
                     jwks_fetches_failed.load());
  if (store_memory)
    if (std::int64_t bytes = store_memory(); bytes >= 0) {
      out +=
          "# HELP dialtone_store_memory_bytes What the store holds in this process (SQLite: its "
          "page cache, bounded at 16 MiB, schema and statements).\n"
          "# TYPE dialtone_store_memory_bytes gauge\n";
      out += fmt::format("dialtone_store_memory_bytes {}\n", bytes);
    }
  out +=
      "# HELP dialtone_push_pending Pushes queued, waiting to retry or in flight.\n"
      "# TYPE dialtone_push_pending gauge\n";
  out += fmt::format("dialtone_push_pending {}\n", push_pending.load());
  out +=
      "# HELP dialtone_push_taken_over_total Pushes of the outbox taken over from a node that "
      "stopped renewing its lease (died), or from this node's previous run.\n"
      "# TYPE dialtone_push_taken_over_total counter\n";
  out += fmt::format("dialtone_push_taken_over_total {}\n", push_taken_over.load());
  out +=
      "# HELP dialtone_push_send_seconds One push request, from sending to the provider's "
      "answer.\n"
      "# TYPE dialtone_push_send_seconds histogram\n";
  static const char* providers[] = {"fcm", "apns", "webpush"};
  for (size_t i = 0; i < push_send.size(); ++i)
    push_send[i].render_samples(out, "dialtone_push_send_seconds",
                                fmt::format("provider=\"{}\"", providers[i]));
  head(out, "dialtone_push_delivery_seconds", "histogram",
       "An incoming-call push, from queued to its final outcome (retries included).");
  for (size_t i = 0; i < push_delivery.size(); ++i)
    push_delivery[i].render_samples(out, "dialtone_push_delivery_seconds",
                                    fmt::format("provider=\"{}\"", providers[i]));

  counter(out, "dialtone_calls_created_total", "Calls created (placed and not refused as busy).",
          calls_created.load());
  counter(out, "dialtone_calls_connected_total", "Calls that reached connected.",
          calls_connected.load());
  call_setup.render(out, "dialtone_call_setup_seconds", "From a call's creation to connected.");
  call_ring.render(out, "dialtone_call_ring_seconds", "From a call's creation to accepted.");
  call_duration.render(out, "dialtone_call_duration_seconds",
                       "How long calls that connected lasted.");
  first_audio.render(out, "dialtone_first_audio_seconds",
                     "From accept to a side's first audio received (reported by the clients).");
  std::lock_guard lk(mu_);
  head(out, "dialtone_media_paths_total", "counter",
       "Media paths as they connected, by the side's local candidate type (host, srflx, prflx, "
       "relay) and protocol (udp, tcp, tls).");
  for (const auto& [k, n] : paths_)
    out += fmt::format("dialtone_media_paths_total{{local=\"{}\",protocol=\"{}\"}} {}\n", k.first,
                       k.second, n);
  head(out, "dialtone_media_recoveries_total", "counter",
       "Media recoveries the clients started, by cause.");
  for (const auto& [k, n] : recoveries_)
    out += fmt::format("dialtone_media_recoveries_total{{cause=\"{}\"}} {}\n", k, n);
  head(out, "dialtone_media_recovery_outcomes_total", "counter",
       "How media recoveries ended (recovered, gave_up).");
  for (const auto& [k, n] : recoveryEnds_)
    out += fmt::format("dialtone_media_recovery_outcomes_total{{outcome=\"{}\"}} {}\n", k, n);
  return out;
}

}  // namespace dialtone
