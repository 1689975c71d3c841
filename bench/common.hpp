// What the two flows of the benchmark (dialtoned's and the Janus anchor's) share.
#pragma once

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct Options {
  std::string dialtoned = DIALTONED_PATH;
  std::string connect;  // HOST:PORT of a running server (then --pid for its CPU and memory)
  int pid = 0;
  int pairs = 10;
  long flows = 10000;
  double duration = 20;
  int idle_sessions = 0;
  int active_calls = 0;
  std::vector<std::string> server_args;
  std::string prefix = "bench";
  int think_ms = 0;   // pause between one pair's flows (models calls spread over time)
  std::string janus;  // HOST:PORT of a Janus WebSocket transport: measure the anchor instead
};

struct Stats {
  std::vector<double> latency_us;  // op sent → the other side's event received
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

}  // namespace bench
