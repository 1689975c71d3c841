#include "core/call.hpp"

#include <boost/json.hpp>

namespace dialtone {

namespace json = boost::json;

std::string_view state_name(CallState s) {
  switch (s) {
    case CallState::calling:
      return "calling";
    case CallState::ringing:
      return "ringing";
    case CallState::accepted:
      return "accepted";
    case CallState::connecting:
      return "connecting";
    case CallState::connected:
      return "connected";
    case CallState::ended:
      return "ended";
    case CallState::rejected:
      return "rejected";
    case CallState::timeout:
      return "timeout";
    case CallState::busy:
      return "busy";
    case CallState::failed:
      return "failed";
  }
  return "failed";
}

std::optional<CallState> parse_state(std::string_view s) {
  for (auto st : {CallState::calling, CallState::ringing, CallState::accepted,
                  CallState::connecting, CallState::connected, CallState::ended,
                  CallState::rejected, CallState::timeout, CallState::busy, CallState::failed})
    if (state_name(st) == s) return st;
  return std::nullopt;
}

bool is_active(CallState s) {
  switch (s) {
    case CallState::calling:
    case CallState::ringing:
    case CallState::accepted:
    case CallState::connecting:
    case CallState::connected:
      return true;
    case CallState::ended:
    case CallState::rejected:
    case CallState::timeout:
    case CallState::busy:
    case CallState::failed:
      return false;
  }
  return false;
}

bool is_unanswered(CallState s) {
  switch (s) {
    case CallState::calling:
    case CallState::ringing:
      return true;
    case CallState::accepted:
    case CallState::connecting:
    case CallState::connected:
    case CallState::ended:
    case CallState::rejected:
    case CallState::timeout:
    case CallState::busy:
    case CallState::failed:
      return false;
  }
  return false;
}

std::optional<TimeMs> Call::next_deadline(TimeMs mediaTimeoutMs) const {
  switch (state) {
    case CallState::calling:
    case CallState::ringing:
      return ringDeadline;
    case CallState::accepted:
    case CallState::connecting:
      return acceptedAt ? std::optional<TimeMs>(*acceptedAt + mediaTimeoutMs) : std::nullopt;
    case CallState::connected:
    case CallState::ended:
    case CallState::rejected:
    case CallState::timeout:
    case CallState::busy:
    case CallState::failed:
      return std::nullopt;
  }
  return std::nullopt;
}

namespace {
json::value opt_time(const std::optional<TimeMs>& t) {
  return t ? json::value(format_iso(*t)) : json::value(nullptr);
}
json::value opt_str(const std::optional<std::string>& s) {
  return s ? json::value(*s) : json::value(nullptr);
}
std::optional<std::string> get_opt_str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || v->is_null()) return std::nullopt;
  return std::string(v->as_string());
}
std::optional<TimeMs> get_opt_time(const json::object& o, std::string_view k) {
  auto s = get_opt_str(o, k);
  if (!s) return std::nullopt;
  auto t = parse_iso(*s);
  if (!t) throw std::runtime_error("bad time in stored call");
  return t;
}
TimeMs get_time(const json::object& o, std::string_view k) {
  auto t = get_opt_time(o, k);
  if (!t) throw std::runtime_error("missing time in stored call");
  return *t;
}
std::string get_str(const json::object& o, std::string_view k) {
  return std::string(o.at(k).as_string());
}
}  // namespace

json::object to_public_json(const Call& c) {
  json::object o;
  o.reserve(24);
  o["callId"] = c.callId;
  o["callerId"] = c.callerId;
  o["callerName"] = c.callerName;
  o["callerPhoto"] = c.callerPhoto;
  o["receiverId"] = c.receiverId;
  o["receiverName"] = c.receiverName;
  o["receiverPhoto"] = c.receiverPhoto;
  o["type"] = "audio";
  o["timestamp"] = format_iso(c.timestamp);
  o["channelName"] = c.callId;
  o["state"] = state_name(c.state);
  o["callerReady"] = c.callerReady;
  o["receiverReady"] = c.receiverReady;
  o["connectedAt"] = opt_time(c.connectedAt);
  o["callStartedAt"] = opt_time(c.connectedAt);
  o["durationSeconds"] = c.durationSeconds ? json::value(*c.durationSeconds) : json::value(nullptr);
  o["lastUpdated"] = format_iso(c.lastUpdated);
  o["ringDeadline"] = format_iso(c.ringDeadline);
  o["reason"] = opt_str(c.reason);
  o["answeredBy"] = opt_str(c.answeredBy);
  o["ringingDevices"] = static_cast<std::int64_t>(c.ringingDeviceIds.size());
  if (c.delivery)
    o["delivery"] = json::object{{"pushTargets", c.delivery->targets},
                                 {"pushSent", c.delivery->sent},
                                 {"pushFailed", c.delivery->failed}};
  o["metadata"] = json::object{{"callerMuted", c.callerMuted}, {"receiverMuted", c.receiverMuted}};
  o["version"] = c.version;
  return o;
}

namespace {
json::object server_fields(const Call& c) {
  json::object o;
  o["_callerDeviceId"] = c.callerDeviceId;
  json::array devs;
  for (auto& d : c.ringingDeviceIds) devs.emplace_back(d);
  o["_ringingDeviceIds"] = std::move(devs);
  o["_acceptedAt"] = opt_time(c.acceptedAt);
  o["_terminatedBy"] = opt_str(c.terminatedBy);
  return o;
}
}  // namespace

json::object to_storage_json(const Call& c) {
  json::object o = to_public_json(c);
  for (auto& [k, v] : server_fields(c)) o[k] = v;
  return o;
}

std::string to_public_string(const Call& c) {
  return json::serialize(to_public_json(c));
}

std::string to_storage_string(const Call& c, std::string_view publicDoc) {
  std::string extra = json::serialize(server_fields(c));  // "{...}"
  std::string out;
  out.reserve(publicDoc.size() + extra.size());
  out.append(publicDoc.substr(0, publicDoc.size() - 1));  // drop the closing brace
  out += ',';
  out.append(extra, 1);
  return out;
}

Call call_from_storage_json(const json::object& o) {
  Call c;
  c.callId = get_str(o, "callId");
  c.callerId = get_str(o, "callerId");
  c.callerName = get_str(o, "callerName");
  c.callerPhoto = get_str(o, "callerPhoto");
  c.receiverId = get_str(o, "receiverId");
  c.receiverName = get_str(o, "receiverName");
  c.receiverPhoto = get_str(o, "receiverPhoto");
  c.timestamp = get_time(o, "timestamp");
  auto st = parse_state(o.at("state").as_string());
  if (!st) throw std::runtime_error("bad state in stored call");
  c.state = *st;
  c.callerReady = o.at("callerReady").as_bool();
  c.receiverReady = o.at("receiverReady").as_bool();
  c.connectedAt = get_opt_time(o, "connectedAt");
  if (auto* d = o.if_contains("durationSeconds"); d && !d->is_null())
    c.durationSeconds = d->as_int64();
  c.lastUpdated = get_time(o, "lastUpdated");
  c.ringDeadline = get_time(o, "ringDeadline");
  c.reason = get_opt_str(o, "reason");
  c.answeredBy = get_opt_str(o, "answeredBy");
  const auto& md = o.at("metadata").as_object();
  c.callerMuted = md.at("callerMuted").as_bool();
  c.receiverMuted = md.at("receiverMuted").as_bool();
  c.version = o.at("version").as_int64();
  if (auto* d = o.if_contains("delivery"); d && d->is_object())
    c.delivery = PushDelivery{d->at("pushTargets").as_int64(), d->at("pushSent").as_int64(),
                              d->at("pushFailed").as_int64()};
  c.callerDeviceId = get_str(o, "_callerDeviceId");
  for (auto& d : o.at("_ringingDeviceIds").as_array())
    c.ringingDeviceIds.emplace_back(d.as_string());
  c.acceptedAt = get_opt_time(o, "_acceptedAt");
  c.terminatedBy = get_opt_str(o, "_terminatedBy");
  return c;
}

std::string_view direction_name(Direction d) {
  switch (d) {
    case Direction::dialed:
      return "dialed";
    case Direction::received:
      return "received";
    case Direction::missed:
      return "missed";
    case Direction::declined:
      return "declined";
  }
  return "missed";
}

Direction direction_for(const Call& c, std::string_view userId) {
  if (userId == c.callerId) return Direction::dialed;
  if (c.answeredBy) return Direction::received;
  if (c.state == CallState::rejected) return Direction::declined;
  return Direction::missed;
}

}  // namespace dialtone
