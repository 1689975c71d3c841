// SPDX-License-Identifier: Apache-2.0
// Faults, each with real parts: dialtoned killed with SIGKILL in the middle of the load
// generator's hundreds of calls (no acknowledged transition lost, every deadline still fires
// after the restart); the disk filling up and the database locked by another process (clear
// errors, nothing changed, no corruption, recovery by itself); and a client whose network link
// goes down in the middle of a call (the call ends with `network` after the grace, and the other
// side is told).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

#include "support/build_paths.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

namespace fs = std::filesystem;

bool terminal(const std::string& state) {
  return state == "ended" || state == "rejected" || state == "timeout" || state == "busy" ||
         state == "failed";
}

void sh(const std::string& cmd) {
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
}

// Calls of the test's own, one left in each state that has a deadline, so that the restart
// finds open calls whatever moment of the generator's flows the kill hit. Their clients go with
// the server; nobody comes back for them.
struct HeldCalls {
  struct Held {
    std::string id, caller, state, version;
  };
  std::vector<std::unique_ptr<WsClient>> clients;
  std::vector<Held> calls;
};

void hold_calls(int port, HeldCalls& out) {
  const char* states[] = {"calling", "ringing", "accepted", "connecting", "connected"};
  for (int i = 0; i < 5; ++i) {
    std::string caller = "held-c" + std::to_string(i), receiver = "held-r" + std::to_string(i);
    WsClient* c =
        out.clients.emplace_back(std::make_unique<WsClient>(port, dev_token(port, caller))).get();
    WsClient* r =
        out.clients.emplace_back(std::make_unique<WsClient>(port, dev_token(port, receiver))).get();
    json::object reply = c->request({{"op", "create"}, {"receiverId", receiver}});
    ASSERT_EQ(reply.at("ok"), true) << json::serialize(reply);
    std::string id = call_id(reply);
    std::pair<WsClient*, const char*> steps[] = {
        {r, "ringing"}, {r, "accept"}, {c, "ready"}, {r, "ready"}};
    for (int k = 0; k < i; ++k) {
      reply = steps[k].first->request(op(steps[k].second, id));
      ASSERT_EQ(reply.at("ok"), true) << json::serialize(reply);
    }
    ASSERT_EQ(state_of(reply), states[i]);
    out.calls.push_back(
        {id, caller, states[i], std::to_string(reply.at("call").at("version").as_int64())});
  }
}

TEST(Faults, Kill9UnderLoadLosesNoAcknowledgedTransitionAndEveryDeadlineFires) {
  ASSERT_EQ(unshare(CLONE_NEWNET), 0) << "a network namespace of its own (root)";
  sh("ip link set lo up");
  // The presence grace is the longest deadline here, so each held call ends by its own kind
  // (ring → timeout, media → failed) and the connected one by the grace (→ ended/network).
  ServerProcess server({"--ring-timeout-s", "3", "--media-timeout-s", "3", "--presence-grace-s",
                        "5", "--limit-connections-per-ip", "0"});
  std::string log = server.data_dir() + "/acks.log";
  std::string bench_err = server.data_dir() + "/bench.err";
  std::string connect = "127.0.0.1:" + std::to_string(server.port());
  pid_t bench = fork();
  if (bench == 0) {
    int devnull = open("/dev/null", O_WRONLY);
    int err = open(bench_err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(devnull, 1);
    dup2(err, 2);
    execl(dialtone::build_paths::bench, dialtone::build_paths::bench, "--connect", connect.c_str(),
          "--pairs", "200", "--duration", "30", "--ack-log", log.c_str(), "--user-prefix", "k",
          static_cast<char*>(nullptr));
    _exit(127);
  }
  auto read_all = [](const std::string& path) {
    std::ifstream f(path);
    return std::string(std::istreambuf_iterator<char>(f), {});
  };
  // Load until a few thousand transitions were acknowledged (the generator still running), then
  // the held calls, then the crash.
  auto lines = [&] {
    std::string all = read_all(log);
    return std::count(all.begin(), all.end(), '\n');
  };
  auto deadline = std::chrono::steady_clock::now() + 60s;
  while (lines() < 3000 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(50ms);
  ASSERT_GE(lines(), 3000) << server.log();
  HeldCalls held;
  hold_calls(server.port(), held);
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_EQ(waitpid(bench, nullptr, WNOHANG), 0) << "the load generator stopped before the crash:\n"
                                                 << read_all(bench_err);
  server.kill9();
  kill(bench, SIGKILL);
  waitpid(bench, nullptr, 0);

  // What the clients were told, per call: the last acknowledged version and its state.
  struct Acked {
    std::string caller, state;
    long version = 0;
  };
  std::map<std::string, Acked> acked;
  std::istringstream in(read_all(log));
  std::string id, caller, state;
  long version;
  while (in >> id >> caller >> version >> state)
    if (version > acked[id].version) acked[id] = {caller, state, version};
  ASSERT_GE(acked.size(), 200u);
  for (const auto& h : held.calls) acked[h.id] = {h.caller, h.state, std::stol(h.version)};

  auto restart_wall = std::chrono::system_clock::now();
  server.start();
  auto restarted = std::chrono::steady_clock::now();
  std::map<std::string, std::string> tokens;
  auto get = [&](const std::string& callId, const std::string& user) {
    if (!tokens.count(user)) tokens[user] = dev_token(server.port(), user);
    return http(server.port(), "GET", "/v1/calls/" + callId, "", tokens[user]);
  };
  std::set<std::string> open;
  for (const auto& [callId, a] : acked) {
    auto r = get(callId, a.caller);
    ASSERT_EQ(r.status, 200) << callId << " acknowledged at version " << a.version << " is gone";
    EXPECT_GE(r.body.at("version").as_int64(), a.version) << callId;
    std::string now(r.body.at("state").as_string());
    if (terminal(a.state)) {
      EXPECT_EQ(now, a.state) << callId;
    }
    if (!terminal(now)) open.insert(callId);
  }
  std::cout << acked.size() << " calls acknowledged, " << open.size()
            << " still open after the restart\n";
  for (const auto& h : held.calls)
    EXPECT_TRUE(open.count(h.id)) << "the held " << h.state << " call did not survive open";
  // Every call left open by the crash ends by its deadline (ring 3 s, media 3 s, presence 5 s
  // from the restart: nobody reconnects), none later than they allow.
  std::map<std::string, json::value> ended;
  auto until = restarted + 12s;
  while (!open.empty() && std::chrono::steady_clock::now() < until) {
    for (auto it = open.begin(); it != open.end();) {
      auto r = get(*it, acked[*it].caller);
      if (!terminal(std::string(r.body.at("state").as_string()))) {
        ++it;
        continue;
      }
      ended[*it] = r.body;
      it = open.erase(it);
    }
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_TRUE(open.empty()) << open.size() << " calls never ended, e.g. " << *open.begin();
  // Each held call ended the way its deadline says.
  std::map<std::string, std::pair<std::string, std::string>> expected = {
      {"calling", {"timeout", "timeout"}},
      {"ringing", {"timeout", "timeout"}},
      {"accepted", {"failed", "media_timeout"}},
      {"connecting", {"failed", "media_timeout"}},
      {"connected", {"ended", "network"}}};
  for (const auto& h : held.calls) {
    if (!ended.count(h.id)) continue;
    const auto& doc = ended[h.id].as_object();
    EXPECT_EQ(doc.at("state").as_string(), expected[h.state].first) << h.state;
    EXPECT_EQ(doc.at("reason"), json::value(expected[h.state].second)) << h.state;
    auto at = parse_iso_for_test(std::string(doc.at("lastUpdated").as_string()));
    ASSERT_TRUE(at);
    if (h.state == "calling" || h.state == "ringing") {
      auto due = parse_iso_for_test(std::string(doc.at("ringDeadline").as_string()));
      EXPECT_GE(*at, *due) << h.state << " timed out before its ring deadline";
      EXPECT_LE(*at, std::max(*due, restart_wall) + 3s) << h.state << " timed out late";
    }
    if (h.state == "connected") {  // the grace counts from the restart
      EXPECT_GE(*at, restart_wall + 5s) << "ended before the presence grace";
      EXPECT_LE(*at, restart_wall + 8s) << "ended late";
    }
  }
  EXPECT_EQ(server.log().find("FATAL"), std::string::npos);
}

// Sends `msg` again every 100 ms until it is answered ok (the store recovering), for 10 s.
json::object until_ok(WsClient& c, const json::object& msg) {
  auto deadline = std::chrono::steady_clock::now() + 10s;
  json::object r;
  do {
    r = c.request(msg);
    if (r.at("ok") == true) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  return r;
}

// A small filesystem of the test's own (tmpfs in a private mount namespace), for a full disk.
struct SmallDisk {
  std::string dir = fs::temp_directory_path() / ("dt-disk-" + std::to_string(getpid()));
  explicit SmallDisk(const char* size) {
    EXPECT_EQ(unshare(CLONE_NEWNS), 0);
    EXPECT_EQ(mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr), 0);
    fs::create_directories(dir);
    EXPECT_EQ(mount("tmpfs", dir.c_str(), "tmpfs", 0, (std::string("size=") + size).c_str()), 0);
  }
  ~SmallDisk() {
    umount2(dir.c_str(), MNT_DETACH);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  // Fills what is left with one file.
  void fill() {
    std::ofstream f(dir + "/filler", std::ios::binary);
    std::string chunk(64 * 1024, 'x');
    while (f.write(chunk.data(), chunk.size())) {
    }
  }
  void free_space() { fs::remove(dir + "/filler"); }
};

std::string integrity(const std::string& db) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, nullptr);
  std::string out = sqlite3_step(st) == SQLITE_ROW
                        ? reinterpret_cast<const char*>(sqlite3_column_text(st, 0))
                        : "?";
  sqlite3_finalize(st);
  sqlite3_close(h);
  return out;
}

TEST(Faults, DiskFullGivesClearErrorsThenRecovers) {
  SmallDisk disk("2m");
  ServerProcess server({"--data-dir", disk.dir + "/data"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  std::string carol = dev_token(server.port(), "carol");
  dev_token(server.port(), "dave");
  WsClient c(server.port(), carol);
  disk.fill();
  // Writes fail with a clear error and change nothing (a few may still fit in what SQLite had
  // allocated).
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) {  // calls between two others: writes
    auto r = c.request({{"op", "create"}, {"receiverId", "dave"}});
    if (r.at("ok") == true) r = c.request(op("end", call_id(r)));
    if (r.at("ok") == false) {
      refused = true;
      EXPECT_EQ(r.at("error").at("code"), "unavailable") << json::serialize(r);
    }
  }
  ASSERT_TRUE(refused) << "the full disk was never noticed";
  auto h = http(server.port(), "POST", "/v1/calls/" + id + "/accept", "", bob);
  EXPECT_EQ(h.status, 503) << h.raw;
  EXPECT_EQ(h.body.at("error").at("code"), "unavailable");
  EXPECT_EQ(http(server.port(), "GET", "/readyz").status, 503);
  EXPECT_EQ(http(server.port(), "GET", "/healthz").status, 200);
  // Space returns: it recovers by itself.
  disk.free_space();
  auto r = until_ok(b, op("accept", id));
  EXPECT_EQ(r.at("ok"), true) << json::serialize(r);
  EXPECT_EQ(http(server.port(), "GET", "/readyz").status, 200);
  EXPECT_EQ(a.wait_call(id, "accepted").at("answeredBy"), b.device().c_str());
  server.terminate();
  EXPECT_EQ(integrity(disk.dir + "/data/dialtone.db"), "ok");
  server.start();
  auto after = http(server.port(), "GET", "/v1/calls/" + id, "", alice);
  EXPECT_EQ(after.body.at("state"), "accepted");
  EXPECT_NE(server.log().find("STORE_COMMIT_FAILED"), std::string::npos);
}

TEST(Faults, DatabaseLockedGivesClearErrorsThenRecovers) {
  ServerProcess server;
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  // Another process (here: this test, through SQLite) takes the write lock and keeps it.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open((server.data_dir() + "/data/dialtone.db").c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  auto r = b.request(op("accept", id), 30s);
  EXPECT_EQ(r.at("ok"), false);
  EXPECT_EQ(r.at("error").at("code"), "unavailable") << json::serialize(r);
  EXPECT_EQ(http(server.port(), "GET", "/readyz").status, 503);
  sqlite3_exec(other, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(other);
  // Once the lock is gone it recovers by itself; the refused accept changed nothing.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  HttpResult g;
  do {
    g = http(server.port(), "GET", "/v1/calls/" + id, "", alice);
    if (g.status == 200) break;
    std::this_thread::sleep_for(100ms);
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(g.status, 200) << g.raw;
  EXPECT_EQ(g.body.at("state"), "calling");
  EXPECT_EQ(g.body.at("version"), 1);
  r = until_ok(b, op("accept", id));
  EXPECT_EQ(r.at("ok"), true) << json::serialize(r);
  EXPECT_EQ(http(server.port(), "GET", "/readyz").status, 200);
  server.terminate();
  EXPECT_EQ(integrity(server.data_dir() + "/data/dialtone.db"), "ok");
}

TEST(Faults, AClientWhoseLinkGoesDownEndsTheCallWithNetwork) {
  // This test's own network: the server on one end of a veth pair, Bob's device in a network
  // namespace on the other; his link goes down mid-call (no FIN, no RST: he just vanishes).
  ASSERT_EQ(unshare(CLONE_NEWNET), 0);
  sh("ip link set lo up");
  std::string ns = "dt-bob-" + std::to_string(getpid());
  sh("ip netns add " + ns);
  struct Cleanup {
    std::string ns;
    ~Cleanup() { std::system(("ip netns del " + ns + " 2>/dev/null").c_str()); }
  } cleanup{ns};
  sh("ip link add dts0 type veth peer name dtb0");
  sh("ip link set dtb0 netns " + ns);
  sh("ip addr add 10.77.0.1/24 dev dts0 && ip link set dts0 up");
  sh("ip netns exec " + ns +
     " sh -c 'ip link set lo up && ip addr add 10.77.0.2/24 dev dtb0 && ip link set dtb0 up'");
  // 0.0.0.0 of this private network: Alice on its loopback, Bob across the veth.
  ServerProcess server({"--listen", "0.0.0.0:0", "--dev-tokens-public", "true", "--ping-interval-s",
                        "1", "--presence-grace-s", "2"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  WsClient a(server.port(), alice);
  std::unique_ptr<WsClient> b;
  {
    // Bob's socket is made in his namespace (a thread's network namespace is its own).
    int home = open("/proc/self/ns/net", O_RDONLY);
    int his = open(("/run/netns/" + ns).c_str(), O_RDONLY);
    ASSERT_EQ(setns(his, CLONE_NEWNET), 0);
    b = std::make_unique<WsClient>(server.port(), bob, "bob-phone", "10.77.0.1");
    ASSERT_EQ(setns(home, CLONE_NEWNET), 0);
    close(his);
    close(home);
  }
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b->request(op("accept", id));
  a.request(op("ready", id));
  b->request(op("ready", id));
  a.wait_call(id, "connected");
  auto cut = std::chrono::steady_clock::now();
  sh("ip netns exec " + ns + " ip link set dtb0 down");
  // Two missed pongs (1 s apart) close his session; the grace (2 s) then ends the call.
  auto ended = a.wait_call(id, "ended", 10s);
  auto took = std::chrono::steady_clock::now() - cut;
  EXPECT_EQ(ended.at("reason"), "network");
  EXPECT_TRUE(ended.at("durationSeconds").is_int64());
  EXPECT_GE(took, 2s) << "not before the grace";
  EXPECT_LE(took, 8s);
  EXPECT_NE(server.log().find("WS_PONG_TIMEOUT user=bob"), std::string::npos);
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/bob/busy", "", alice).body.at("busy"), false);
}

}  // namespace
}  // namespace dialtone::test
