// SPDX-License-Identifier: Apache-2.0
// dialtone-bench: drives complete call flows (create, ringing, accept, ready ×2, end) over
// WebSocket against a real dialtoned with N concurrent caller/receiver pairs, bounded in flows
// and time, and reports flows/s, op→event latency, server CPU per flow and server memory.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <boost/asio.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "common.hpp"
#include "proc_stats.hpp"
#include "ws_client.hpp"

// The aliases of ws_client.hpp and common.hpp.
namespace asio = bench::asio;
namespace beast = bench::beast;
namespace http = bench::http;
using bench::awaitable;
using bench::Clock;
using bench::tcp;
using bench::use_awaitable;

namespace bench {
int run_janus(const Options& o);
}

using bench::Client;
using bench::Options;
using bench::percentile;
using bench::run_until;
using bench::Stats;

namespace {

std::string http_call(http::verb verb, const std::string& host, int port, const std::string& target,
                      const std::string& body, const std::string& token = "") {
  asio::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port)));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, host);
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  req.body() = body;
  req.prepare_payload();
  http::write(s, req);
  beast::flat_buffer b;
  http::response<http::string_body> res;
  http::read(s, b, res);
  return res.body();
}

std::string http_post(const std::string& host, int port, const std::string& target,
                      const std::string& body, const std::string& token = "") {
  return http_call(http::verb::post, host, port, target, body, token);
}

// One unlabelled sample of the server's /metrics, or -1 when it is not there.
double metric(const std::string& host, int port, const std::string& name) {
  std::string text = "\n" + http_call(http::verb::get, host, port, "/metrics", "");
  auto at = text.find("\n" + name + " ");
  return at == std::string::npos ? -1 : std::stod(text.substr(at + name.size() + 2));
}

std::string extract(const std::string& text, const std::string& key) {
  auto k = text.find("\"" + key + "\":\"");
  if (k == std::string::npos) return {};
  auto start = k + key.size() + 4;
  return text.substr(start, text.find('"', start) - start);
}

bool is_reply(const std::string& m) {
  return m.find("\"type\":\"reply\"") != std::string::npos;
}
auto event_in(const std::string& callId, const std::string& state) {
  return [tag = "\"state\":\"" + state + "\"",
          id = "\"callId\":\"" + callId + "\""](const std::string& m) {
    return m.find("\"type\":\"call\"") != std::string::npos && m.find(id) != std::string::npos &&
           m.find(tag) != std::string::npos;
  };
}
std::string extract_int(const std::string& text, const std::string& key) {
  auto k = text.find("\"" + key + "\":");
  if (k == std::string::npos) return {};
  auto start = k + key.size() + 3;
  auto end = text.find_first_not_of("0123456789", start);
  return text.substr(start, end - start);
}

// --ack-log: every call document the server acknowledged (a reply with ok:true), one line each,
// "callId callerId version state", written as it arrives — a fault test kills the server
// mid-run, then checks each one survived the restart.
int g_ackLog = -1;
void ack(const std::string& reply) {
  if (g_ackLog < 0 || reply.find("\"ok\":true") == std::string::npos) return;
  std::string line = extract(reply, "callId") + " " + extract(reply, "callerId") + " " +
                     extract_int(reply, "version") + " " + extract(reply, "state") + "\n";
  (void)!::write(g_ackLog, line.data(), line.size());
}

std::string op(const std::string& name, const std::string& callId) {
  return R"({"id":1,"op":")" + name + R"(","callId":")" + callId + "\"}";
}

struct Endpoint {
  std::string host;
  int port = 0;
};

struct Pair {
  std::unique_ptr<Client> caller, receiver;
  std::string receiverId;
  // For fresh sessions: where each side connects, and with which token.
  Endpoint callerAt, receiverAt;
  std::string callerToken, receiverToken;
};

// One complete flow; returns the call id. Latency samples: each op → the other side's event.
awaitable<std::string> flow(Pair& p, Stats& st, bool stay_connected = false) {
  Client& c = *p.caller;
  Client& r = *p.receiver;
  c.clear();
  r.clear();
  auto t0 = Clock::now();
  auto lap = [&] {
    st.latency_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  };
  co_await c.send(R"({"id":1,"op":"create","receiverId":")" + p.receiverId + "\"}");
  std::string incoming = co_await r.expect([](const std::string& m) {
    return m.find("\"type\":\"call\"") != std::string::npos &&
           m.find("\"state\":\"calling\"") != std::string::npos;
  });
  lap();
  std::string reply = co_await c.expect(is_reply);
  if (reply.find("\"ok\":true") == std::string::npos)
    throw std::runtime_error("create refused: " + reply);
  std::string id = extract(reply, "callId");
  ack(reply);

  t0 = Clock::now();
  co_await r.send(op("ringing", id));
  co_await c.expect(event_in(id, "ringing"));
  lap();
  ack(co_await r.expect(is_reply));

  t0 = Clock::now();
  co_await r.send(op("accept", id));
  co_await c.expect(event_in(id, "accepted"));
  lap();
  ack(co_await r.expect(is_reply));

  t0 = Clock::now();
  co_await c.send(op("ready", id));
  co_await r.expect(event_in(id, "connecting"));
  lap();
  ack(co_await c.expect(is_reply));

  t0 = Clock::now();
  co_await r.send(op("ready", id));
  co_await c.expect(event_in(id, "connected"));
  lap();
  ack(co_await r.expect(is_reply));
  if (stay_connected) co_return id;

  t0 = Clock::now();
  co_await c.send(op("end", id));
  co_await r.expect(event_in(id, "ended"));
  lap();
  ack(co_await c.expect(is_reply));
  ++st.flows;
  co_return id;
}

// A flow on fresh sessions, as an app that connects for each call: both sides open a WebSocket,
// authenticate and await hello, make the call, and close.
awaitable<void> fresh_flow(asio::io_context& ioc, Pair& p, Stats& st) {
  using namespace asio::experimental::awaitable_operators;
  for (auto* c : {&p.caller, &p.receiver})
    if (*c && !(*c)->closed()) co_await (*c)->close();
  p.caller = std::make_unique<Client>(ioc);
  p.receiver = std::make_unique<Client>(ioc);
  co_await (p.caller->connect(p.callerAt.host, p.callerAt.port, p.callerToken) &&
            p.receiver->connect(p.receiverAt.host, p.receiverAt.port, p.receiverToken));
  co_await flow(p, st);
  co_await (p.caller->close() && p.receiver->close());
}

awaitable<void> pair_loop(Pair& p, Stats& st, std::atomic<long>& budget, Clock::time_point until,
                          int think_ms, asio::io_context* fresh) {
  asio::steady_timer pause(co_await asio::this_coro::executor);
  if (think_ms > 0) {  // spread the pairs' first flows over one think time
    pause.expires_after(std::chrono::milliseconds(std::rand() % think_ms));
    co_await pause.async_wait(use_awaitable);
  }
  while (Clock::now() < until && budget.fetch_sub(1) > 0) {
    try {
      auto t0 = Clock::now();
      if (fresh)
        co_await fresh_flow(*fresh, p, st);
      else
        co_await flow(p, st);
      st.lifecycle_us.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    } catch (const std::exception& e) {
      ++st.errors;
      std::cerr << "flow error: " << e.what() << "\n";
      co_return;
    }
    if (think_ms > 0) {
      pause.expires_after(std::chrono::milliseconds(think_ms));
      co_await pause.async_wait(use_awaitable);
    }
  }
}

// --burst-rounds: every caller creates a call at the same moment; each create's send time (ms
// since the epoch) and its answer's are printed as "CREATE <callId> <ms> <ms>" (a push benchmark
// matches them with the
// moment its push arrived); each call rings for two seconds (its pushes go, none is cancelled),
// then its caller ends it, and after a pause the next round starts.
awaitable<void> burst_call(Pair& p, int& done) {
  p.caller->clear();
  p.receiver->clear();
  double sent =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  co_await p.caller->send(R"({"id":1,"op":"create","receiverId":")" + p.receiverId + "\"}");
  std::string reply = co_await p.caller->expect(is_reply);
  if (reply.find("\"ok\":true") == std::string::npos)
    throw std::runtime_error("create refused: " + reply);
  std::string id = extract(reply, "callId");
  double answered =
      std::chrono::duration<double, std::milli>(std::chrono::system_clock::now().time_since_epoch())
          .count();
  std::printf("CREATE %s %.3f %.3f\n", id.c_str(), sent, answered);
  co_await p.receiver->expect(event_in(id, "calling"));
  // Rings a while (its pushes are sent, not cancelled), then the caller gives up.
  asio::steady_timer ring(co_await asio::this_coro::executor, std::chrono::seconds(2));
  co_await ring.async_wait(use_awaitable);
  co_await p.caller->send(op("end", id));
  co_await p.receiver->expect(event_in(id, "ended"));
  ++done;
}

void pause_for(asio::io_context& ioc, std::chrono::seconds d) {
  asio::steady_timer pause(ioc, d);
  bool over = false;
  pause.async_wait([&](auto) { over = true; });
  run_until(
      ioc, [&] { return over; }, d + std::chrono::seconds(3));
}

int run_bursts(asio::io_context& ioc, std::vector<Pair>& pairs, int rounds) {
  // Every round starts on a quiet server: the first one too, after the warm-up flows' pushes.
  pause_for(ioc, std::chrono::seconds(2));
  for (int r = 0; r < rounds; ++r) {
    int done = 0, failed = 0;
    for (auto& p : pairs)
      asio::co_spawn(ioc, burst_call(p, done), [&failed](std::exception_ptr e) {
        if (!e) return;
        ++failed;
        try {
          std::rethrow_exception(e);
        } catch (const std::exception& x) {
          std::cerr << "burst call: " << x.what() << "\n";
        }
      });
    run_until(
        ioc, [&] { return done + failed == static_cast<int>(pairs.size()); },
        std::chrono::seconds(60));
    if (failed > 0 || done != static_cast<int>(pairs.size())) return 1;
    pause_for(ioc, std::chrono::seconds(2));
  }
  std::fflush(stdout);
  return 0;
}

// Connects `n` clients as users prefix0..prefix(n-1), each with `push_devices` push targets
// registered (FCM and APNs alternately: the server must be configured for them); their tokens
// and nodes go to `tokens` and `at` when given.
// Client i connects to nodes[(i + offset) % nodes.size()]; tokens come from the first node (the
// nodes of a benchmark cluster share their development key).
std::vector<std::unique_ptr<Client>> connect_many(asio::io_context& ioc,
                                                  const std::vector<Endpoint>& nodes,
                                                  const std::string& prefix, int n,
                                                  int push_devices = 0, std::size_t offset = 0,
                                                  std::vector<std::string>* tokensOut = nullptr,
                                                  std::vector<Endpoint>* at = nullptr) {
  const std::string& host = nodes[0].host;
  int port = nodes[0].port;
  std::vector<std::unique_ptr<Client>> out;
  std::vector<std::string> tokens;
  for (int i = 0; i < n; ++i) {
    std::string user = prefix + std::to_string(i);
    tokens.push_back(
        extract(http_post(host, port, "/v1/dev/token", R"({"userId":")" + user + "\"}"), "token"));
    for (int k = 0; k < push_devices; ++k) {
      char hex[65];
      std::snprintf(hex, sizeof hex, "%064x", i * 64 + k);
      std::string body = k % 2 == 0 ? R"({"deviceId":"d)" + std::to_string(k) +
                                          R"(","platform":"fcm","token":"bench-)" + user + "-" +
                                          std::to_string(k) + "\"}"
                                    : R"({"deviceId":"d)" + std::to_string(k) +
                                          R"(","platform":"apns","token":")" + hex + "\"}";
      std::string r = http_post(host, port, "/v1/devices", body, tokens.back());
      if (r.find("\"platform\"") == std::string::npos)
        throw std::runtime_error("device registration refused: " + r);
    }
    out.push_back(std::make_unique<Client>(ioc));
  }
  int connected = 0;
  for (int i = 0; i < n; ++i)
    asio::co_spawn(ioc,
                   out[i]->connect(nodes[(i + offset) % nodes.size()].host,
                                   nodes[(i + offset) % nodes.size()].port, tokens[i]),
                   [&connected](std::exception_ptr e) {
                     if (e) std::rethrow_exception(e);
                     ++connected;
                   });
  run_until(
      ioc, [&] { return connected == n; }, std::chrono::seconds(60));
  if (tokensOut) *tokensOut = tokens;
  if (at)
    for (int i = 0; i < n; ++i) at->push_back(nodes[(i + offset) % nodes.size()]);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"dialtone-bench: complete call flows over WebSocket against dialtoned"};
  app.add_option("--dialtoned", o.dialtoned,
                 "dialtoned binary to start (default: the one built beside)");
  app.add_option("--connect", o.connect,
                 "HOST:PORT of an already running server instead; a cluster's nodes separated by "
                 "commas (each caller on one node, its receiver on the next)");
  app.add_option("--pid", o.pids, "PID of that server (for CPU and memory figures); repeatable");
  app.add_option("--pairs", o.pairs, "concurrent caller/receiver pairs")
      ->check(CLI::Range(1, 5000));
  app.add_option("--flows", o.flows, "stop after this many complete flows")
      ->check(CLI::Range(1L, 100000000L));
  app.add_option("--duration", o.duration, "stop after this many seconds")
      ->check(CLI::Range(0.1, 3600.0));
  app.add_option("--idle-sessions", o.idle_sessions,
                 "then open this many idle sessions and measure RSS")
      ->check(CLI::Range(0, 20000));
  app.add_option("--active-calls", o.active_calls,
                 "then hold this many connected calls and measure RSS")
      ->check(CLI::Range(0, 10000));
  app.add_option("--server-arg", o.server_args,
                 "extra flag for the started dialtoned (repeatable)");
  app.add_option("--push-devices", o.push_devices,
                 "push targets registered per receiver (the server must have FCM and APNs)")
      ->check(CLI::Range(0, 20));
  app.add_option("--think-ms", o.think_ms, "pause between one pair's flows")
      ->check(CLI::Range(0, 60000));
  app.add_option("--burst-rounds", o.burst_rounds,
                 "instead of flows: this many rounds of every caller calling at the same moment "
                 "(prints each create's send time)")
      ->check(CLI::Range(0, 100));
  app.add_flag("--fresh-session", o.fresh_session,
               "each flow on new sessions: both sides connect, authenticate and await hello, "
               "then close (Janus: a new Janus session, attach and register on the kept socket)");
  app.add_option("--user-prefix", o.prefix, "prefix of the user ids (to run several generators)");
  std::string ackLog;
  app.add_option("--ack-log", ackLog,
                 "append every acknowledged call document here (callId callerId version state)");
  app.add_option(
      "--janus", o.janus,
      "HOST:PORT of Janus's WebSocket API: drive its VideoCall plugin instead (with --pid)");
  CLI11_PARSE(app, argc, argv);
  if (!ackLog.empty()) {
    g_ackLog = ::open(ackLog.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (g_ackLog < 0) {
      std::cerr << "cannot open " << ackLog << "\n";
      return 2;
    }
  }

  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);

  if (!o.janus.empty()) return bench::run_janus(o);

  std::vector<Endpoint> nodes;
  std::unique_ptr<bench::ServerChild> child;
  if (o.connect.empty()) {
    child = std::make_unique<bench::ServerChild>(o.dialtoned, o.server_args);
    nodes.push_back({"127.0.0.1", child->port()});
    o.pids = {child->pid()};
  } else {
    for (std::size_t start = 0; start < o.connect.size();) {
      auto comma = std::min(o.connect.find(',', start), o.connect.size());
      std::string one = o.connect.substr(start, comma - start);
      nodes.push_back({one.substr(0, one.rfind(':')), std::stoi(one.substr(one.rfind(':') + 1))});
      start = comma + 1;
    }
  }
  o.pid = o.pids.empty() ? 0 : o.pids[0];

  asio::io_context ioc(1);
  std::vector<std::string> ctok, rtok;
  std::vector<Endpoint> cat, rat;
  auto callers = connect_many(ioc, nodes, o.prefix + "-c", o.pairs, 0, 0, &ctok, &cat);
  auto receivers =
      connect_many(ioc, nodes, o.prefix + "-r", o.pairs, o.push_devices, 1, &rtok, &rat);
  std::vector<Pair> pairs(o.pairs);
  for (int i = 0; i < o.pairs; ++i)
    pairs[i] = {std::move(callers[i]),
                std::move(receivers[i]),
                o.prefix + "-r" + std::to_string(i),
                cat[i],
                rat[i],
                ctok[i],
                rtok[i]};

  // Warm-up: one flow per pair, not measured.
  Stats warm;
  for (auto& p : pairs) asio::co_spawn(ioc, flow(p, warm), asio::detached);
  run_until(
      ioc, [&] { return warm.flows == o.pairs; }, std::chrono::seconds(60));
  if (o.burst_rounds > 0) return run_bursts(ioc, pairs, o.burst_rounds);

  Stats st = bench::measure(
      ioc, o, "", "flow",
      [&](int i, Stats& stats, std::atomic<long>& budget, Clock::time_point until, auto on_done) {
        asio::co_spawn(
            ioc,
            pair_loop(pairs[i], stats, budget, until, o.think_ms, o.fresh_session ? &ioc : nullptr),
            [on_done](std::exception_ptr) { on_done(); });
      });

  if (o.idle_sessions > 0) {
    bench::ProcSample base = bench::sample(o.pids);
    auto idle = connect_many(ioc, nodes, o.prefix + "-idle", o.idle_sessions);
    bench::ProcSample loaded = bench::sample(o.pids);
    std::printf("idle_sessions=%d rss_per_idle_session_kib=%.2f\n", o.idle_sessions,
                static_cast<double>(loaded.rss_kib - base.rss_kib) / o.idle_sessions);
  }
  if (o.active_calls > 0) {
    auto cs = connect_many(ioc, nodes, o.prefix + "-ac", o.active_calls);
    auto rs = connect_many(ioc, nodes, o.prefix + "-ar", o.active_calls, 0, 1);
    std::vector<Pair> held(o.active_calls);
    for (int i = 0; i < o.active_calls; ++i)
      held[i] = {std::move(cs[i]), std::move(rs[i]), o.prefix + "-ar" + std::to_string(i)};
    bench::ProcSample base = bench::sample(o.pids);
    double store0 = metric(nodes[0].host, nodes[0].port, "dialtone_store_memory_bytes");
    Stats hs;
    int up = 0;
    // Calls come up 10 at a time (as they would over time), so that what is measured is what a
    // held call keeps, not the high-water mark of a thousand set-ups in flight at once.
    std::size_t next = 0;
    std::function<void()> start_one = [&] {
      if (next == held.size()) return;
      asio::co_spawn(ioc, flow(held[next++], hs, true), [&](std::exception_ptr e, std::string) {
        if (e) std::rethrow_exception(e);
        ++up;
        start_one();
      });
    };
    for (int i = 0; i < 10; ++i) start_one();
    run_until(
        ioc, [&] { return up == o.active_calls; }, std::chrono::seconds(120));
    bench::ProcSample loaded = bench::sample(o.pids);
    double rss = static_cast<double>(loaded.rss_kib - base.rss_kib) / o.active_calls;
    std::printf("active_calls=%d rss_per_active_call_kib=%.2f\n", o.active_calls, rss);
    // SQLite's page cache fills as rows are written, whatever they are, up to its bound (16 MiB):
    // part of the growth above, but not something a held call keeps.
    double store1 = metric(nodes[0].host, nodes[0].port, "dialtone_store_memory_bytes");
    if (store0 >= 0 && store1 >= 0) {
      double store = (store1 - store0) / 1024 / o.active_calls;
      std::printf(
          "store_cache_growth_per_active_call_kib=%.2f rss_per_active_call_kib_without_it=%.2f\n",
          store, rss - store);
    }
  }
  std::fflush(stdout);
  return st.errors == 0 ? 0 : 1;
}
