// SPDX-License-Identifier: Apache-2.0
// What the two flows of the benchmark (dialtoned's and the Janus anchor's) share.
#pragma once

#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <stdexcept>
#include <string>
#include <vector>

#include "proc_stats.hpp"
#include "support/build_paths.hpp"

namespace bench {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Options {
  int push_devices = 0;
  std::string dialtoned = dialtone::build_paths::dialtoned;
  std::string connect;  // HOST:PORT of a running server (then --pid for its CPU and memory)
  int pid = 0;
  std::vector<int> pids;  // every server process (a cluster's nodes): CPU is their sum
  int pairs = 10;
  long flows = 10000;
  double duration = 20;
  int idle_sessions = 0;
  int active_calls = 0;
  std::vector<std::string> server_args;
  std::string prefix = "bench";
  int think_ms = 0;      // pause between one pair's flows (models calls spread over time)
  int burst_rounds = 0;  // instead of flows: rounds of every caller calling at the same moment
  bool fresh_session = false;  // each flow on new sessions (connect, authenticate, hello; close)
  std::string janus;  // HOST:PORT of a Janus WebSocket transport: measure the anchor instead
};

struct Stats {
  std::vector<double> latency_us;    // op sent → the other side's event received
  std::vector<double> lifecycle_us;  // a whole flow (with its sessions' set-up when fresh)
  long flows = 0;
  long errors = 0;
};

inline double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  size_t i = std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<long>(i), v.end());
  return v[i];
}

// Runs the loop until `done()` holds (the readers keep it busy forever otherwise).
template <class Pred>
void run_until(asio::io_context& ioc, Pred done, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  ioc.restart();
  while (!done() && Clock::now() < deadline) ioc.run_one_for(std::chrono::milliseconds(100));
  if (!done()) throw std::runtime_error("benchmark step did not finish in time");
}

// The measured phase shared by both flows: starts one loop per pair with
// spawn(pair, stats, budget, until, on_done), waits for all of them, and prints the figures
// (`unit` is "flow" for dialtoned, "call" for Janus) with the server's and the generator's CPU.
template <class Spawn>
Stats measure(asio::io_context& ioc, const Options& o, const std::string& title,
              const std::string& unit, Spawn spawn) {
  ProcSample before = sample(o.pids), gen_before = sample(getpid());
  Stats st;
  std::atomic<long> budget{o.flows};
  auto start = Clock::now();
  auto until = start + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(o.duration));
  int running = o.pairs;
  for (int i = 0; i < o.pairs; ++i) spawn(i, st, budget, until, [&running] { --running; });
  run_until(
      ioc, [&] { return running == 0; }, std::chrono::seconds(static_cast<long>(o.duration) + 60));
  double secs = std::chrono::duration<double>(Clock::now() - start).count();
  ProcSample after = sample(o.pids), gen_after = sample(getpid());

  double n = static_cast<double>(st.flows);
  double cpu_ms = (after.cpu_seconds - before.cpu_seconds) * 1000.0;
  double gen_ms = (gen_after.cpu_seconds - gen_before.cpu_seconds) * 1000.0;
  const char* u = unit.c_str();
  std::printf("%spairs=%d %ss=%ld errors=%ld seconds=%.2f\n", title.c_str(), o.pairs, u, st.flows,
              st.errors, secs);
  std::printf("%ss_per_s=%.0f\n", u, n / secs);
  std::printf("op_to_event_us p50=%.0f p99=%.0f p99.9=%.0f (samples=%zu)\n",
              percentile(st.latency_us, 50), percentile(st.latency_us, 99),
              percentile(st.latency_us, 99.9), st.latency_us.size());
  std::printf("lifecycle_us p50=%.0f p99=%.0f p99.9=%.0f\n", percentile(st.lifecycle_us, 50),
              percentile(st.lifecycle_us, 99), percentile(st.lifecycle_us, 99.9));
  std::printf("server_cpu_ms_per_%s=%.3f server_cpu_util=%.2f cores\n", u, n ? cpu_ms / n : 0.0,
              cpu_ms / 1000.0 / secs);
  std::printf("generator_cpu_ms_per_%s=%.3f\n", u, n ? gen_ms / n : 0.0);
  std::printf("server_rss_kib=%ld\n", after.rss_kib);
  return st;
}

}  // namespace bench
