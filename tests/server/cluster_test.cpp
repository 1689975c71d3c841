// SPDX-License-Identifier: Apache-2.0
// Several hubs joined by Cluster over an in-memory bus: presence across nodes, a node's death,
// signals to devices on other nodes, and snapshots from several nodes in any order. The same
// Cluster runs over real NATS in tests/integration/cluster_test.cpp.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <thread>

#include "server/cluster.hpp"

namespace dialtone {
namespace {

using namespace std::chrono_literals;

// A bus network in memory: a message reaches every other bus connected when it was sent, in
// the order sent, on the network's own thread (as NATS delivers on a thread of its own: a
// handler may publish, and a publisher may hold a lock its own handler takes). A bus can be cut
// off (a killed node, as the others see it). settle() waits until nothing is in flight.
struct Network;
class MemoryBus final : public Bus {
 public:
  explicit MemoryBus(Network& net);
  ~MemoryBus() override;
  void subscribe(const std::string&, Handler h) override {
    std::lock_guard lk(mu_);
    handler_ = std::move(h);
  }
  bool publish(const std::string& subject, std::string_view payload) override;
  bool connected() const override { return !cut_; }
  void on_state(StateHandler) override {}
  void flush(int) override {}
  void close() override;  // no handler runs after it returns
  void receive(std::string_view subject, std::string_view payload) {
    Handler h;
    {
      std::lock_guard lk(mu_);
      h = handler_;
    }
    if (h) h(subject, payload);
  }
  std::atomic<bool> cut_{false};

 private:
  Network& net_;
  std::mutex mu_;
  Handler handler_;
};

struct Network {
  struct Sent {
    std::vector<MemoryBus*> to;
    std::string subject, payload;
  };
  std::mutex mu;
  std::condition_variable cv, idle;
  std::vector<MemoryBus*> buses;
  std::deque<Sent> queue;
  bool delivering = false, stopping = false;
  std::thread thread{[this] { run(); }};

  ~Network() {
    {
      std::lock_guard lk(mu);
      stopping = true;
    }
    cv.notify_all();
    thread.join();
  }
  void send(MemoryBus* from, std::string_view subject, std::string_view payload) {
    std::lock_guard lk(mu);
    Sent m{{}, std::string(subject), std::string(payload)};
    for (auto* b : buses)
      if (b != from && !b->cut_) m.to.push_back(b);
    queue.push_back(std::move(m));
    cv.notify_all();
  }
  void remove(MemoryBus* b) {
    std::unique_lock lk(mu);
    idle.wait(lk, [&] { return !delivering; });  // not while a message is being handed to it
    std::erase(buses, b);
    for (auto& m : queue) std::erase(m.to, b);
  }
  void settle() {
    std::unique_lock lk(mu);
    idle.wait(lk, [&] { return queue.empty() && !delivering; });
  }
  void run() {
    std::unique_lock lk(mu);
    for (;;) {
      cv.wait(lk, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      Sent m = std::move(queue.front());
      queue.pop_front();
      delivering = true;
      lk.unlock();
      for (auto* b : m.to) b->receive(m.subject, m.payload);
      lk.lock();
      delivering = false;
      idle.notify_all();
    }
  }
};

MemoryBus::MemoryBus(Network& net) : net_(net) {
  std::lock_guard lk(net_.mu);
  net_.buses.push_back(this);
}
MemoryBus::~MemoryBus() {
  net_.remove(this);
}
void MemoryBus::close() {
  net_.remove(this);
}
bool MemoryBus::publish(const std::string& subject, std::string_view payload) {
  if (cut_) return false;
  net_.send(this, subject, payload);
  return true;
}

struct Sink final : SessionSink {
  Sink(std::string u, std::string d) : user(std::move(u)), device(std::move(d)) {}
  void deliver(Message m) override {
    std::lock_guard lk(mu);
    got.push_back(*m);
  }
  void shutdown() override {}
  const std::string& user_id() const override { return user; }
  const std::string& device_id() const override { return device; }
  std::vector<std::string> messages() {
    std::lock_guard lk(mu);
    return got;
  }
  std::string user, device;
  std::mutex mu;
  std::vector<std::string> got;
};

struct PresenceLog {
  std::mutex mu;
  // (user, device, online, when)
  std::vector<std::tuple<std::string, std::string, bool, TimeMs>> events;
  void add(const std::string& u, const std::string& d, bool on, TimeMs when) {
    std::lock_guard lk(mu);
    events.emplace_back(u, d, on, when);
  }
  std::vector<std::tuple<std::string, std::string, bool, TimeMs>> all() {
    std::lock_guard lk(mu);
    return events;
  }
};

struct Node {
  Node(Network& net, std::string id, ClusterOptions o = {})
      : bus(net), cluster(bus, hub, std::move(id), o) {
    hub.set_peers(&cluster);
    hub.set_presence_listener([this](const std::string& u, const std::string& d, bool on,
                                     TimeMs when) { presence.add(u, d, on, when); });
    cluster.start();
  }
  // Off the network before anything a delivery reaches (the presence log, the hub) goes.
  ~Node() { cluster.stop(); }
  MemoryBus bus;
  Hub hub;
  Cluster cluster;
  PresenceLog presence;
};

template <class F>
bool eventually(F f, std::chrono::milliseconds limit = 3s) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    if (f()) return true;
    std::this_thread::sleep_for(5ms);
  }
  return f();
}

Call a_call(std::int64_t version, CallState state) {
  Call c;
  c.callId = "call-1";
  c.callerId = "ann";
  c.receiverId = "bob";
  c.callerDeviceId = "ann-phone";
  c.answeredBy = "bob-phone";
  c.state = state;
  c.version = version;
  c.timestamp = c.lastUpdated = 1'700'000'000'000;
  c.ringDeadline = c.timestamp + 45'000;
  return c;
}

TEST(Cluster, AUserOnOneNodeIsOnlineOnTheOthers) {
  Network net;
  Node a(net, "a"), b(net, "b");
  auto s = std::make_shared<Sink>("ann", "ann-phone");
  a.hub.join(s, std::make_shared<const std::string>("{}"));
  net.settle();
  EXPECT_TRUE(b.hub.user_online("ann"));
  EXPECT_TRUE(b.hub.device_online("ann", "ann-phone"));
  EXPECT_FALSE(b.hub.device_online("ann", "ann-laptop"));
  EXPECT_FALSE(b.hub.online_here("ann"));
  ASSERT_EQ(b.presence.all().size(), 1u);
  EXPECT_EQ(std::get<1>(b.presence.all()[0]), "ann-phone");
  EXPECT_EQ(std::get<2>(b.presence.all()[0]), true);
  a.hub.leave(s.get());
  net.settle();
  EXPECT_FALSE(b.hub.user_online("ann"));
  EXPECT_FALSE(b.hub.device_online("ann", "ann-phone"));
  ASSERT_EQ(b.presence.all().size(), 2u);
  EXPECT_EQ(std::get<2>(b.presence.all()[1]), false);
}

TEST(Cluster, ADeviceMovingToAnotherNodeNeverGoesOffline) {
  Network net;
  Node a(net, "a"), b(net, "b");
  auto onA = std::make_shared<Sink>("ann", "ann-phone");
  auto onB = std::make_shared<Sink>("ann", "ann-phone");  // the same device, reconnected to b
  a.hub.join(onA, std::make_shared<const std::string>("{}"));
  net.settle();
  b.hub.join(onB, std::make_shared<const std::string>("{}"));
  net.settle();
  a.hub.leave(onA.get());
  net.settle();
  for (auto& [u, d, on, when] : a.presence.all()) EXPECT_TRUE(on) << "node a reported it offline";
  for (auto& [u, d, on, when] : b.presence.all()) EXPECT_TRUE(on) << "node b reported it offline";
  EXPECT_TRUE(a.hub.device_online("ann", "ann-phone"));
}

TEST(Cluster, AnotherDeviceOfTheSameUserDoesNotKeepADeviceOnline) {
  Network net;
  Node a(net, "a"), b(net, "b");
  auto phone = std::make_shared<Sink>("ann", "ann-phone");
  auto laptop = std::make_shared<Sink>("ann", "ann-laptop");
  a.hub.join(phone, std::make_shared<const std::string>("{}"));
  b.hub.join(laptop, std::make_shared<const std::string>("{}"));
  net.settle();
  a.hub.leave(phone.get());
  net.settle();
  EXPECT_TRUE(b.hub.user_online("ann"));
  EXPECT_FALSE(b.hub.device_online("ann", "ann-phone"));
  auto events = a.presence.all();
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(std::get<1>(events.back()), "ann-phone");
  EXPECT_FALSE(std::get<2>(events.back())) << "the phone is gone though ann's laptop is not";
}

TEST(Cluster, ANodeThatStartsLaterLearnsWhoIsWhere) {
  Network net;
  Node a(net, "a");
  auto s = std::make_shared<Sink>("ann", "ann-phone");
  a.hub.join(s, std::make_shared<const std::string>("{}"));
  Node b(net, "b");  // asks everyone for their users when it starts
  EXPECT_TRUE(eventually([&] { return b.hub.user_online("ann"); }));
}

TEST(Cluster, ALostPresenceMessageIsRepairedByTheHeartbeat) {
  Network net;
  Node a(net, "a", {100, 1000}), b(net, "b", {100, 1000});
  net.settle();
  b.bus.cut_ = true;  // b misses ann's arrival...
  auto s = std::make_shared<Sink>("ann", "ann-phone");
  a.hub.join(s, std::make_shared<const std::string>("{}"));
  net.settle();
  b.bus.cut_ = false;
  EXPECT_FALSE(b.hub.user_online("ann"));
  // ...and learns it from a's next heartbeat, whose number is not the last b saw.
  EXPECT_TRUE(eventually([&] { return b.hub.user_online("ann"); }));
}

TEST(Cluster, ADeadNodeTakesItsUsersPresenceWithIt) {
  Network net;
  Node b(net, "b", {50, 300});
  TimeMs before = now_ms();
  {
    auto a = std::make_unique<Node>(net, "a", ClusterOptions{50, 300});
    auto s = std::make_shared<Sink>("ann", "ann-phone");
    a->hub.join(s, std::make_shared<const std::string>("{}"));
    net.settle();
    ASSERT_TRUE(b.hub.user_online("ann"));
    a->bus.cut_ = true;  // killed: no goodbye, no more heartbeats
    EXPECT_TRUE(eventually([&] { return !b.hub.user_online("ann"); }));
    a->cluster.stop();
  }
  // (online() turns false as the node is declared dead; the presence change is handed to the
  // listener just after, on the cluster's thread.)
  EXPECT_TRUE(eventually([&] { return b.presence.all().size() >= 2; }));
  auto events = b.presence.all();
  ASSERT_EQ(events.size(), 2u);
  auto [user, device, online, when] = events[1];
  EXPECT_EQ(user, "ann");
  EXPECT_FALSE(online);
  EXPECT_GE(when, before) << "offline since the node was last heard of";
  EXPECT_LE(when, now_ms() - 250);
}

TEST(Cluster, ANodeCutOffFromTheBusDeclaresNobodyDead) {
  Network net;
  Node a(net, "a", {50, 300}), b(net, "b", {50, 300});
  auto s = std::make_shared<Sink>("ann", "ann-phone");
  a.hub.join(s, std::make_shared<const std::string>("{}"));
  b.bus.cut_ = true;
  std::this_thread::sleep_for(700ms);
  EXPECT_TRUE(b.hub.user_online("ann")) << "b cannot hear anyone; that is not a's fault";
}

TEST(Cluster, SignalsReachADeviceOnAnotherNode) {
  Network net;
  Node a(net, "a"), b(net, "b");
  auto ann = std::make_shared<Sink>("ann", "ann-phone");
  auto bob = std::make_shared<Sink>("bob", "bob-phone");
  auto bobOther = std::make_shared<Sink>("bob", "bob-tablet");
  a.hub.join(ann, std::make_shared<const std::string>("{}"));
  b.hub.join(bob, std::make_shared<const std::string>("{}"));
  b.hub.join(bobOther, std::make_shared<const std::string>("{}"));
  Call c = a_call(3, CallState::connecting);
  a.hub.relay_signal(c, "ann", boost::json::object{{"sdp", "x"}});
  net.settle();
  auto got = bob->messages();
  ASSERT_EQ(got.size(), 2u);  // hello, signal
  EXPECT_NE(got[1].find(R"("type":"signal")"), std::string::npos);
  EXPECT_EQ(bobOther->messages().size(), 1u) << "only the device that answered";
}

TEST(Cluster, SnapshotsFromSeveralNodesNeverMoveACallBackwards) {
  Network net;
  Node a(net, "a"), b(net, "b"), c(net, "c");
  auto bob = std::make_shared<Sink>("bob", "bob-phone");
  c.hub.join(bob, std::make_shared<const std::string>("{}"));
  b.hub.publish(std::make_shared<const Call>(a_call(4, CallState::connected)), nullptr);
  net.settle();
  a.hub.publish(std::make_shared<const Call>(a_call(3, CallState::connecting)),
                nullptr);  // older, arrives later
  net.settle();
  auto got = bob->messages();
  ASSERT_EQ(got.size(), 2u);
  EXPECT_NE(got[1].find(R"("state":"connected")"), std::string::npos);
  ASSERT_NE(c.hub.route("call-1"), nullptr);
  EXPECT_EQ(c.hub.route("call-1")->version, 4);
  a.hub.publish(std::make_shared<const Call>(a_call(5, CallState::ended)), nullptr);
  b.hub.publish(std::make_shared<const Call>(a_call(4, CallState::connected)),
                nullptr);  // a late copy cannot revive it
  net.settle();
  EXPECT_EQ(c.hub.route("call-1"), nullptr);
  EXPECT_EQ(bob->messages().size(), 3u);
}

TEST(Cluster, ALostPresenceMessageIsRepairedByTheNextOne) {
  Network net;
  // Heartbeats ten seconds apart: only the gap in the numbers can repair it within the test.
  Node a(net, "a", {10'000, 60'000}), b(net, "b", {10'000, 60'000});
  net.settle();
  std::uint64_t asked = b.cluster.asks();
  b.bus.cut_ = true;  // b misses ann's arrival (a's message 1)...
  auto ann = std::make_shared<Sink>("ann", "ann-phone");
  a.hub.join(ann, std::make_shared<const std::string>("{}"));
  net.settle();
  b.bus.cut_ = false;
  auto bob = std::make_shared<Sink>("bob", "bob-phone");
  a.hub.join(bob, std::make_shared<const std::string>("{}"));  // ...and gets message 2
  net.settle();
  EXPECT_TRUE(b.hub.user_online("bob"));
  EXPECT_TRUE(b.hub.user_online("ann")) << "b asked for a's list on seeing number 1 missing";
  EXPECT_EQ(b.cluster.asks(), asked + 1);
}

TEST(Cluster, LostMessagesThatLeaveTheCountUnchangedAreStillRepaired) {
  Network net;
  Node a(net, "a", {50, 60'000}), b(net, "b", {50, 60'000});
  auto bob = std::make_shared<Sink>("bob", "bob-phone");
  a.hub.join(bob, std::make_shared<const std::string>("{}"));
  net.settle();
  ASSERT_TRUE(b.hub.user_online("bob"));
  b.bus.cut_ = true;  // b misses ann arriving and bob leaving: a still has one device
  auto ann = std::make_shared<Sink>("ann", "ann-phone");
  a.hub.join(ann, std::make_shared<const std::string>("{}"));
  a.hub.leave(bob.get());
  net.settle();
  b.bus.cut_ = false;
  // A count of devices would match (one either way); the heartbeat's number does not.
  EXPECT_TRUE(eventually([&] { return b.hub.user_online("ann") && !b.hub.user_online("bob"); }));
}

TEST(Cluster, SessionsComingAndGoingAskForNoList) {
  Network net;
  Node a(net, "a", {10, 60'000}), b(net, "b", {10, 60'000});
  net.settle();
  std::uint64_t asked = b.cluster.asks();
  // Two threads open and close sessions while heartbeats go every 10 ms: nothing is lost, so
  // nothing is asked for, and b ends up with a's view.
  auto churn = [&a](const std::string& prefix) {
    for (int i = 0; i < 300; ++i) {
      auto s = std::make_shared<Sink>(prefix + std::to_string(i % 7), "phone");
      a.hub.join(s, std::make_shared<const std::string>("{}"));
      if (i % 5 != 0) a.hub.leave(s.get());  // every fifth stays
    }
  };
  std::thread t1(churn, "u"), t2(churn, "v");
  t1.join();
  t2.join();
  std::this_thread::sleep_for(50ms);  // a few heartbeats after the last change
  net.settle();
  EXPECT_EQ(b.cluster.asks(), asked) << "nothing was lost: no full list needed";
  for (const char* p : {"u", "v"})
    for (int i = 0; i < 7; ++i) {
      std::string user = p + std::to_string(i);
      EXPECT_EQ(b.hub.user_online(user), a.hub.online_here(user)) << user;
    }
}

TEST(Cluster, WhatIsSentIsTheDevicesStateNotTheEventThatCalled) {
  // A first session opening and the last one closing, on two threads, can reach the cluster in
  // either order; what goes out is what the hub says when it is sent.
  Network net;
  Node a(net, "a"), b(net, "b");
  a.cluster.local_presence("ann", "ann-phone", true);  // ann-phone has no session on a
  net.settle();
  EXPECT_FALSE(b.hub.device_online("ann", "ann-phone"));
}

TEST(Cluster, WatchersAreToldOfAUserOnAnotherNode) {
  Network net;
  Node a(net, "a"), b(net, "b");
  auto carol = std::make_shared<Sink>("carol", "c-phone");
  b.hub.join(carol, std::make_shared<const std::string>("{}"));
  b.hub.watch(carol, {"ann", "bob"});  // both offline
  auto ann = std::make_shared<Sink>("ann", "ann-phone");
  auto bob = std::make_shared<Sink>("bob", "bob-phone");
  a.hub.join(ann, std::make_shared<const std::string>("{}"));
  a.hub.join(bob, std::make_shared<const std::string>("{}"));
  net.settle();
  a.hub.publish(std::make_shared<const Call>(a_call(1, CallState::calling)), nullptr);
  net.settle();
  a.hub.publish(std::make_shared<const Call>(a_call(2, CallState::ended)), nullptr);
  net.settle();
  a.hub.leave(ann.get());
  net.settle();
  std::vector<std::string> told;
  for (const auto& m : carol->messages()) {
    if (m.find(R"("type":"presence")") == std::string::npos) continue;
    auto users = boost::json::parse(m).at("users").as_array();
    for (const auto& u : users)
      told.push_back(std::string(u.at("userId").as_string()) + " " +
                     std::string(u.at("status").as_string()));
  }
  EXPECT_EQ(told, (std::vector<std::string>{"ann offline", "bob offline", "ann online",
                                            "bob online", "ann in_call", "bob in_call",
                                            "ann online", "bob online", "ann offline"}));
  // Gone, it is told nothing more (and nothing holds on to it).
  b.hub.leave(carol.get());
  auto n = carol->messages().size();
  a.hub.leave(bob.get());
  net.settle();
  EXPECT_EQ(carol->messages().size(), n);
  EXPECT_EQ(carol.use_count(), 1);
}

TEST(Cluster, NodeIdsAreRandom) {
  auto x = make_node_id(), y = make_node_id();
  EXPECT_EQ(x.size(), 16u);
  EXPECT_NE(x, y);
}

}  // namespace
}  // namespace dialtone
