// SPDX-License-Identifier: Apache-2.0
// /metrics of a real dialtoned after real calls: the call metrics count what happened (created,
// connected, ended; setup, ring, first audio and duration; media paths and recoveries from the
// clients' reports), the exposition passes `promtool check metrics`, and the Prometheus rules in
// deploy/prometheus pass `promtool check rules` and their own unit tests and name only metrics
// this server exports.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <regex>
#include <set>

#include "support/build_paths.hpp"
#include "support/harness.hpp"
#include "support/temp_dir.hpp"

namespace dialtone::test {
namespace {

const std::string kRules = std::string(dialtone::build_paths::source_dir) + "/deploy/prometheus/";

// Runs `cmd` (stderr joined), returns its exit status and output.
std::pair<int, std::string> run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) return {-1, "popen failed"};
  char buf[4096];
  while (std::size_t n = fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

// The value of the sample `name{labels}` (exactly as rendered), or -1 when it is not there.
double sample(const std::string& metrics, const std::string& series) {
  auto at = metrics.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(metrics.substr(at + series.size() + 2));
}

std::string connect(WsClient& a, WsClient& b) {
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b.wait_call(id, "calling");
  b.request(op("ringing", id));
  b.request(op("accept", id));
  a.wait_call(id, "accepted");
  a.request(op("ready", id));
  b.request(op("ready", id));
  a.wait_call(id, "connected");
  return id;
}

using Metrics = TempDirTest;

TEST_F(Metrics, CallsPathsAndRecoveriesAreCountedAndTheRulesMatchTheLiveMetrics) {
  ServerProcess server;
  int port = server.port();
  std::string alice = dev_token(port, "alice"), bob = dev_token(port, "bob");
  WsClient a(port, alice), b(port, bob);
  std::string id = connect(a, b);
  auto r = a.request(
      op("report", id,
         {{"events", json::array{json::object{{"type", "media_connected"},
                                              {"local", "relay"},
                                              {"remote", "srflx"},
                                              {"protocol", "udp"}},
                                 json::object{{"type", "first_audio_received"}},
                                 json::object{{"type", "recovery_started"}, {"cause", "loss"}},
                                 json::object{{"type", "recovery_ended"},
                                              {"outcome", "recovered"},
                                              {"durationMs", 900}}}}}));
  ASSERT_EQ(r.at("ok"), true) << json::serialize(r);
  a.request(op("end", id));
  b.wait_call(id, "ended");
  std::string second = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b.wait_call(second, "calling");
  b.request(op("reject", second));
  a.wait_call(second, "rejected");

  std::string m = "\n" + server.metrics();
  EXPECT_EQ(sample(m, "dialtone_calls_created_total"), 2) << m;
  EXPECT_EQ(sample(m, "dialtone_calls_connected_total"), 1);
  EXPECT_EQ(sample(m, "dialtone_call_setup_seconds_count"), 1);
  EXPECT_EQ(sample(m, "dialtone_call_ring_seconds_count"), 1);
  EXPECT_EQ(sample(m, "dialtone_call_duration_seconds_count"), 1);
  EXPECT_EQ(sample(m, "dialtone_first_audio_seconds_count"), 1);
  EXPECT_EQ(sample(m, "dialtone_media_paths_total{local=\"relay\",protocol=\"udp\"}"), 1);
  EXPECT_EQ(sample(m, "dialtone_media_recoveries_total{cause=\"loss\"}"), 1);
  EXPECT_EQ(sample(m, "dialtone_media_recovery_outcomes_total{outcome=\"recovered\"}"), 1);
  EXPECT_EQ(
      sample(m,
             "dialtone_calls_terminal_total{state=\"rejected\",reason=\"rejected_by_receiver\"}"),
      1)
      << m;
  // Setup took well under the first bucket's 50 ms here, and at most a few seconds anyway.
  EXPECT_EQ(sample(m, "dialtone_call_setup_seconds_bucket{le=\"5\"}"), 1);
  // SQLite's memory in the process: its page cache at least (bounded at 16 MiB).
  EXPECT_GT(sample(m, "dialtone_store_memory_bytes"), 16 * 1024) << m;
  EXPECT_LE(sample(m, "dialtone_store_memory_bytes"), 64 * 1024 * 1024);

  std::string file = dir + "/metrics.txt";
  std::ofstream(file) << m.substr(1);
  auto [lint, lintOut] = run("promtool check metrics < " + file);
  EXPECT_EQ(lint, 0) << lintOut;

  auto [check, checkOut] = run("promtool check rules " + kRules + "dialtone.rules.yml");
  EXPECT_EQ(check, 0) << checkOut;
  auto [unit, unitOut] = run("cd " + kRules + " && promtool test rules dialtone.rules.test.yml");
  EXPECT_EQ(unit, 0) << unitOut;

  // Every dialtone_ series the rules read is one this server exports.
  std::ifstream rules(kRules + "dialtone.rules.yml");
  std::string text((std::istreambuf_iterator<char>(rules)), {});
  std::regex name(R"(\bdialtone_[a-z_]+)");
  std::set<std::string> used;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), name); it != std::sregex_iterator();
       ++it)
    used.insert(it->str());
  ASSERT_GE(used.size(), 8u);
  for (const auto& n : used)
    EXPECT_NE(m.find("\n# TYPE " + std::regex_replace(n, std::regex("_bucket$"), "") + " "),
              std::string::npos)
        << n << " is in the rules but not in /metrics";
}

}  // namespace
}  // namespace dialtone::test

namespace dialtone::test {
namespace {

// metrics_listen: /metrics on its own address (a private one, for the scraper) and no longer on
// the public listener; nothing else is served there.
TEST(MetricsListen, MetricsOnTheirOwnAddressOnly) {
  ServerProcess server({"--metrics-listen", "127.0.0.1:0"});
  std::smatch m;
  std::string log = server.log();
  ASSERT_TRUE(
      std::regex_search(log, m, std::regex("METRICS_LISTENING address=127\\.0\\.0\\.1:(\\d+)")))
      << log;
  int port = std::stoi(m[1]);
  auto there = http(port, "GET", "/metrics");
  EXPECT_EQ(there.status, 200);
  EXPECT_NE(there.raw.find("dialtone_"), std::string::npos);
  EXPECT_EQ(http(port, "GET", "/metrics?x=1").status, 200);
  EXPECT_EQ(http(port, "GET", "/v1/info").status, 404);
  EXPECT_EQ(http(port, "POST", "/metrics", "{}").status, 404);
  EXPECT_EQ(http(server.port(), "GET", "/metrics").status, 404) << "not on the public listener";
  EXPECT_EQ(http(server.port(), "GET", "/v1/info").status, 200);
}

}  // namespace
}  // namespace dialtone::test
