#include "sdk/snapshot.hpp"

#include <algorithm>

#include "core/call.hpp"
#include "core/errors.hpp"

namespace dialtone::sdk {

namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}
std::optional<std::string> opt_str(const json::object& o, std::string_view k) {
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

std::optional<CallSnapshot> parse_snapshot(const json::object& o) {
  CallSnapshot c;
  c.callId = str(o, "callId");
  auto state = parse_state(str(o, "state"));
  auto version = opt_int(o, "version");
  if (c.callId.empty() || !state || !version) return std::nullopt;
  c.state = *state;
  c.version = *version;
  c.callerId = str(o, "callerId");
  c.callerName = str(o, "callerName");
  c.callerPhoto = str(o, "callerPhoto");
  c.receiverId = str(o, "receiverId");
  c.receiverName = str(o, "receiverName");
  c.receiverPhoto = str(o, "receiverPhoto");
  c.timestamp = opt_time(o, "timestamp").value_or(0);
  c.callerReady = flag(o, "callerReady");
  c.receiverReady = flag(o, "receiverReady");
  c.connectedAt = opt_time(o, "connectedAt");
  c.durationSeconds = opt_int(o, "durationSeconds");
  c.lastUpdated = opt_time(o, "lastUpdated").value_or(0);
  c.ringDeadline = opt_time(o, "ringDeadline").value_or(0);
  c.reason = opt_str(o, "reason");
  c.answeredBy = opt_str(o, "answeredBy");
  c.ringingDevices = static_cast<int>(opt_int(o, "ringingDevices").value_or(0));
  if (auto* md = o.if_contains("metadata"); md && md->is_object()) {
    c.callerMuted = flag(md->get_object(), "callerMuted");
    c.receiverMuted = flag(md->get_object(), "receiverMuted");
  }
  return c;
}

std::pair<ErrorCode, std::string> parse_error(const json::object& body) {
  std::pair<ErrorCode, std::string> out{ErrorCode::internal, ""};
  auto* err = body.if_contains("error");
  if (!err || !err->is_object()) return out;
  if (auto* c = err->get_object().if_contains("code"); c && c->is_string())
    out.first = parse_error_name(c->get_string()).value_or(ErrorCode::internal);
  out.second = str(err->get_object(), "message");
  return out;
}

void ClockOffset::add(TimeMs sentAt, TimeMs receivedAt, TimeMs serverTime) {
  if (receivedAt < sentAt) return;
  samples_.push_back({receivedAt - sentAt, serverTime - (sentAt + receivedAt) / 2});
  if (samples_.size() > 16) samples_.pop_front();
  best_ = std::min_element(samples_.begin(), samples_.end(), [](auto& a, auto& b) {
            return a.rtt < b.rtt;
          })->offset;
}

}  // namespace dialtone::sdk
