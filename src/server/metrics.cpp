#include "server/metrics.hpp"

#include <fmt/format.h>

namespace dialtone {

void Histogram::observe_us(std::int64_t us) {
  double s = static_cast<double>(us) / 1e6;
  size_t i = 0;
  while (i < kBounds.size() && s > kBounds[i]) ++i;
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
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i].load(std::memory_order_relaxed);
    out +=
        fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep, kBounds[i], cumulative);
  }
  cumulative += buckets_[kBounds.size()].load(std::memory_order_relaxed);
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, cumulative);
  out += fmt::format("{}_sum{} {}\n", name, own,
                     static_cast<double>(sum_us_.load(std::memory_order_relaxed)) / 1e6);
  out += fmt::format("{}_count{} {}\n", name, own, count_.load(std::memory_order_relaxed));
}

void Metrics::count_terminal(const std::string& state, const std::string& reason) {
  std::lock_guard lk(mu_);
  ++terminal_[{state, reason}];
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
      "# HELP dialtone_push_pending Pushes queued, waiting to retry or in flight.\n"
      "# TYPE dialtone_push_pending gauge\n";
  out += fmt::format("dialtone_push_pending {}\n", push_pending.load());
  out +=
      "# HELP dialtone_push_send_seconds One push request, from sending to the provider's "
      "answer.\n"
      "# TYPE dialtone_push_send_seconds histogram\n";
  static const char* providers[] = {"fcm", "apns", "webpush"};
  for (size_t i = 0; i < push_send.size(); ++i)
    push_send[i].render_samples(out, "dialtone_push_send_seconds",
                                fmt::format("provider=\"{}\"", providers[i]));
  return out;
}

}  // namespace dialtone
