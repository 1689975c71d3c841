// SPDX-License-Identifier: Apache-2.0
// The other nodes, over a Bus: what makes several dialtoned nodes on one PostgreSQL act as one.
// Each node sends every change it commits (the stored document, so the others can route and
// check signals), relays signals to devices whose sessions another node holds, and tells the
// others when a device's first session opens and last one closes on it. Each node numbers its
// presence messages; its heartbeat (each second) and its full list carry the last number, so
// another node that finds a number missing — a gap — asks for the full list, and only then. A
// node not heard for `deadAfterMs` (killed, cut off) is
// dropped with its devices, whose calls then lose presence after the usual grace unless they
// reconnect to another node first. A node that cannot reach the bus keeps its view (and is not
// ready) instead of declaring everybody else dead.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "bus/bus.hpp"
#include "server/hub.hpp"

namespace dialtone {

struct ClusterOptions {
  std::int64_t heartbeatMs = 1000;
  std::int64_t deadAfterMs = 3500;
};

class Cluster final : public Peers {
 public:
  Cluster(Bus& bus, Hub& hub, std::string nodeId, ClusterOptions opts = {});
  ~Cluster() override;

  void start();  // subscribes, asks the others who is where, starts the heartbeat
  void stop();   // tells the others this node is leaving, and closes the bus

  // Runs (on the bus's thread) for every change another node committed, after the hub has it.
  using ChangeListener = std::function<void(const Call&)>;
  void set_change_listener(ChangeListener l) { changed_ = std::move(l); }

  const std::string& node_id() const { return node_; }
  bool connected() const { return bus_.connected(); }
  std::size_t peer_count() const;
  // How many times this node asked another for its full list (at start, on a gap, back on the
  // bus).
  std::uint64_t asks() const { return asks_.load(); }

  // Peers
  void call_changed(const Call& call) override;
  void signal(const std::string& toUser, const std::string& toDevice, const Message& msg) override;
  void local_presence(const std::string& userId, const std::string& deviceId, bool online) override;
  bool user_online(const std::string& userId) const override;
  bool device_online(const std::string& userId, const std::string& deviceId) const override;

 private:
  // A device as the cluster keys it: "user\ndevice" (ids never hold a newline).
  using DeviceKey = std::string;
  struct Node {
    std::int64_t lastHeard = 0;
    std::unordered_set<DeviceKey> devices;
    // The number of its last presence message reflected in `devices` (a node first heard of
    // is taken to have sent none yet: a node's first message after its start is number 1).
    std::int64_t seq = 0;
    std::int64_t askedAt = 0;  // when its full list was last asked for (0: not outstanding)
  };
  using Changes = std::vector<std::pair<DeviceKey, bool>>;  // (device, now online somewhere else)

  void on_message(std::string_view subject, std::string_view payload);
  void on_bus_state(bool up);
  void loop();
  void beat();
  void send_full(const std::string& to);
  void ask_full(const std::string& from);
  // Under mu_: whether to ask `n` for its full list, its last number being `seq` (a gap).
  bool gap(Node& n, std::int64_t seq, std::int64_t now);
  // Under mu_: adds/removes a device of a node, recording a change of its remote presence.
  void add_device(Node& n, const DeviceKey& device, Changes& out);
  void remove_device(Node& n, const DeviceKey& device, Changes& out);
  void drop_node(const std::string& id, Changes& out);
  void report(const Changes& changes, std::int64_t when);

  Bus& bus_;
  Hub& hub_;
  std::string node_;
  ClusterOptions opts_;
  ChangeListener changed_;

  // Held while this node numbers and publishes a presence message, its heartbeat or its full
  // list, so that the numbers go out in order and a full list's number covers what it lists.
  std::mutex publish_mu_;
  std::int64_t seq_ = 0;  // the number of this node's last presence message
  std::atomic<std::uint64_t> asks_{0};

  mutable std::mutex mu_;
  std::unordered_map<std::string, Node> nodes_;
  // Devices and users → how many (node, device) pairs of the other nodes have sessions of them.
  std::unordered_map<DeviceKey, int> remote_devices_;
  std::unordered_map<std::string, int> remote_users_;

  std::mutex loop_mu_;
  std::condition_variable loop_cv_;
  bool stopping_ = false;
  std::thread thread_;
};

// A fresh random node id (16 hex digits).
std::string make_node_id();

}  // namespace dialtone
