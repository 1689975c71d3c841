// SPDX-License-Identifier: Apache-2.0
#include "server/hub.hpp"

#include "core/time.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace dialtone {

namespace json = boost::json;

Message call_message(std::string_view doc) {
  std::string m;
  m.reserve(doc.size() + 24);
  m += R"({"type":"call","call":)";
  m += doc;
  m += '}';
  return std::make_shared<const std::string>(std::move(m));
}

Message call_message(const Call& call) {
  return call_message(to_public_string(call));
}

bool Hub::device_here_locked(const std::string& userId, const std::string& deviceId) const {
  auto it = sessions_.find(userId);
  if (it == sessions_.end()) return false;
  return std::any_of(it->second.begin(), it->second.end(),
                     [&](auto& s) { return s->device_id() == deviceId; });
}

void Hub::join(const std::shared_ptr<SessionSink>& s, Message hello) {
  bool first = false;  // of this device
  {
    std::lock_guard lk(mu_);
    first = !device_here_locked(s->user_id(), s->device_id());
    sessions_[s->user_id()].push_back(s);
    s->deliver(std::move(hello));
    if (auto it = active_by_user_.find(s->user_id()); it != active_by_user_.end())
      if (auto r = routes_.find(it->second); r != routes_.end())
        s->deliver(call_message(*r->second));
    announce_locked(s->user_id());
  }
  if (!first) return;
  if (peers_) peers_->local_presence(s->user_id(), s->device_id(), true);
  if (presence_) presence_(s->user_id(), s->device_id(), true, now_ms());
}

void Hub::leave(const SessionSink* s) {
  {
    std::lock_guard lk(mu_);
    auto it = sessions_.find(s->user_id());
    if (it == sessions_.end()) return;
    auto& list = it->second;
    auto pos = std::find_if(list.begin(), list.end(), [s](auto& p) { return p.get() == s; });
    if (pos == list.end()) return;
    list.erase(pos);
    if (list.empty()) sessions_.erase(it);
    unwatch_locked(s);
    announce_locked(s->user_id());
    if (device_here_locked(s->user_id(), s->device_id())) return;  // another session of it
  }
  const std::string& user = s->user_id();
  const std::string& device = s->device_id();
  if (peers_) peers_->local_presence(user, device, false);
  // Gone from here; gone altogether only if no other node has a session of the device.
  if (presence_ && !(peers_ && peers_->device_online(user, device)))
    presence_(user, device, false, now_ms());
}

bool Hub::online_here(const std::string& userId) const {
  std::lock_guard lk(mu_);
  return sessions_.count(userId) != 0;
}

bool Hub::device_here(const std::string& userId, const std::string& deviceId) const {
  std::lock_guard lk(mu_);
  return device_here_locked(userId, deviceId);
}

bool Hub::user_online(const std::string& userId) const {
  return online_here(userId) || (peers_ && peers_->user_online(userId));
}

bool Hub::device_online(const std::string& userId, const std::string& deviceId) const {
  return device_here(userId, deviceId) || (peers_ && peers_->device_online(userId, deviceId));
}

std::size_t Hub::session_count() const {
  std::lock_guard lk(mu_);
  std::size_t n = 0;
  for (auto& [u, list] : sessions_) n += list.size();
  return n;
}

std::vector<std::pair<std::string, std::string>> Hub::local_devices() const {
  std::lock_guard lk(mu_);
  std::vector<std::pair<std::string, std::string>> out;
  for (auto& [u, list] : sessions_) {
    std::size_t first = out.size();  // this user's devices so far (a user has few sessions)
    for (auto& s : list)
      if (std::none_of(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(),
                       [&](auto& p) { return p.second == s->device_id(); }))
        out.emplace_back(u, s->device_id());
  }
  return out;
}

void Hub::seed(const std::vector<Call>& active) {
  std::lock_guard lk(mu_);
  for (const auto& c : active) {
    routes_[c.callId] = std::make_shared<const Call>(c);
    active_by_user_[c.callerId] = c.callId;
    active_by_user_[c.receiverId] = c.callId;
  }
}

bool Hub::deliver(const std::shared_ptr<const Call>& call, const Message& msg) {
  std::optional<SignalCounts> counts;
  {
    std::lock_guard lk(mu_);
    if (!deliver_locked(call, msg, counts)) return false;
  }
  if (counts && signals_listener_) signals_listener_(*call, *counts);
  return true;
}

bool Hub::deliver_locked(const std::shared_ptr<const Call>& shared, const Message& msg,
                         std::optional<SignalCounts>& counts) {
  const Call& call = *shared;
  if (ended_.count(call.callId)) return false;  // a late copy of a call already over
  if (auto r = routes_.find(call.callId); r != routes_.end() && r->second->version >= call.version)
    return false;  // a newer (or the same) version already went out
  if (is_active(call.state)) {
    routes_[call.callId] = shared;
    active_by_user_[call.callerId] = call.callId;
    active_by_user_[call.receiverId] = call.callId;
  } else {
    routes_.erase(call.callId);
    for (const auto* u : {&call.callerId, &call.receiverId})
      if (auto it = active_by_user_.find(*u);
          it != active_by_user_.end() && it->second == call.callId)
        active_by_user_.erase(it);
    // Remember it a while, oldest first out: a late snapshot from another node comes within
    // moments. (Amortized O(1): an earlier version scanned every tombstone on each end, which
    // the soak showed slowing the server down as calls piled up.)
    TimeMs now = now_ms();
    while (!endedOrder_.empty() &&
           (endedOrder_.front().first < now - kEndedForMs || endedOrder_.size() >= kEndedMax)) {
      ended_.erase(endedOrder_.front().second);
      endedOrder_.pop_front();
    }
    if (ended_.insert(call.callId).second) endedOrder_.emplace_back(now, call.callId);
    if (auto it = signal_counts_.find(call.callId); it != signal_counts_.end()) {
      counts = it->second;
      signal_counts_.erase(it);
    }
  }
  for (const auto* u : {&call.callerId, &call.receiverId})
    if (auto it = sessions_.find(*u); it != sessions_.end())
      for (auto& s : it->second) s->deliver(msg);
  announce_locked(call.callerId);
  announce_locked(call.receiverId);
  return true;
}

void Hub::publish(const std::shared_ptr<const Call>& call,
                  const std::shared_ptr<const std::string>& doc) {
  deliver(call, doc ? call_message(*doc) : call_message(*call));
  if (peers_) peers_->call_changed(*call);
}

void Hub::remote_publish(const Call& call) {
  deliver(std::make_shared<const Call>(call), call_message(call));
}

std::shared_ptr<const Call> Hub::route(const std::string& callId) const {
  std::lock_guard lk(mu_);
  auto it = routes_.find(callId);
  return it == routes_.end() ? nullptr : it->second;
}

std::size_t Hub::deliver_signal(const std::string& toUser, const std::string& toDevice,
                                const Message& msg) {
  std::size_t n = 0;
  std::lock_guard lk(mu_);
  if (auto it = sessions_.find(toUser); it != sessions_.end())
    for (auto& s : it->second)
      if (s->device_id() == toDevice) {
        s->deliver(msg);
        ++n;
      }
  return n;
}

std::size_t Hub::relay_signal(const Call& call, const std::string& fromUser,
                              const json::value& data) {
  bool fromCaller = fromUser == call.callerId;
  const std::string& toUser = fromCaller ? call.receiverId : call.callerId;
  const std::string toDevice = fromCaller ? call.answeredBy.value_or("") : call.callerDeviceId;
  json::object o;
  o["type"] = "signal";
  o["callId"] = call.callId;
  o["from"] = fromUser;
  o["data"] = data;
  Message msg = std::make_shared<const std::string>(json::serialize(o));
  if (const auto* d = data.if_object()) {
    if (const auto* t = d->if_contains("type"); t && t->is_string()) {
      for (std::size_t i = 0; i < kSignalTypes.size(); ++i) {
        if (t->get_string() != kSignalTypes[i]) continue;
        std::lock_guard lk(mu_);
        if (routes_.count(call.callId)) {
          auto& c = signal_counts_[call.callId];
          (fromCaller ? c.caller : c.receiver)[i]++;
        }
      }
    }
  }
  std::size_t n = deliver_signal(toUser, toDevice, msg);
  // The device may be on another node (or on both, for a moment, while it fails over).
  if (peers_) peers_->signal(toUser, toDevice, msg);
  return n;
}

std::size_t Hub::remote_signal(const std::string& toUser, const std::string& toDevice,
                               const Message& msg) {
  return deliver_signal(toUser, toDevice, msg);
}

void Hub::remote_presence(const std::string& userId, const std::string& deviceId, bool online,
                          std::int64_t when) {
  {
    std::lock_guard lk(mu_);
    announce_locked(userId);
  }
  // Here, the device's presence did not change.
  if (!presence_ || device_here(userId, deviceId)) return;
  if (online || !(peers_ && peers_->device_online(userId, deviceId)))
    presence_(userId, deviceId, online, when);
}

// ---- presence watches -----------------------------------------------------------------------

std::string_view user_status_name(UserStatus s) {
  switch (s) {
    case UserStatus::offline:
      return "offline";
    case UserStatus::online:
      return "online";
    case UserStatus::in_call:
      return "in_call";
  }
  return "offline";
}

namespace {

// {"type":"presence","users":[{"userId","status"}…],"serverTime"}
Message presence_message(const std::vector<std::pair<std::string, UserStatus>>& users) {
  json::array list;
  for (const auto& [u, st] : users)
    list.push_back(json::object{{"userId", u}, {"status", user_status_name(st)}});
  return std::make_shared<const std::string>(json::serialize(json::object{
      {"type", "presence"}, {"users", std::move(list)}, {"serverTime", format_iso(now_ms())}}));
}

}  // namespace

bool Hub::user_in_call(const std::string& userId) const {
  std::lock_guard lk(mu_);
  return active_by_user_.count(userId) != 0;
}

UserStatus Hub::status_locked(const std::string& userId) const {
  if (active_by_user_.count(userId)) return UserStatus::in_call;
  // (The other nodes' view has a lock of its own; none of its code takes this one under it.)
  if (sessions_.count(userId) || (peers_ && peers_->user_online(userId))) return UserStatus::online;
  return UserStatus::offline;
}

void Hub::announce_locked(const std::string& userId) {
  auto w = watchers_.find(userId);
  if (w == watchers_.end()) return;
  UserStatus now = status_locked(userId);
  auto [told, first] = told_.try_emplace(userId, now);
  if (!first && told->second == now) return;
  told->second = now;
  Message m = presence_message({{userId, now}});
  for (auto& s : w->second) s->deliver(m);
}

void Hub::unwatch_locked(const SessionSink* s) {
  auto it = watching_.find(s);
  if (it == watching_.end()) return;
  for (const auto& u : it->second) {
    auto w = watchers_.find(u);
    if (w == watchers_.end()) continue;
    std::erase_if(w->second, [s](const auto& p) { return p.get() == s; });
    if (w->second.empty()) {
      watchers_.erase(w);
      told_.erase(u);
    }
  }
  watching_.erase(it);
}

void Hub::watch(const std::shared_ptr<SessionSink>& s, const std::vector<std::string>& userIds) {
  std::lock_guard lk(mu_);
  auto it = sessions_.find(s->user_id());
  if (it == sessions_.end() ||
      std::find(it->second.begin(), it->second.end(), s) == it->second.end())
    return;  // it has left (or never joined): nothing may hold on to it
  unwatch_locked(s.get());
  std::vector<std::pair<std::string, UserStatus>> now;
  for (const auto& u : userIds) {
    announce_locked(u);  // those who watch already are up to date before this one joins them
    watchers_[u].push_back(s);
    UserStatus st = told_.try_emplace(u, status_locked(u)).first->second;
    now.emplace_back(u, st);
  }
  if (!userIds.empty()) watching_[s.get()] = userIds;
  s->deliver(presence_message(now));
}

void Hub::shutdown_all() {
  std::vector<std::shared_ptr<SessionSink>> all;
  {
    std::lock_guard lk(mu_);
    for (auto& [u, list] : sessions_) all.insert(all.end(), list.begin(), list.end());
  }
  for (auto& s : all) s->shutdown();
}

}  // namespace dialtone
