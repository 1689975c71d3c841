// SPDX-License-Identifier: Apache-2.0
#include "core/call.hpp"

#include <boost/json.hpp>

#include "util/json_text.hpp"

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
std::string text(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
std::optional<std::string> opt_text(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string(v->get_string());
}
std::optional<TimeMs> opt_time(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_string()) return std::nullopt;
  return parse_iso(v->get_string());
}
bool flag(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_bool() && v->get_bool();
}
std::optional<std::int64_t> opt_int(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  if (!v || !v->is_int64()) return std::nullopt;
  return v->get_int64();
}
}  // namespace

json::object to_public_json(const CallSnapshot& c) {
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
  o["ringingDevices"] = static_cast<std::int64_t>(c.ringingDevices);
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
  json::array trail;
  for (const Step& s : c.trail)
    trail.push_back(json::array{state_name(s.state), s.at, s.by, s.device, s.event});
  o["_trail"] = std::move(trail);
  return o;
}
}  // namespace

json::object to_storage_json(const Call& c) {
  json::object o = to_public_json(c);
  for (auto& [k, v] : server_fields(c)) o[k] = v;
  return o;
}

// Written directly rather than through to_public_json (the same keys in the same order, the
// same text as json::serialize: core/call_test.cpp compares them): this runs on every
// transition.
std::string to_public_string(const CallSnapshot& c) {
  using namespace json_text;
  std::string o;
  o.reserve(700 + c.callerName.size() + c.receiverName.size() + c.callerPhoto.size() +
            c.receiverPhoto.size());
  auto key = [&o](std::string_view k) {
    o += o.empty() ? "{\"" : ",\"";
    o += k;
    o += "\":";
  };
  auto time = [&](std::string_view k, TimeMs t) {
    key(k);
    append_string(o, format_iso(t));
  };
  auto opt_time = [&](std::string_view k, const std::optional<TimeMs>& t) {
    if (t)
      time(k, *t);
    else
      (key(k), o += "null");
  };
  key("callId"), append_string(o, c.callId);
  key("callerId"), append_string(o, c.callerId);
  key("callerName"), append_string(o, c.callerName);
  key("callerPhoto"), append_string(o, c.callerPhoto);
  key("receiverId"), append_string(o, c.receiverId);
  key("receiverName"), append_string(o, c.receiverName);
  key("receiverPhoto"), append_string(o, c.receiverPhoto);
  key("type"), o += "\"audio\"";
  time("timestamp", c.timestamp);
  key("channelName"), append_string(o, c.callId);
  key("state"), append_string(o, state_name(c.state));
  key("callerReady"), append_bool(o, c.callerReady);
  key("receiverReady"), append_bool(o, c.receiverReady);
  opt_time("connectedAt", c.connectedAt);
  opt_time("callStartedAt", c.connectedAt);
  key("durationSeconds");
  if (c.durationSeconds)
    append_int(o, *c.durationSeconds);
  else
    o += "null";
  time("lastUpdated", c.lastUpdated);
  time("ringDeadline", c.ringDeadline);
  key("reason"), append_optional(o, c.reason);
  key("answeredBy"), append_optional(o, c.answeredBy);
  key("ringingDevices"), append_int(o, c.ringingDevices);
  if (c.delivery) {
    key("delivery"), o += "{\"pushTargets\":";
    append_int(o, c.delivery->targets);
    o += ",\"pushSent\":";
    append_int(o, c.delivery->sent);
    o += ",\"pushFailed\":";
    append_int(o, c.delivery->failed);
    o += '}';
  }
  key("metadata"), o += "{\"callerMuted\":";
  append_bool(o, c.callerMuted);
  o += ",\"receiverMuted\":";
  append_bool(o, c.receiverMuted);
  o += '}';
  key("version"), append_int(o, c.version);
  o += '}';
  return o;
}

std::string to_storage_string(const Call& c, std::string_view publicDoc) {
  using namespace json_text;
  std::string o;
  o.reserve(publicDoc.size() + 128 + 96 * c.trail.size());
  o.append(publicDoc.substr(0, publicDoc.size() - 1));  // the public document, unclosed
  o += ",\"_callerDeviceId\":";
  append_string(o, c.callerDeviceId);
  o += ",\"_ringingDeviceIds\":[";
  for (std::size_t i = 0; i < c.ringingDeviceIds.size(); ++i) {
    if (i) o += ',';
    append_string(o, c.ringingDeviceIds[i]);
  }
  o += "],\"_acceptedAt\":";
  if (c.acceptedAt)
    append_string(o, format_iso(*c.acceptedAt));
  else
    o += "null";
  o += ",\"_terminatedBy\":";
  append_optional(o, c.terminatedBy);
  o += ",\"_trail\":[";
  for (std::size_t i = 0; i < c.trail.size(); ++i) {
    const Step& s = c.trail[i];
    o += i ? ",[" : "[";
    append_string(o, state_name(s.state));
    o += ',';
    append_int(o, s.at);
    o += ',';
    append_string(o, s.by);
    o += ',';
    append_string(o, s.device);
    o += ',';
    append_string(o, s.event);
    o += ']';
  }
  o += "]}";
  return o;
}

std::optional<CallSnapshot> parse_public_json(const json::object& o) {
  CallSnapshot c;
  c.callId = text(o, "callId");
  auto state = parse_state(text(o, "state"));
  auto version = opt_int(o, "version");
  if (c.callId.empty() || !state || !version) return std::nullopt;
  c.state = *state;
  c.version = *version;
  c.callerId = text(o, "callerId");
  c.callerName = text(o, "callerName");
  c.callerPhoto = text(o, "callerPhoto");
  c.receiverId = text(o, "receiverId");
  c.receiverName = text(o, "receiverName");
  c.receiverPhoto = text(o, "receiverPhoto");
  c.timestamp = opt_time(o, "timestamp").value_or(0);
  c.callerReady = flag(o, "callerReady");
  c.receiverReady = flag(o, "receiverReady");
  c.connectedAt = opt_time(o, "connectedAt");
  c.durationSeconds = opt_int(o, "durationSeconds");
  c.lastUpdated = opt_time(o, "lastUpdated").value_or(0);
  c.ringDeadline = opt_time(o, "ringDeadline").value_or(0);
  c.reason = opt_text(o, "reason");
  c.answeredBy = opt_text(o, "answeredBy");
  c.ringingDevices = static_cast<int>(opt_int(o, "ringingDevices").value_or(0));
  if (auto* md = o.if_contains("metadata"); md && md->is_object()) {
    c.callerMuted = flag(md->get_object(), "callerMuted");
    c.receiverMuted = flag(md->get_object(), "receiverMuted");
  }
  if (auto* d = o.if_contains("delivery"); d && d->is_object()) {
    const auto& dd = d->get_object();
    c.delivery =
        PushDelivery{opt_int(dd, "pushTargets").value_or(0), opt_int(dd, "pushSent").value_or(0),
                     opt_int(dd, "pushFailed").value_or(0)};
  }
  return c;
}

Call call_from_storage_json(const json::object& o) {
  auto doc = parse_public_json(o);
  if (!doc) throw std::runtime_error("stored call without id, state or version");
  Call c;
  static_cast<CallSnapshot&>(c) = std::move(*doc);
  c.callerDeviceId = text(o, "_callerDeviceId");
  if (auto* d = o.if_contains("_ringingDeviceIds"); d && d->is_array())
    for (auto& id : d->get_array())
      if (id.is_string()) c.ringingDeviceIds.emplace_back(id.get_string());
  c.ringingDevices = static_cast<int>(c.ringingDeviceIds.size());
  c.acceptedAt = opt_time(o, "_acceptedAt");
  c.terminatedBy = opt_text(o, "_terminatedBy");
  if (auto* t = o.if_contains("_trail"); t && t->is_array()) {
    for (auto& e : t->get_array()) {
      const auto* a = e.if_array();
      if (!a || a->size() != 5 || !(*a)[0].is_string() || !(*a)[1].is_int64()) continue;
      auto st = parse_state((*a)[0].get_string());
      if (!st) continue;
      auto str = [&](std::size_t i) {
        return (*a)[i].is_string() ? std::string((*a)[i].get_string()) : std::string();
      };
      c.trail.push_back(Step{*st, (*a)[1].get_int64(), str(2), str(3), str(4)});
    }
  }
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
