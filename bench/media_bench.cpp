// SPDX-License-Identifier: Apache-2.0
// dialtone-media-bench: the media figures of docs/benchmarks.md, and the Chromium anchor in the
// same run.
//   - first audio: two webrtcbin transports wired directly, from the offerer's start (pipeline +
//     createOffer) to the first decoded audio on each side — the way the anchor measures
//     Chromium (createOffer → first decoded remote audio); and from the release of a prepared
//     offer (what `accept` does in the SDK);
//   - accept-to-first-audio through dialtoned with two SDK clients, in both directions;
//   - the same through coturn, relay only;
//   - CPU per active call in the SDK (both ends in this process);
//   - mouth-to-ear on loopback: clicks sent by one side, found in what the other side decodes.
#include <sys/resource.h>
#include <time.h>

#include <spdlog/spdlog.h>
#include <boost/asio.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <future>
#include <iostream>
#include <map>
#include <mutex>

#include <dialtone/client.hpp>

#include "media/audio_out.hpp"
#include "media/transport.hpp"
#include "support/coturn.hpp"
#include "support/harness.hpp"
#include "support/loop.hpp"

namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace dialtone;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

double ms_since(Clock::time_point t0, Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(t - t0).count();
}
std::int64_t mono_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

struct Summary {
  double p50 = 0, p90 = 0, min = 0;
  int n = 0;
};
Summary summarize(std::vector<double> v) {
  v.erase(std::remove_if(v.begin(), v.end(), [](double x) { return !(x >= 0); }), v.end());
  Summary s;
  s.n = static_cast<int>(v.size());
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  s.min = v.front();
  s.p50 = v[v.size() / 2];
  s.p90 = v[std::min(v.size() - 1, v.size() * 9 / 10)];
  return s;
}
void print(const std::string& what, const Summary& s) {
  std::printf("%-58s p50 %7.1f ms   p90 %7.1f ms   min %7.1f ms   (n=%d)\n", what.c_str(), s.p50,
              s.p90, s.min, s.n);
  std::fflush(stdout);
}

// Two transports wired to each other. `prepared`: the offerer's offer and candidates are held
// until release(), as the SDK holds them while the call rings.
struct Pair {
  test::Loop loop;
  std::unique_ptr<media::Transport> a, b;
  std::shared_ptr<media::AudioOut> outA, outB;
  std::vector<json::object> held;
  bool released = true;
  std::mutex mu;
  std::optional<Clock::time_point> aHears, bHears, bIce, bDtls;

  void start(const media::TransportOptions& base, const std::string& inA, const std::string& inB,
             bool prepared, media::AudioOut::Tap tapB = {}) {
    released = !prepared;
    loop.run([&] {
      outA = std::make_shared<media::AudioOut>("none", [this](const std::int16_t*, std::size_t) {
        std::lock_guard l(mu);
        if (!aHears) aHears = Clock::now();
      });
      outB = std::make_shared<media::AudioOut>("none",
                                               [this, tapB](const std::int16_t* s, std::size_t n) {
                                                 {
                                                   std::lock_guard l(mu);
                                                   if (!bHears) bHears = Clock::now();
                                                 }
                                                 if (tapB) tapB(s, n);
                                               });
      auto oa = base, ob = base;
      oa.role = media::Role::offerer;
      oa.input = inA;
      ob.role = media::Role::answerer;
      ob.input = inB;
      ob.sendTap = nullptr;
      media::Transport::Callbacks ca, cb;
      ca.signal = [this](json::object d) {
        if (released)
          b->on_remote(d);
        else
          held.push_back(d);
      };
      cb.signal = [this](json::object d) { a->on_remote(d); };
      cb.event = [this](media::TransportEvent e) {  // on the loop thread
        std::lock_guard l(mu);
        if (e == media::TransportEvent::ice_connected && !bIce) bIce = Clock::now();
        if (e == media::TransportEvent::dtls_connected && !bDtls) bDtls = Clock::now();
      };
      ca.error = cb.error = [](ErrorCode, std::string m) {
        std::fprintf(stderr, "media: %s\n", m.c_str());
      };
      a = media::make_webrtc_transport(oa, outA, loop.post(), ca);
      b = media::make_webrtc_transport(ob, outB, loop.post(), cb);
      b->start();
      a->start();
    });
  }
  void release() {
    loop.run([&] {
      released = true;
      for (auto& d : held) b->on_remote(d);
      held.clear();
    });
  }
  bool wait_both(std::chrono::milliseconds limit) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      {
        std::lock_guard l(mu);
        if (aHears && bHears) return true;
      }
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }
  void stop() {
    loop.run([&] {
      a.reset();
      b.reset();
    });
    outA->close();
    outB->close();
  }
};

media::TransportOptions transport_options(const std::vector<media::IceServer>& ice, bool relay) {
  media::TransportOptions o;
  o.localAddresses = {"127.0.0.1"};
  o.iceServers = ice;
  o.relayOnly = relay;
  return o;
}

// First decoded audio on each side, from the offerer's start or from the release of a
// prepared offer.
void first_audio_transports(const std::string& label, const std::vector<media::IceServer>& ice,
                            bool relay, int n, std::map<std::string, Summary>& out) {
  for (bool prepared : {false, true}) {
    std::vector<double> aMs, bMs, iceMs, dtlsMs;
    for (int i = 0; i < n; ++i) {
      Pair p;
      auto t0 = Clock::now();
      p.start(transport_options(ice, relay), "tone:440", "tone:880", prepared);
      if (prepared) {
        std::this_thread::sleep_for(300ms);  // ringing: the offer is made and gathered
        t0 = Clock::now();
        p.release();
      }
      if (p.wait_both(10s)) {
        aMs.push_back(ms_since(t0, *p.aHears));
        bMs.push_back(ms_since(t0, *p.bHears));
        std::lock_guard l(p.mu);
        if (p.bIce) iceMs.push_back(ms_since(t0, *p.bIce));
        if (p.bDtls) dtlsMs.push_back(ms_since(t0, *p.bDtls));
      }
      p.stop();
    }
    std::string from = prepared ? "release of a prepared offer" : "start (createOffer)";
    auto sa = summarize(bMs), sb = summarize(aMs);
    print("webrtcbin " + label + ", " + from + ": answerer hears", sa);
    print("webrtcbin " + label + ", " + from + ": offerer hears", sb);
    print("  of which: answerer's ICE connected", summarize(iceMs));
    print("  of which: answerer's DTLS connected", summarize(dtlsMs));
    out[label + (prepared ? "/prepared" : "/start")] = summarize(bMs);
  }
}

// Accept-to-first-audio through dialtoned with two SDK clients.
class Timeline : public Listener {
 public:
  void on_connection(ConnectionState s) override {
    std::lock_guard l(mu);
    online = s == ConnectionState::online;
  }
  void on_call(const CallSnapshot& c) override {
    std::lock_guard l(mu);
    last = c;
  }
  void on_media(const std::string&, MediaEvent e) override {
    std::lock_guard l(mu);
    if (e == MediaEvent::connected && !connected) connected = Clock::now();
  }
  template <class P>
  bool wait(P pred, std::chrono::milliseconds limit = 10s) {
    auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      {
        std::lock_guard l(mu);
        if (pred()) return true;
      }
      std::this_thread::sleep_for(1ms);
    }
    return false;
  }
  std::mutex mu;
  bool online = false;
  std::optional<CallSnapshot> last;
  std::optional<Clock::time_point> connected;
};

Summary accept_to_first_audio(test::ServerProcess& server, const std::string& label, bool relay,
                              int n) {
  auto cfg = [&](const std::string& user, const std::string& in) {
    ClientConfig c;
    c.server = "http://127.0.0.1:" + std::to_string(server.port());
    c.token = test::dev_token(server.port(), user);
    c.deviceId = user + "-bench";
    c.media.input = in;
    c.media.output = "none";
    c.media.iceLocalAddresses = {"127.0.0.1"};
    c.media.relayOnly = relay;
    return c;
  };
  Timeline ta, tb;
  Client alice(cfg("alice", "tone:440"), ta), bob(cfg("bob", "tone:880"), tb);
  ta.wait([&] { return ta.online; });
  tb.wait([&] { return tb.online; });
  std::vector<double> aMs, bMs;
  for (int i = 0; i < n; ++i) {
    {
      std::lock_guard l1(ta.mu), l2(tb.mu);
      ta.connected.reset();
      tb.connected.reset();
    }
    auto r = alice.start_call("bob").get();
    if (!r.ok()) continue;
    std::string id = r.value->callId;
    tb.wait(
        [&] { return tb.last && tb.last->callId == id && tb.last->state == CallState::ringing; });
    std::this_thread::sleep_for(300ms);  // the call rings: both sides prepare
    auto t0 = Clock::now();
    bob.accept(id, nullptr);
    if (ta.wait([&] { return ta.connected.has_value(); }) &&
        tb.wait([&] { return tb.connected.has_value(); })) {
      aMs.push_back(ms_since(t0, *ta.connected));
      bMs.push_back(ms_since(t0, *tb.connected));
    }
    alice.end(id).get();
    ta.wait([&] { return ta.last && ta.last->callId == id && is_terminal(ta.last->state); });
    tb.wait([&] { return tb.last && tb.last->callId == id && is_terminal(tb.last->state); });
  }
  print("SDK via dialtoned " + label + ", accept -> caller hears", summarize(aMs));
  auto sb = summarize(bMs);
  print("SDK via dialtoned " + label + ", accept -> receiver hears", sb);
  auto all = aMs;
  all.insert(all.end(), bMs.begin(), bMs.end());
  return summarize(all);
}

// CPU of this process per active call (both ends of each call live here).
void cpu_per_call(test::ServerProcess& server, int calls, int seconds) {
  std::vector<std::unique_ptr<Timeline>> listeners;
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < calls; ++i) {
    for (const char* side : {"a", "b"}) {
      std::string user = "cpu" + std::to_string(calls) + side + std::to_string(i);
      ClientConfig c;
      c.server = "http://127.0.0.1:" + std::to_string(server.port());
      c.token = test::dev_token(server.port(), user);
      c.media.input = side[0] == 'a' ? "tone:440" : "tone:880";
      c.media.output = "none";
      c.media.iceLocalAddresses = {"127.0.0.1"};
      listeners.push_back(std::make_unique<Timeline>());
      clients.push_back(std::make_unique<Client>(c, *listeners.back()));
    }
  }
  for (auto& l : listeners) l->wait([&] { return l->online; });
  for (int i = 0; i < calls; ++i) {
    auto r =
        clients[2 * i]->start_call("cpu" + std::to_string(calls) + "b" + std::to_string(i)).get();
    if (!r.ok()) continue;
    auto& lb = *listeners[2 * i + 1];
    lb.wait([&] { return lb.last && lb.last->state == CallState::ringing; });
    clients[2 * i + 1]->accept(r.value->callId).get();
  }
  int up = 0;
  for (auto& l : listeners) up += l->wait([&] { return l->connected.has_value(); }) ? 1 : 0;
  std::this_thread::sleep_for(1s);
  rusage r0, r1;
  getrusage(RUSAGE_SELF, &r0);
  auto t0 = Clock::now();
  std::this_thread::sleep_for(std::chrono::seconds(seconds));
  getrusage(RUSAGE_SELF, &r1);
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  auto secs = [](const timeval& t) { return t.tv_sec + t.tv_usec / 1e6; };
  double cpu = secs(r1.ru_utime) - secs(r0.ru_utime) + secs(r1.ru_stime) - secs(r0.ru_stime);
  for (int i = 0; i < calls; ++i) {
    std::lock_guard lock(listeners[2 * i]->mu);
    if (listeners[2 * i]->last) clients[2 * i]->end(listeners[2 * i]->last->callId, nullptr);
  }
  std::printf(
      "CPU per active call (both ends, %2d calls, %d/%d endpoints with audio): %5.2f %% of "
      "a core (%.2f %% per endpoint)\n",
      calls, up, 2 * calls, 100 * cpu / wall / calls, 50 * cpu / wall / calls);
  std::fflush(stdout);
}

// Mouth-to-ear on loopback: the offerer sends a click every 500 ms. A click's "mouth" time is
// the capture time of its first loud sample as it enters the encoder (the pipeline's base time
// + the buffer's timestamp + its offset); its "ear" time is when its first loud decoded sample
// would start playing: the arrival of its buffer at the output plus its offset in the buffer.
// (No sound card: device buffers on either side come on top.)
Summary mouth_to_ear(int clicks) {
  std::mutex mu;
  std::vector<std::int64_t> mouths, ears;
  std::int64_t quietOut = 0, quietIn = 0;
  auto onsets = [](const std::int16_t* s, std::size_t n, std::int64_t t0, std::int64_t& quiet,
                   std::vector<std::int64_t>& out) {
    for (std::size_t i = 0; i < n; ++i) {
      if (std::abs(s[i]) < 2000) {
        ++quiet;
        continue;
      }
      if (quiet > 4800) out.push_back(t0 + std::int64_t(i) * 1000000000 / 48000);
      quiet = 0;
    }
  };
  Pair p;
  auto o = transport_options({}, false);
  o.sendTap = [&](const std::int16_t* s, std::size_t n, std::int64_t capture) {
    std::lock_guard l(mu);
    onsets(s, n, capture, quietOut, mouths);
  };
  p.start(o, "ticks:500", "silence", false, [&](const std::int16_t* s, std::size_t n) {
    std::int64_t now = mono_ns();
    std::lock_guard l(mu);
    onsets(s, n, now, quietIn, ears);
  });
  auto end = Clock::now() + std::chrono::milliseconds(500 * (clicks + 4));
  while (Clock::now() < end) std::this_thread::sleep_for(50ms);
  p.stop();
  std::vector<double> lat;
  std::lock_guard l(mu);
  for (auto e : ears) {
    // The click heard is the last one sent before it.
    auto it = std::upper_bound(mouths.begin(), mouths.end(), e);
    if (it != mouths.begin()) lat.push_back((e - *std::prev(it)) / 1e6);
  }
  return summarize(lat);
}

std::optional<std::vector<double>> chromium_anchor(const std::string& dir, int n,
                                                   const std::string& turnJson) {
  std::string cmd = "cd '" + dir + "' && node anchor.mjs --iterations=" + std::to_string(n);
  if (!turnJson.empty()) cmd += " '--turn=" + turnJson + "'";
  cmd += " 2>" + (std::filesystem::temp_directory_path() / "dialtone-anchor.log").string();
  FILE* f = popen(cmd.c_str(), "r");
  if (!f) return std::nullopt;
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, f)) out += buf;
  pclose(f);
  boost::system::error_code ec;
  auto v = json::parse(out, ec);
  if (ec || !v.is_object()) {
    std::fprintf(stderr, "anchor: no result from `%s`: %s\n", cmd.c_str(), out.c_str());
    return std::nullopt;
  }
  std::vector<double> ms;
  for (auto& x : v.at("firstAudioMs").as_array())
    if (x.is_double() || x.is_int64()) ms.push_back(x.to_number<double>());
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  int n = 15;
  bool anchorOnly = false, cpuOnly = false;
  std::string chromiumDir;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--iterations" && i + 1 < argc) n = std::stoi(argv[++i]);
    if (a == "--chromium" && i + 1 < argc) chromiumDir = std::filesystem::absolute(argv[++i]);
    if (a == "--anchor-only") anchorOnly = true;
    if (a == "--cpu-only") cpuOnly = true;
  }
  media::wait_for_warmup();  // the DTLS certificate exists before anything is timed
  spdlog::set_level(spdlog::level::warn);
  const std::string secret = "bench-turn-secret";
  test::CoturnProcess turn(secret);
  test::ServerProcess server({"--turn-urls", turn.url(), "--turn-secret", secret});
  auto creds = test::http(server.port(), "GET", "/v1/turn-credentials", "",
                          test::dev_token(server.port(), "bench"));
  const auto& ts = creds.body.at("iceServers").as_array()[0].as_object();
  media::IceServer turnServer{{turn.url()},
                              std::string(ts.at("username").as_string()),
                              std::string(ts.at("credential").as_string())};

  std::map<std::string, Summary> ours;
  Summary sdkLoop, sdkTurn;
  if (cpuOnly) {
    spdlog::set_level(spdlog::level::info);
    cpu_per_call(server, 5, 3);
    return 0;
  }
  if (!anchorOnly) {
    std::printf("## first audio, %d iterations each\n", n);
    first_audio_transports("loopback", {}, false, n, ours);
    first_audio_transports("TURN relay-only", {turnServer}, true, n, ours);
    sdkLoop = accept_to_first_audio(server, "loopback", false, n);
    sdkTurn = accept_to_first_audio(server, "TURN relay-only", true, n);

    std::printf("\n## mouth-to-ear on loopback (jitter buffer 50 ms, Opus 20 ms frames)\n");
    print("click sent -> click decoded and due to play", mouth_to_ear(2 * n));

    std::printf("\n## CPU per active call in the SDK\n");
    for (int calls : {1, 5, 10}) cpu_per_call(server, calls, 8);
  }

  if (!chromiumDir.empty()) {
    std::printf(
        "\n## anchor: Chromium to Chromium (same run), createOffer -> first decoded audio\n");
    auto loop = chromium_anchor(chromiumDir, n, "");
    json::object t{{"urls", turn.url()},
                   {"username", turnServer.username},
                   {"credential", turnServer.credential}};
    auto relay = chromium_anchor(chromiumDir, n, json::serialize(t));
    if (loop && relay) {
      auto cl = summarize(*loop), ct = summarize(*relay);
      print("Chromium loopback", cl);
      print("Chromium TURN relay-only", ct);
      std::printf("\n## ratios (ours / Chromium, p50; below 1 is faster)\n");
      const std::pair<const char*, double> ratios[] = {
          {"webrtcbin start -> answerer hears, loopback", ours["loopback/start"].p50 / cl.p50},
          {"webrtcbin prepared release -> answerer hears, loopback",
           ours["loopback/prepared"].p50 / cl.p50},
          {"SDK accept -> first audio via dialtoned, loopback", sdkLoop.p50 / cl.p50},
          {"webrtcbin start -> answerer hears, TURN", ours["TURN relay-only/start"].p50 / ct.p50},
          {"webrtcbin prepared release -> answerer hears, TURN",
           ours["TURN relay-only/prepared"].p50 / ct.p50},
          {"SDK accept -> first audio via dialtoned, TURN", sdkTurn.p50 / ct.p50},
      };
      for (auto& [what, ratio] : ratios) std::printf("%-58s %.2f\n", what, ratio);
    } else {
      std::printf("(the Chromium anchor did not run: see bench/chromium)\n");
    }
  }
  return 0;
}
