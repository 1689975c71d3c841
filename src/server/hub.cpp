#include "server/hub.hpp"

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

void Hub::join(const std::shared_ptr<SessionSink>& s, Message hello) {
  bool first = false;
  {
    std::lock_guard lk(mu_);
    auto& list = sessions_[s->user_id()];
    first = list.empty();
    list.push_back(s);
    s->deliver(std::move(hello));
    if (auto it = active_by_user_.find(s->user_id()); it != active_by_user_.end())
      if (auto r = routes_.find(it->second); r != routes_.end())
        s->deliver(call_message(*r->second));
  }
  if (first && presence_) presence_(s->user_id(), true, now_ms());
}

void Hub::leave(const SessionSink* s) {
  bool last = false;
  std::string user;
  {
    std::lock_guard lk(mu_);
    auto it = sessions_.find(s->user_id());
    if (it == sessions_.end()) return;
    auto& list = it->second;
    auto pos = std::find_if(list.begin(), list.end(), [s](auto& p) { return p.get() == s; });
    if (pos == list.end()) return;
    list.erase(pos);
    if (list.empty()) {
      user = it->first;
      sessions_.erase(it);
      last = true;
    }
  }
  if (last && presence_) presence_(user, false, now_ms());
}

bool Hub::online(const std::string& userId) const {
  std::lock_guard lk(mu_);
  return sessions_.count(userId) != 0;
}

std::size_t Hub::session_count() const {
  std::lock_guard lk(mu_);
  std::size_t n = 0;
  for (auto& [u, list] : sessions_) n += list.size();
  return n;
}

void Hub::seed(const std::vector<Call>& active) {
  std::lock_guard lk(mu_);
  for (const auto& c : active) {
    routes_[c.callId] = std::make_shared<const Call>(c);
    active_by_user_[c.callerId] = c.callId;
    active_by_user_[c.receiverId] = c.callId;
  }
}

void Hub::publish(const Call& call, const std::shared_ptr<const std::string>& doc) {
  Message msg = doc ? call_message(*doc) : call_message(call);
  std::lock_guard lk(mu_);
  if (is_active(call.state)) {
    routes_[call.callId] = std::make_shared<const Call>(call);
    active_by_user_[call.callerId] = call.callId;
    active_by_user_[call.receiverId] = call.callId;
  } else {
    routes_.erase(call.callId);
    for (const auto* u : {&call.callerId, &call.receiverId})
      if (auto it = active_by_user_.find(*u);
          it != active_by_user_.end() && it->second == call.callId)
        active_by_user_.erase(it);
  }
  for (const auto* u : {&call.callerId, &call.receiverId})
    if (auto it = sessions_.find(*u); it != sessions_.end())
      for (auto& s : it->second) s->deliver(msg);
}

std::shared_ptr<const Call> Hub::route(const std::string& callId) const {
  std::lock_guard lk(mu_);
  auto it = routes_.find(callId);
  return it == routes_.end() ? nullptr : it->second;
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

void Hub::shutdown_all() {
  std::vector<std::shared_ptr<SessionSink>> all;
  {
    std::lock_guard lk(mu_);
    for (auto& [u, list] : sessions_) all.insert(all.end(), list.begin(), list.end());
  }
  for (auto& s : all) s->shutdown();
}

}  // namespace dialtone
