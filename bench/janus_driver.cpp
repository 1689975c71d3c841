// SPDX-License-Identifier: Apache-2.0
// The anchor: Janus's VideoCall plugin driven with its own flow (call → incomingcall → accept →
// accepted → hangup) over its WebSocket API, measured like dialtoned in the same run.
#include <unistd.h>

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <cstdio>
#include <iostream>
#include <memory>

#include "common.hpp"
#include "proc_stats.hpp"
#include "ws_client.hpp"

namespace bench {

namespace {

// A minimal but complete WebRTC audio offer/answer (ICE credentials, DTLS fingerprint, Opus):
// Janus parses and checks it, creates its ICE agent, and relays it to the other side.
const char* kFingerprint =
    "sha-256 "
    "4A:AD:B9:B1:3F:82:18:3B:54:02:12:DF:3E:5D:49:6B:19:E5:7C:AB:4A:AD:B9:B1:3F:82:18:3B:54:02:12:"
    "DF";

std::string sdp(const char* setup, const char* ufrag) {
  std::string s =
      "v=0\r\no=- 4611731400430051336 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
      "a=group:BUNDLE 0\r\na=msid-semantic: WMS\r\n"
      "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\nc=IN IP4 0.0.0.0\r\na=rtcp:9 IN IP4 0.0.0.0\r\n";
  s += std::string("a=ice-ufrag:") + ufrag + "\r\na=ice-pwd:abcdefghijklmnopqrstuvwx\r\n";
  s += "a=ice-options:trickle\r\na=fingerprint:" + std::string(kFingerprint) + "\r\n";
  s += std::string("a=setup:") + setup + "\r\n";
  s += "a=mid:0\r\na=sendrecv\r\na=rtcp-mux\r\na=rtpmap:111 opus/48000/2\r\n"
       "a=fmtp:111 minptime=10;useinbandfec=1\r\n";
  return s;
}

std::string json_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '\r')
      out += "\\r";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"')
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

long long extract_id(const std::string& m) {
  auto k = m.find("\"id\":");
  if (k == std::string::npos) throw std::runtime_error("no id in " + m);
  return std::stoll(m.substr(k + 5));
}

bool has(const std::string& m, const char* what) {
  return m.find(what) != std::string::npos;
}

// Waits for `what`, but gives up at once on a Janus error on that connection.
awaitable<std::string> expect_or_error(Client& ws, const char* what) {
  std::string m = co_await ws.expect(
      [what](const std::string& m) { return has(m, what) || has(m, "\"error\""); });
  if (!has(m, what)) throw std::runtime_error("janus error: " + m.substr(0, 300));
  co_return m;
}

struct Peer {
  std::unique_ptr<Client> ws;
  long long session = 0, handle = 0;
  std::string user;
  int tx = 0;

  std::string message(const std::string& body, const std::string& jsep = "") {
    std::string m = R"({"janus":"message","session_id":)" + std::to_string(session) +
                    R"(,"handle_id":)" + std::to_string(handle) + R"(,"transaction":"t)" +
                    std::to_string(++tx) + R"(","body":)" + body;
    if (!jsep.empty()) m += R"(,"jsep":)" + jsep;
    return m + "}";
  }

  awaitable<void> setup(const std::string& host, int port) {
    co_await ws->open(host, port, "/", "janus-protocol");
    co_await new_session();
  }

  // A Janus session with the VideoCall plugin attached and `user` registered.
  awaitable<void> new_session() {
    co_await ws->send(R"({"janus":"create","transaction":"c"})");
    session =
        extract_id(co_await ws->expect([](const std::string& m) { return has(m, "\"success\""); }));
    co_await ws->send(
        R"({"janus":"attach","plugin":"janus.plugin.videocall","transaction":"a","session_id":)" +
        std::to_string(session) + "}");
    handle =
        extract_id(co_await ws->expect([](const std::string& m) { return has(m, "\"success\""); }));
    co_await ws->send(message(R"({"request":"register","username":")" + user + "\"}"));
    co_await ws->expect([](const std::string& m) { return has(m, "\"registered\""); });
  }

  awaitable<void> destroy() {
    co_await ws->send(R"({"janus":"destroy","transaction":"d","session_id":)" +
                      std::to_string(session) + "}");
    co_await ws->expect([](const std::string& m) {
      return has(m, "\"success\"") && has(m, "\"transaction\":\"d\"");
    });
  }
};

struct JPair {
  Peer caller, callee;
};

awaitable<void> janus_flow(JPair& p, Stats& st, bool fresh = false) {
  static const std::string offer =
      R"({"type":"offer","sdp":")" + json_escape(sdp("actpass", "offr")) + "\"}";
  static const std::string answer =
      R"({"type":"answer","sdp":")" + json_escape(sdp("active", "answ")) + "\"}";
  Client& c = *p.caller.ws;
  Client& r = *p.callee.ws;
  c.clear();
  r.clear();
  auto t0 = Clock::now();
  auto lap = [&] {
    st.latency_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
  };
  co_await c.send(
      p.caller.message(R"({"request":"call","username":")" + p.callee.user + "\"}", offer));
  co_await expect_or_error(r, "\"incomingcall\"");
  lap();
  t0 = Clock::now();
  co_await r.send(p.callee.message(R"({"request":"accept"})", answer));
  co_await expect_or_error(c, "\"event\":\"accepted\"");
  lap();
  t0 = Clock::now();
  co_await c.send(p.caller.message(R"({"request":"hangup"})"));
  co_await r.expect([](const std::string& m) { return has(m, "\"event\":\"hangup\""); });
  lap();
  co_await c.expect([](const std::string& m) { return has(m, "\"event\":\"hangup\""); });
  if (!fresh) {
    // Janus closes each side's PeerConnection asynchronously; a new call before that is refused.
    co_await c.expect([](const std::string& m) { return has(m, "\"janus\":\"hangup\""); });
    co_await r.expect([](const std::string& m) { return has(m, "\"janus\":\"hangup\""); });
  }
  ++st.flows;
}

// Janus at its fastest: a fresh Janus session per call (create, attach, register under a new
// name, call, accept, hang up, destroy) on the kept WebSocket — no waiting for the
// PeerConnections to close, which destroying the session does.
awaitable<void> janus_fresh_flow(JPair& p, Stats& st, int n) {
  using namespace asio::experimental::awaitable_operators;
  for (Peer* peer : {&p.caller, &p.callee})
    peer->user = peer->user.substr(0, peer->user.rfind('.')) + "." + std::to_string(n);
  co_await (p.caller.new_session() && p.callee.new_session());
  co_await janus_flow(p, st, true);
  co_await (p.caller.destroy() && p.callee.destroy());
}

// After a refused call both sides hang up, and the pair goes on with the next call.
awaitable<void> reset(JPair& p) {
  co_await p.caller.ws->send(p.caller.message(R"({"request":"hangup"})"));
  co_await p.callee.ws->send(p.callee.message(R"({"request":"hangup"})"));
  asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(100));
  co_await t.async_wait(use_awaitable);
}

awaitable<void> janus_loop(JPair& p, Stats& st, std::atomic<long>& budget, Clock::time_point until,
                           bool fresh) {
  int n = 0;
  while (Clock::now() < until && budget.fetch_sub(1) > 0) {
    bool failed = false;
    try {
      auto t0 = Clock::now();
      if (fresh)
        co_await janus_fresh_flow(p, st, ++n);
      else
        co_await janus_flow(p, st);
      st.lifecycle_us.push_back(
          std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    } catch (const std::exception& e) {
      if (++st.errors <= 3) std::cerr << "janus flow error: " << e.what() << "\n";
      failed = true;
    }
    if (failed && fresh) co_return;  // its sessions are in an unknown state
    if (failed) co_await reset(p);
  }
}

}  // namespace

int run_janus(const Options& o) {
  std::string host = o.janus.substr(0, o.janus.rfind(':'));
  int port = std::stoi(o.janus.substr(o.janus.rfind(':') + 1));
  asio::io_context ioc(1);
  std::vector<JPair> pairs(o.pairs);
  int ready = 0;
  for (int i = 0; i < o.pairs; ++i) {
    auto& p = pairs[i];
    p.caller = {std::make_unique<Client>(ioc), 0, 0, o.prefix + "-jc" + std::to_string(i) + ".0"};
    p.callee = {std::make_unique<Client>(ioc), 0, 0, o.prefix + "-jr" + std::to_string(i) + ".0"};
    for (Peer* peer : {&p.caller, &p.callee})
      asio::co_spawn(ioc, peer->setup(host, port), [&ready](std::exception_ptr e) {
        if (e) std::rethrow_exception(e);
        ++ready;
      });
  }
  run_until(
      ioc, [&] { return ready == 2 * o.pairs; }, std::chrono::seconds(60));

  Stats warm;
  for (auto& p : pairs) asio::co_spawn(ioc, janus_flow(p, warm), asio::detached);
  run_until(
      ioc, [&] { return warm.flows == o.pairs; }, std::chrono::seconds(60));

  if (o.fresh_session) {  // each call brings its own sessions
    int gone = 0;
    for (auto& p : pairs)
      for (Peer* peer : {&p.caller, &p.callee})
        asio::co_spawn(ioc, peer->destroy(), [&gone](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
          ++gone;
        });
    run_until(
        ioc, [&] { return gone == 2 * o.pairs; }, std::chrono::seconds(60));
  }

  measure(
      ioc, o, "janus ", "call",
      [&](int i, Stats& stats, std::atomic<long>& budget, Clock::time_point until, auto on_done) {
        asio::co_spawn(ioc, janus_loop(pairs[i], stats, budget, until, o.fresh_session),
                       [on_done](std::exception_ptr) { on_done(); });
      });
  return 0;  // Janus's refusals are counted and reported, not a failure of the benchmark
}

}  // namespace bench
