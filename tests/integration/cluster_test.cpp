// SPDX-License-Identifier: Apache-2.0
// Three dialtoned nodes on one PostgreSQL and one NATS (both real, started by the tests), with
// the clients spread over the nodes: every guarantee of the protocol holds across nodes.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <thread>

#include "core/time.hpp"
#include "support/fake_push.hpp"
#include "support/harness.hpp"
#include "support/nats.hpp"
#include "support/node_service.hpp"
#include "support/postgres.hpp"

namespace dialtone::test {
namespace {

const std::string kSecret = "cluster-test-secret-cluster-test-secret!";

std::string token(const std::string& user) {
  return issuer_token(kSecret, user);
}

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 10s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return f();
}

class Cluster : public ::testing::Test {
 protected:
  NatsServer nats;
  std::string db = PostgresServer::shared().new_database();
  std::vector<std::unique_ptr<ServerProcess>> nodes;

  void start(int n, std::vector<std::string> extra = {}) {
    for (int i = 0; i < n; ++i) {
      // An open directory: the observer checks anyone's presence from any node.
      std::vector<std::string> flags{
          "--store", db, "--bus", nats.url(), "--jwt-hs256-secret", kSecret, "--directory", "open"};
      flags.insert(flags.end(), extra.begin(), extra.end());
      nodes.push_back(std::make_unique<ServerProcess>(flags));
    }
    // Every node has heard of every other (so presence is shared from the first client on).
    for (auto& node : nodes)
      ASSERT_TRUE(eventually([&] {
        return count(node->log(), "NODE_SEEN") >= static_cast<std::size_t>(n - 1);
      })) << node->log();
  }
  int port(int i) const { return nodes[static_cast<std::size_t>(i)]->port(); }
  static std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (auto p = text.find(what); p != std::string::npos; p = text.find(what, p + 1)) ++n;
    return n;
  }
  std::size_t count_in_logs(const std::string& what) const {
    std::size_t n = 0;
    for (auto& node : nodes) n += count(node->log(), what);
    return n;
  }
  bool online_seen_from(int node, const std::string& user, bool want) {
    std::string t = token("observer");
    return eventually([&] {
      auto r = http(port(node), "GET", "/v1/users/" + user, "", t);
      return r.status == 200 && r.body.at("online").as_bool() == want;
    });
  }
  // a (on one node) calls b (on another); b answers; both report media ready.
  std::string connect(WsClient& a, WsClient& b, const std::string& receiver) {
    std::string id = call_id(a.request({{"op", "create"}, {"receiverId", receiver}}));
    b.wait_call(id, "calling");
    EXPECT_EQ(b.request(op("ringing", id)).at("ok"), true);
    EXPECT_EQ(b.request(op("accept", id)).at("ok"), true);
    EXPECT_EQ(a.request(op("ready", id)).at("ok"), true);
    EXPECT_EQ(b.request(op("ready", id)).at("ok"), true);
    a.wait_call(id, "connected");
    b.wait_call(id, "connected");
    return id;
  }
};

TEST_F(Cluster, ACallBetweenTwoNodesFromCreateToEnd) {
  start(3);
  WsClient ann(port(0), token("ann"), "ann-phone");
  WsClient bob(port(1), token("bob"), "bob-phone");
  ASSERT_TRUE(online_seen_from(2, "bob", true)) << "presence is shared by every node";
  std::string id = connect(ann, bob, "bob");
  // Signals cross nodes, to the device that answered.
  ASSERT_EQ(
      ann.request(op("signal", id, {{"data", {{"type", "offer"}, {"sdp", "v=0\r\n"}}}})).at("ok"),
      true);
  auto sig = bob.next([](const json::object& o) { return o.at("type") == "signal"; });
  ASSERT_TRUE(sig);
  EXPECT_EQ(sig->at("from"), "ann");
  EXPECT_EQ(sig->at("data").at("type"), "offer");
  ASSERT_EQ(bob.request(op("end", id)).at("ok"), true);
  EXPECT_EQ(ann.wait_call(id, "ended").at("reason"), "ended_by_user");
  // Any node answers for the call.
  EXPECT_EQ(http(port(2), "GET", "/v1/calls/" + id, "", token("ann")).body.at("state"), "ended");
  ann.close();
  ASSERT_TRUE(online_seen_from(1, "ann", false));
}

TEST_F(Cluster, TwentySimultaneousCallersOnThreeNodesExactlyOneRings) {
  start(3);
  WsClient bob(port(0), token("bob"));
  std::vector<std::unique_ptr<WsClient>> callers;
  for (int i = 0; i < 20; ++i)
    callers.push_back(std::make_unique<WsClient>(port(i % 3), token("caller" + std::to_string(i))));
  std::vector<std::optional<json::object>> replies(20);
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i)
    threads.emplace_back([&, i] {
      replies[static_cast<std::size_t>(i)] =
          callers[static_cast<std::size_t>(i)]->request({{"op", "create"}, {"receiverId", "bob"}});
    });
  for (auto& t : threads) t.join();
  int rings = 0, busy = 0;
  std::string winner;
  for (auto& r : replies) {
    if (r->at("ok") == true) {
      ++rings;
      winner = call_id(*r);
    } else {
      EXPECT_EQ(r->at("error").at("code"), "busy") << json::serialize(*r);
      ++busy;
    }
  }
  EXPECT_EQ(rings, 1);
  EXPECT_EQ(busy, 19);
  bob.wait_call(winner, "calling");
  std::this_thread::sleep_for(300ms);  // any other call would have reached bob by now
  for (auto& m : bob.snapshot())       // (wait_call took the winner's snapshot)
    if (m.at("type") == "call") {
      EXPECT_NE(m.at("call").at("state"), "calling") << "a second incoming call reached bob";
    }
}

TEST_F(Cluster, TwoDevicesOnTwoNodesAcceptAtOnceOneWins) {
  start(3);
  WsClient ann(port(0), token("ann"));
  WsClient b1(port(1), token("bob"), "bob-phone"), b2(port(2), token("bob"), "bob-tablet");
  std::string id = call_id(ann.request({{"op", "create"}, {"receiverId", "bob"}}));
  b1.wait_call(id, "calling");
  b2.wait_call(id, "calling");
  std::optional<json::object> r1, r2;
  std::thread t1([&] { r1 = b1.request(op("accept", id)); });
  std::thread t2([&] { r2 = b2.request(op("accept", id)); });
  t1.join();
  t2.join();
  ASSERT_EQ((r1->at("ok") == true) + (r2->at("ok") == true), 1) << json::serialize(*r1) << "\n"
                                                                << json::serialize(*r2);
  std::string winner = r1->at("ok") == true ? "bob-phone" : "bob-tablet";
  auto& loser = r1->at("ok") == true ? *r2 : *r1;
  EXPECT_EQ(loser.at("error").at("code"), "invalid_transition");
  EXPECT_EQ(loser.at("call").at("answeredBy"), winner.c_str());
  EXPECT_EQ(ann.wait_call(id, "accepted").at("answeredBy"), winner.c_str());
  auto& other = winner == "bob-phone" ? b2 : b1;
  EXPECT_EQ(other.wait_call(id, "accepted").at("answeredBy"), winner.c_str());
}

TEST_F(Cluster, GlareAcrossNodesConnectsTheTwoCallers) {
  start(3);
  WsClient ann(port(0), token("ann")), bob(port(1), token("bob"));
  std::optional<json::object> ra, rb;
  std::thread ta([&] { ra = ann.request({{"op", "create"}, {"receiverId", "bob"}}); });
  std::thread tb([&] { rb = bob.request({{"op", "create"}, {"receiverId", "ann"}}); });
  ta.join();
  tb.join();
  ASSERT_EQ(ra->at("ok"), true) << json::serialize(*ra);
  ASSERT_EQ(rb->at("ok"), true) << json::serialize(*rb);
  EXPECT_EQ(call_id(*ra), call_id(*rb)) << "one call, not two";
  std::string id = call_id(*ra);
  ann.wait_call(id, "accepted");
  bob.wait_call(id, "accepted");
  auto h = http(port(2), "GET", "/v1/calls", "", token("ann"));
  EXPECT_EQ(h.body.at("calls").as_array().size(), 1u);
}

TEST_F(Cluster, TheRingTimeoutFiresExactlyOnce) {
  start(3, {"--ring-timeout-s", "2"});
  WsClient ann(port(0), token("ann")), bob(port(1), token("bob")), bob2(port(2), token("bob"));
  std::string id = call_id(ann.request({{"op", "create"}, {"receiverId", "bob"}}));
  // (10 s for a 2 s ring: in a full parallel run three nodes, PostgreSQL and NATS share two
  // cores with another test, and 5 s once was not enough; what is checked is "exactly once".)
  EXPECT_EQ(ann.wait_call(id, "timeout", 10s).at("reason"), "timeout");
  bob.wait_call(id, "timeout", 10s);
  bob2.wait_call(id, "timeout", 10s);
  std::this_thread::sleep_for(1500ms);  // every node's deadline has passed by now
  for (auto& m : ann.snapshot())        // (wait_call took the first)
    if (m.at("type") == "call") {
      EXPECT_NE(m.at("call").at("state"), "timeout") << "a second one";
    }
  EXPECT_EQ(count_in_logs("CALL_ENDED callId=" + id), 1u)
      << "one node fired it\n"
      << nodes[0]->log() << nodes[1]->log() << nodes[2]->log();
}

TEST_F(Cluster, KillingANodeMidCallTheClientsMoveAndTheCallGoesOn) {
  start(3, {"--presence-grace-s", "3"});
  WsClient ann(port(0), token("ann"), "ann-phone");
  auto bob = std::make_unique<WsClient>(port(1), token("bob"), "bob-phone");
  std::string id = connect(ann, *bob, "bob");
  nodes[1]->kill9();
  ASSERT_TRUE(bob->wait_closed(5s));
  // Bob's device reconnects to another node; the call is there, still connected.
  bob = std::make_unique<WsClient>(port(2), token("bob"), "bob-phone");
  EXPECT_EQ(bob->wait_call(id, "connected").at("state"), "connected");
  // Longer than the dead node's detection plus the presence grace: nothing happens to the call.
  std::this_thread::sleep_for(8s);
  auto doc = http(port(0), "GET", "/v1/calls/" + id, "", token("ann"));
  EXPECT_EQ(doc.body.at("state"), "connected") << json::serialize(doc.body);
  for (auto& m : ann.snapshot())
    if (m.at("type") == "call") {
      EXPECT_NE(m.at("call").at("state"), "ended");
    }
  // Signaling goes on through the new node, and hang-up works.
  ASSERT_EQ(
      bob->request(op("signal", id, {{"data", {{"type", "offer"}, {"sdp", "v=0\r\n"}}}})).at("ok"),
      true);
  ASSERT_TRUE(ann.next([](const json::object& o) { return o.at("type") == "signal"; }));
  ASSERT_EQ(bob->request(op("end", id)).at("ok"), true);
  ann.wait_call(id, "ended");
  bob->wait_call(id, "ended");
}

TEST_F(Cluster, ADeadNodeTakesItsUsersPresenceWithIt) {
  start(3, {"--presence-grace-s", "2"});
  WsClient ann(port(0), token("ann"));
  auto bob = std::make_unique<WsClient>(port(1), token("bob"));
  std::string id = connect(ann, *bob, "bob");
  ASSERT_TRUE(online_seen_from(2, "bob", true));
  auto killed = std::chrono::steady_clock::now();
  nodes[1]->kill9();
  // Bob never comes back: the others notice the node is gone, and the call ends after the grace.
  auto ended = ann.wait_call(id, "ended", 20s);
  EXPECT_EQ(ended.at("reason"), "network");
  EXPECT_GE(std::chrono::steady_clock::now() - killed, 2s) << "not before the grace";
  EXPECT_TRUE(online_seen_from(2, "bob", false));
}

// The push outbox across nodes: the node that placed the call dies while the push service holds
// its incoming-call push; once its lease runs out, another node sends it (the call still rings).
TEST_F(Cluster, PushesQueuedOnANodeThatDiesAreSentByAnother) {
  FakePushService fake;
  auto flags = fake.server_flags();
  flags.insert(flags.end(), {"--push-lease-s", "3", "--presence-grace-s", "60"});
  start(2, flags);
  const std::string fcmToken = "fcm-token:bob-android";
  auto reg = http(port(1), "POST", "/v1/devices",
                  json::serialize(json::object{
                      {"deviceId", "android-1"}, {"platform", "fcm"}, {"token", fcmToken}}),
                  token("bob"));
  ASSERT_EQ(reg.status, 200) << reg.raw;
  fake.script(fcmToken, json::array{json::object{{"hang", true}}});
  WsClient ann(port(0), token("ann"), "ann-phone");
  std::string id = call_id(ann.request({{"op", "create"}, {"receiverId", "bob"}}));
  ASSERT_TRUE(eventually([&] { return fake.pending() == 1; }));
  auto killed = std::chrono::steady_clock::now();
  nodes[0]->kill9();
  auto sent = [&] {
    std::vector<json::object> out;
    for (auto& e : fake.events())
      if (e.at("service") == "fcm" && e.at("target") == fcmToken.c_str() &&
          e.at("data").at("type") == "incoming_call" && e.at("data").at("callId") == id.c_str())
        out.push_back(e.as_object());
    return out;
  };
  ASSERT_TRUE(eventually([&] { return sent().size() == 2; }, 15s)) << nodes[1]->log();
  auto took = std::chrono::steady_clock::now() - killed;
  EXPECT_LT(took, 8s) << "a lease of 3 s, renewed every second";
  EXPECT_EQ(sent()[1].at("status"), 200);
  EXPECT_EQ(count(nodes[1]->log(), "PUSH_TAKEN_OVER count=1"), 1u) << nodes[1]->log();
  // Bob's phone, woken by it, answers on the surviving node.
  WsClient bob(port(1), token("bob"), "android-1");
  EXPECT_EQ(bob.request(op("ringing", id)).at("ok"), true);
  for (auto& e : fake.events()) EXPECT_TRUE(e.at("ok").as_bool()) << json::serialize(e);
}

TEST_F(Cluster, ABriefPostgresOutageMakesEveryNodeNotReadyAndLosesNothing) {
  PostgresServer pg;  // its own, to restart
  db = pg.new_database();
  start(3);
  WsClient ann(port(0), token("ann")), bob(port(1), token("bob"));
  std::string id = call_id(ann.request({{"op", "create"}, {"receiverId", "bob"}}));
  ASSERT_EQ(state_of(bob.request(op("accept", id))), "accepted");
  pg.stop();
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(eventually([&] { return http(port(i), "GET", "/readyz").status == 503; }));
  pg.start();
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(eventually([&] { return http(port(i), "GET", "/readyz").status == 200; }));
  EXPECT_EQ(http(port(2), "GET", "/v1/calls/" + id, "", token("ann")).body.at("state"), "accepted");
  ASSERT_EQ(state_of(ann.request(op("end", id))), "ended");
  bob.wait_call(id, "ended");
}

TEST_F(Cluster, BrowsersMayCallTheOtherNodesListedInPublicUrls) {
  start(1, {"--public-urls", "http://127.0.0.1:1,https://calls2.example.org"});
  auto info = http(port(0), "GET", "/v1/info");
  EXPECT_EQ(info.body.at("servers").as_array().size(), 2u);
  auto pre = http(port(0), "OPTIONS", "/v1/calls", "", "",
                  {{"Origin", "https://calls2.example.org"},
                   {"Access-Control-Request-Method", "GET"},
                   {"Access-Control-Request-Headers", "authorization"}});
  EXPECT_EQ(pre.status, 204);
  EXPECT_EQ(pre.header("Access-Control-Allow-Origin"), "https://calls2.example.org");
  EXPECT_NE(pre.header("Access-Control-Allow-Headers").find("authorization"), std::string::npos);
  auto get =
      http(port(0), "GET", "/v1/calls", "", token("ann"), {{"Origin", "http://127.0.0.1:1"}});
  EXPECT_EQ(get.status, 200);
  EXPECT_EQ(get.header("Access-Control-Allow-Origin"), "http://127.0.0.1:1");
  // Any other origin gets nothing that would let a browser read the answer.
  auto other =
      http(port(0), "GET", "/v1/calls", "", token("ann"), {{"Origin", "https://evil.example"}});
  EXPECT_EQ(other.header("Access-Control-Allow-Origin"), "");
  EXPECT_NE(
      http(port(0), "OPTIONS", "/v1/calls", "", "", {{"Origin", "https://evil.example"}}).status,
      204);
  // The page may connect to the listed nodes, over HTTP and WebSocket.
  auto page = http(port(0), "GET", "/");
  EXPECT_NE(page.header("Content-Security-Policy")
                .find("connect-src 'self' http://127.0.0.1:1 ws://127.0.0.1:1 "
                      "https://calls2.example.org wss://calls2.example.org"),
            std::string::npos)
      << page.header("Content-Security-Policy");
}

// NATS as it is run beyond one host: TLS with client certificates required (verify: true) and
// decentralized auth (operator, account, user JWTs; the user's .creds file), written by
// tests/bus/nats_secure.mjs. Two nodes join over it and carry a call; a node missing any one
// of the pieces is refused and says so.
TEST_F(Cluster, NatsWithTlsClientCertificatesAndCredentials) {
  std::string dir =
      (std::filesystem::temp_directory_path() / ("nats-secure-" + std::to_string(::getpid())))
          .string();
  int natsPort = free_tcp_port();
  run_node("tests/bus/nats_secure.mjs", {dir, std::to_string(natsPort)});
  NatsServer secure(dir + "/nats.conf", natsPort);
  const std::string url = "tls://127.0.0.1:" + std::to_string(natsPort);
  const std::vector<std::string> ca{"--nats-ca-file", dir + "/ca.pem"},
      cert{"--nats-cert-file", dir + "/client.pem", "--nats-key-file", dir + "/client.key"},
      creds{"--nats-creds-file", dir + "/dialtoned.creds"};
  auto with = [](std::vector<std::string> flags,
                 std::initializer_list<std::vector<std::string>> more) {
    for (const auto& m : more) flags.insert(flags.end(), m.begin(), m.end());
    return flags;
  };
  const std::vector<std::string> base{
      "--store", db, "--bus", url, "--jwt-hs256-secret", kSecret, "--listen", "127.0.0.1:0"};
  // Each piece missing: no start, and a reason.
  const std::vector<std::pair<std::vector<std::string>, std::string>> missing{
      {with(base, {cert, creds}), "SSL Error"},     // the server's CA: not in the system's store
      {with(base, {ca, creds}), "Protocol Error"},  // no client certificate: it hangs up
      {with(base, {ca, cert}), "Authentication Violation"}};  // no credentials
  for (const auto& [flags, reason] : missing) {
    auto [status, err] = run_dialtoned(flags);
    EXPECT_EQ(status, 1);
    EXPECT_NE(err.find("cannot connect to NATS at " + url + ": " + reason), std::string::npos)
        << err;
  }
  // A plain nats:// connection to it: refused as well.
  auto [status, err] =
      run_dialtoned(with({"--store", db, "--bus", "nats://127.0.0.1:" + std::to_string(natsPort),
                          "--jwt-hs256-secret", kSecret, "--listen", "127.0.0.1:0"},
                         {creds}));
  EXPECT_EQ(status, 1) << err;

  // Everything: two nodes meet over it and carry a call.
  for (int i = 0; i < 2; ++i) {
    auto f =
        with({"--store", db, "--bus", url, "--jwt-hs256-secret", kSecret, "--directory", "open"},
             {ca, cert, creds});
    nodes.push_back(std::make_unique<ServerProcess>(f));
  }
  for (auto& node : nodes)
    ASSERT_TRUE(eventually([&] { return count(node->log(), "NODE_SEEN") >= 1; })) << node->log();
  WsClient ann(port(0), token("ann"));
  WsClient bob(port(1), token("bob"));
  std::string id = connect(ann, bob, "bob");
  ASSERT_EQ(bob.request(op("end", id)).at("ok"), true);
  EXPECT_EQ(ann.wait_call(id, "ended").at("reason"), "ended_by_user");
}

// Development tokens across nodes with data dirs of their own: the key is in the shared store,
// so a token from one node's sign-in works on the other without copying a file.
TEST_F(Cluster, DevelopmentTokensWorkOnEveryNodeWithoutCopyingAKey) {
  for (int i = 0; i < 2; ++i)
    nodes.push_back(std::make_unique<ServerProcess>(
        std::vector<std::string>{"--store", db, "--bus", nats.url(), "--directory", "open"}));
  ASSERT_NE(nodes[0]->data_dir(), nodes[1]->data_dir());
  std::string ann = dev_token(port(0), "ann");
  std::string bob = dev_token(port(1), "bob");
  EXPECT_EQ(http(port(1), "GET", "/v1/users/ann", "", ann).status, 200);
  EXPECT_EQ(http(port(0), "GET", "/v1/users/bob", "", bob).status, 200);
  WsClient a(port(1), ann);
  EXPECT_EQ(a.hello.at("userId"), "ann");
  EXPECT_FALSE(std::filesystem::exists(nodes[0]->data_dir() + "/data/dev-token.key"));
}

TEST_F(Cluster, ReadinessNamesTheNodeAndABusIsRequiredToStart) {
  start(1);
  auto r = http(port(0), "GET", "/readyz");
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body.at("node").as_string().size(), 16u);
  auto [status, err] = run_dialtoned({"--store", db, "--bus", "nats://127.0.0.1:1", "--listen",
                                      "127.0.0.1:0", "--jwt-hs256-secret", kSecret});
  EXPECT_EQ(status, 1);
  EXPECT_NE(err.find("cannot connect to NATS"), std::string::npos) << err;
}

}  // namespace
}  // namespace dialtone::test
