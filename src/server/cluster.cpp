// SPDX-License-Identifier: Apache-2.0
#include "server/cluster.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <random>

#include "core/time.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

// Subjects. One wildcard subscription keeps every message of a sender in the order it was sent.
// Presence messages are numbered per node (s: 1, 2, …); the heartbeat and the full list carry
// the number of the node's last one.
const std::string kAll = "dialtone.>";
const std::string kCall = "dialtone.call";          // a committed change: the stored document
const std::string kSignal = "dialtone.signal";      // {u: user, d: device, m: message}
const std::string kPresence = "dialtone.presence";  // {n, u: user, d: device, o: online, s}
const std::string kBeat = "dialtone.node";          // {n: node, s: last number, c: devices here}
const std::string kAsk = "dialtone.ask";            // {n: asker, to: node or ""}: list your devices
const std::string kFull = "dialtone.full";          // {n: node, s, d: [[user, device]…]}
const std::string kBye = "dialtone.bye";            // {n: node}: leaving

std::string text(const json::object& o, std::string_view key) {
  return std::string(o.at(key).as_string());
}

std::string key_of(std::string_view user, std::string_view device) {
  std::string k(user);
  k += '\n';
  k += device;
  return k;
}

std::string user_of(const std::string& key) {
  return key.substr(0, key.find('\n'));
}

}  // namespace

std::string make_node_id() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> d(0, 15);
  std::string id(16, '0');
  for (auto& c : id) c = "0123456789abcdef"[d(rd)];
  return id;
}

Cluster::Cluster(Bus& bus, Hub& hub, std::string nodeId, ClusterOptions opts)
    : bus_(bus), hub_(hub), node_(std::move(nodeId)), opts_(opts) {}

Cluster::~Cluster() {
  stop();
}

void Cluster::start() {
  bus_.on_state([this](bool up) { on_bus_state(up); });
  bus_.subscribe(kAll, [this](std::string_view s, std::string_view p) { on_message(s, p); });
  bus_.flush(3000);  // subscribed before anyone is asked: no answer can be missed
  ask_full("");
  beat();
  thread_ = std::thread([this] { loop(); });
  spdlog::info("CLUSTER_JOINED node={}", node_);
}

void Cluster::stop() {
  bool running = false;
  {
    std::lock_guard lk(loop_mu_);
    if (stopping_) return;
    stopping_ = true;
    running = thread_.joinable();
  }
  loop_cv_.notify_all();
  if (running) {
    thread_.join();
    bus_.publish(kBye, json::serialize(json::object{{"n", node_}}));
    try {
      bus_.flush(1000);
    } catch (const std::exception&) {
    }
  }
  bus_.close();  // no message reaches this object after this
}

std::size_t Cluster::peer_count() const {
  std::lock_guard lk(mu_);
  return nodes_.size();
}

void Cluster::call_changed(const Call& call) {
  bus_.publish(kCall, json::serialize(to_storage_json(call)));
}

void Cluster::signal(const std::string& toUser, const std::string& toDevice, const Message& msg) {
  bus_.publish(kSignal, json::serialize(json::object{{"u", toUser}, {"d", toDevice}, {"m", *msg}}));
}

void Cluster::local_presence(const std::string& userId, const std::string& deviceId, bool) {
  std::lock_guard lk(publish_mu_);
  // What the hub says now, not what the caller saw: a device's first session opening and its
  // last closing on two threads can reach here in either order, and the last message sent must
  // be the device's state (no other node would ever find out otherwise: nothing is missing).
  bool online = hub_.device_here(userId, deviceId);
  // Numbered even when the bus cannot take it: the others then see the gap and ask.
  bus_.publish(kPresence,
               json::serialize(json::object{
                   {"n", node_}, {"u", userId}, {"d", deviceId}, {"o", online}, {"s", ++seq_}}));
}

void Cluster::beat() {
  // "c" for nodes of an earlier version, which compare device counts instead of numbers.
  std::size_t devices = hub_.local_devices().size();
  std::lock_guard lk(publish_mu_);
  bus_.publish(kBeat, json::serialize(json::object{
                          {"n", node_}, {"s", seq_}, {"c", static_cast<std::int64_t>(devices)}}));
}

bool Cluster::gap(Node& n, std::int64_t seq, std::int64_t now) {
  if (seq == n.seq) return false;
  // A full list asked for and not yet here is not asked again before two heartbeats.
  if (n.askedAt != 0 && now - n.askedAt < 2 * opts_.heartbeatMs) return false;
  n.askedAt = now;
  return true;
}

bool Cluster::user_online(const std::string& userId) const {
  std::lock_guard lk(mu_);
  return remote_users_.count(userId) != 0;
}

bool Cluster::device_online(const std::string& userId, const std::string& deviceId) const {
  std::lock_guard lk(mu_);
  return remote_devices_.count(key_of(userId, deviceId)) != 0;
}

void Cluster::add_device(Node& n, const DeviceKey& device, Changes& out) {
  if (!n.devices.insert(device).second) return;
  ++remote_users_[user_of(device)];
  if (++remote_devices_[device] == 1) out.emplace_back(device, true);
}

void Cluster::remove_device(Node& n, const DeviceKey& device, Changes& out) {
  if (n.devices.erase(device) == 0) return;
  if (auto it = remote_users_.find(user_of(device)); it != remote_users_.end() && --it->second == 0)
    remote_users_.erase(it);
  if (auto it = remote_devices_.find(device); it != remote_devices_.end() && --it->second == 0) {
    remote_devices_.erase(it);
    out.emplace_back(device, false);
  }
}

void Cluster::drop_node(const std::string& id, Changes& out) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  std::vector<DeviceKey> devices(it->second.devices.begin(), it->second.devices.end());
  for (auto& d : devices) remove_device(it->second, d, out);
  nodes_.erase(it);
}

void Cluster::report(const Changes& changes, std::int64_t when) {
  for (auto& [key, online] : changes) {
    auto nl = key.find('\n');
    hub_.remote_presence(key.substr(0, nl), key.substr(nl + 1), online, when);
  }
}

void Cluster::on_message(std::string_view subject, std::string_view payload) {
  if (subject == kCall) {
    Call call = call_from_storage_json(json::parse(payload).as_object());
    hub_.remote_publish(call);
    if (changed_) changed_(call);
    return;
  }
  auto o = json::parse(payload).as_object();
  if (subject == kSignal) {
    hub_.remote_signal(text(o, "u"), text(o, "d"),
                       std::make_shared<const std::string>(text(o, "m")));
    return;
  }
  std::string from = text(o, "n");
  if (from == node_) return;
  std::int64_t now = now_ms();
  Changes changes;
  std::int64_t when = now;
  bool ask = false;
  bool answer = false;
  {
    std::lock_guard lk(mu_);
    if (subject == kBye) {
      drop_node(from, changes);
      spdlog::info("NODE_LEFT node={}", from);
    } else if (subject == kAsk) {
      auto to = text(o, "to");
      answer = to.empty() || to == node_;
    } else {
      bool known = nodes_.count(from) != 0;
      Node& n = nodes_[from];
      n.lastHeard = now;
      if (!known) spdlog::info("NODE_SEEN node={}", from);
      if (subject == kPresence) {
        DeviceKey device = key_of(text(o, "u"), text(o, "d"));
        if (o.at("o").as_bool())
          add_device(n, device, changes);
        else
          remove_device(n, device, changes);
        if (const auto* s = o.if_contains("s")) {
          // Applied either way (a device's presence is its latest message); one missing before
          // it means the list may be wrong elsewhere.
          std::int64_t seq = s->as_int64();
          ask = gap(n, seq - 1, now);
          n.seq = seq;
        }
      } else if (subject == kFull) {
        if (const auto* s = o.if_contains("s")) {
          // It lists at least everything up to its number, and arrives after those messages.
          n.seq = s->as_int64();
          n.askedAt = 0;
        }
        std::unordered_set<DeviceKey> now_there;
        for (auto& d : o.at("d").as_array()) {
          const auto& pair = d.as_array();
          now_there.insert(key_of(pair.at(0).as_string(), pair.at(1).as_string()));
        }
        for (auto it = n.devices.begin(); it != n.devices.end();) {
          const DeviceKey device = *it++;
          if (!now_there.count(device)) remove_device(n, device, changes);
        }
        for (auto& d : now_there) add_device(n, d, changes);
      } else if (subject == kBeat) {
        // Its last presence message is not the last one seen here (lost, or a node not heard
        // from since its start): ask it. Its messages before the beat arrived before it.
        if (const auto* s = o.if_contains("s"))
          ask = gap(n, s->as_int64(), now);
        else  // a node of an earlier version
          ask = static_cast<std::int64_t>(n.devices.size()) != o.at("c").as_int64();
      }
    }
  }
  report(changes, when);
  if (ask) ask_full(from);
  if (answer) send_full(from);
}

void Cluster::send_full(const std::string&) {
  // Numbered first, listed second, under the lock: every message up to the number is reflected
  // (its session change came before it was numbered); a change listed that is not numbered yet
  // follows with a later number, and applying it again changes nothing.
  std::lock_guard lk(publish_mu_);
  std::int64_t seq = seq_;
  json::array devices;
  for (auto& [u, d] : hub_.local_devices())
    devices.push_back(json::array{json::string(u), json::string(d)});
  bus_.publish(kFull,
               json::serialize(json::object{{"n", node_}, {"s", seq}, {"d", std::move(devices)}}));
}

void Cluster::ask_full(const std::string& from) {
  asks_++;
  bus_.publish(kAsk, json::serialize(json::object{{"n", node_}, {"to", from}}));
}

void Cluster::on_bus_state(bool up) {
  if (!up) return;
  // Back on the bus: whatever was missed meanwhile is asked for again; nobody is declared dead
  // for the time this node could not hear them.
  {
    std::lock_guard lk(mu_);
    for (auto& [id, n] : nodes_) n.lastHeard = now_ms();
  }
  send_full("");
  ask_full("");
}

void Cluster::loop() {
  std::unique_lock lk(loop_mu_);
  while (!stopping_) {
    loop_cv_.wait_for(lk, std::chrono::milliseconds(opts_.heartbeatMs));
    if (stopping_) break;
    beat();
    if (!bus_.connected()) continue;  // we cannot hear anyone: not their fault
    std::int64_t now = now_ms();
    Changes changes;
    std::int64_t when = now;
    {
      std::lock_guard g(mu_);
      std::vector<std::string> dead;
      for (auto& [id, n] : nodes_)
        if (now - n.lastHeard > opts_.deadAfterMs) dead.push_back(id);
      for (auto& id : dead) {
        when = std::min(when, nodes_[id].lastHeard);
        spdlog::warn("NODE_LOST node={} devices={} silentMs={}", id, nodes_[id].devices.size(),
                     now - nodes_[id].lastHeard);
        drop_node(id, changes);
      }
    }
    report(changes, when);
  }
}

}  // namespace dialtone
