// SPDX-License-Identifier: Apache-2.0
#include "core/request.hpp"

#include <boost/json.hpp>

#include <unordered_set>

#include "core/errors.hpp"
#include "core/timeline.hpp"

namespace dialtone {

namespace json = boost::json;

std::string_view op_name(Op op) {
  switch (op) {
    case Op::create:
      return "create";
    case Op::ringing:
      return "ringing";
    case Op::accept:
      return "accept";
    case Op::reject:
      return "reject";
    case Op::ready:
      return "ready";
    case Op::end:
      return "end";
    case Op::fail:
      return "fail";
    case Op::mute:
      return "mute";
    case Op::signal:
      return "signal";
    case Op::auth:
      return "auth";
    case Op::report:
      return "report";
    case Op::watch:
      return "watch";
  }
  return "unknown";
}

std::optional<Op> parse_op(std::string_view name) {
  for (Op op : {Op::create, Op::ringing, Op::accept, Op::reject, Op::ready, Op::end, Op::fail,
                Op::mute, Op::signal, Op::auth, Op::report, Op::watch})
    if (op_name(op) == name) return op;
  return std::nullopt;
}

Event op_event(Op op) {
  switch (op) {
    case Op::ringing:
      return Event::ringing;
    case Op::accept:
      return Event::accept;
    case Op::reject:
      return Event::reject;
    case Op::ready:
      return Event::ready;
    case Op::end:
      return Event::end;
    case Op::fail:
      return Event::fail;
    case Op::mute:
      return Event::mute;
    case Op::signal:
      return Event::signal;
    case Op::create:
    case Op::auth:
    case Op::report:
    case Op::watch:
      break;
  }
  throw Error(ErrorCode::internal, "create, auth, report and watch have no event");
}

bool valid_id(std::string_view s) {
  if (s.empty() || s.size() > kMaxIdLength) return false;
  for (char ch : s) {
    bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
              ch == '.' || ch == '_' || ch == ':' || ch == '@' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

namespace {

[[noreturn]] void bad(std::string msg) {
  throw Error(ErrorCode::bad_request, std::move(msg));
}

std::string required_id(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v) bad("missing field '" + std::string(key) + "'");
  if (!v->is_string()) bad("field '" + std::string(key) + "' must be a string");
  std::string_view s = v->get_string();
  if (!valid_id(s)) bad("field '" + std::string(key) + "' is not a valid id");
  return std::string(s);
}

std::optional<std::string> optional_reason(const json::object& o, bool required) {
  auto* v = o.if_contains("reason");
  if (!v || v->is_null()) {
    if (required) bad("missing field 'reason'");
    return std::nullopt;
  }
  if (!v->is_string()) bad("field 'reason' must be a string");
  std::string_view s = v->get_string();
  if (s.empty() || s.size() > kMaxReasonLength) bad("field 'reason' must be 1..256 characters");
  for (unsigned char ch : s)
    if (ch < 0x20) bad("field 'reason' contains control characters");
  return std::string(s);
}

const json::string& string_field(const json::object& o, std::string_view key) {
  auto* v = o.if_contains(key);
  if (!v || !v->is_string()) bad("signal data needs string field '" + std::string(key) + "'");
  return v->get_string();
}

// `data` of signal: the browser's own shapes, checked so that peers can rely on them.
void check_signal_data(const json::value& data) {
  if (!data.is_object()) bad("field 'data' must be an object");
  const auto& o = data.get_object();
  std::string_view type = string_field(o, "type");
  if (type == "offer" || type == "answer") {
    string_field(o, "sdp");
  } else if (type == "candidate") {
    string_field(o, "candidate");
    if (auto* m = o.if_contains("sdpMid"); m && !m->is_string() && !m->is_null())
      bad("signal data field 'sdpMid' must be a string or null");
    if (auto* i = o.if_contains("sdpMLineIndex");
        i && !i->is_int64() && !i->is_uint64() && !i->is_null())
      bad("signal data field 'sdpMLineIndex' must be an integer or null");
  } else if (type != "restart") {
    bad("signal data type must be offer, answer, candidate or restart");
  }
}

// The one place that says which fields each op takes.
void parse_fields(Request& r, const json::object& o) {
  switch (r.op) {
    case Op::create:
      r.receiverId = required_id(o, "receiverId");
      break;
    case Op::ringing:
    case Op::accept:
    case Op::ready:
      break;
    case Op::reject:
    case Op::end:
      r.reason = optional_reason(o, false);
      break;
    case Op::fail:
      r.reason = optional_reason(o, true);
      break;
    case Op::mute: {
      auto* v = o.if_contains("muted");
      if (!v || !v->is_bool()) bad("field 'muted' must be a boolean");
      r.muted = v->get_bool();
      break;
    }
    case Op::signal: {
      auto* v = o.if_contains("data");
      if (!v) bad("missing field 'data'");
      check_signal_data(*v);
      r.data = *v;
      break;
    }
    case Op::report: {
      auto* v = o.if_contains("events");
      if (!v) bad("missing field 'events'");
      r.data = check_report_events(*v);
      break;
    }
    case Op::auth: {
      auto* v = o.if_contains("token");
      if (!v || !v->is_string() || v->get_string().empty())
        bad("field 'token' must be a non-empty string");
      if (v->get_string().size() > kMaxTokenLength) bad("field 'token' is over 16 KiB");
      r.token = std::string(v->get_string());
      break;
    }
    case Op::watch: {
      auto* v = o.if_contains("userIds");
      if (!v || !v->is_array()) bad("field 'userIds' must be an array of user ids");
      const auto& ids = v->get_array();
      if (ids.size() > kMaxWatched) bad("field 'userIds' names more than 500 users");
      std::unordered_set<std::string_view> seen;
      for (const auto& id : ids) {
        if (!id.is_string() || !valid_id(id.get_string()))
          bad("field 'userIds' holds something that is not a valid user id");
        if (seen.insert(id.get_string()).second) r.userIds.emplace_back(id.get_string());
      }
      break;
    }
  }
}

json::value parse_json(std::string_view text) {
  if (text.size() > kMaxMessageBytes) throw Error(ErrorCode::payload_too_large, "over 64 KiB");
  boost::system::error_code ec;
  json::parse_options opt;
  opt.max_depth = 32;
  json::value v = json::parse(text, ec, {}, opt);
  if (ec) bad("malformed JSON: " + ec.message());
  return v;
}

}  // namespace

json::value try_extract_id(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return nullptr;
  if (auto* id = v.get_object().if_contains("id"); id && (id->is_string() || id->is_number()))
    return *id;
  return nullptr;
}

Request parse_ws_request(std::string_view text) {
  json::value v = parse_json(text);
  if (!v.is_object()) bad("message must be a JSON object");
  const auto& o = v.get_object();
  Request r;
  if (auto* id = o.if_contains("id")) {
    if (!id->is_string() && !id->is_number() && !id->is_null())
      bad("field 'id' must be a string or number");
    if (id->is_string() && id->get_string().size() > kMaxIdLength) bad("field 'id' is too long");
    r.id = *id;
  }
  auto* opv = o.if_contains("op");
  if (!opv || !opv->is_string()) bad("missing field 'op'");
  auto op = parse_op(opv->get_string());
  if (!op) bad("unknown op '" + std::string(opv->get_string().subview(0, 32)) + "'");
  r.op = *op;
  if (r.op == Op::report && text.size() > kMaxReportBytes)
    throw Error(ErrorCode::payload_too_large, "a report is at most 8 KiB");
  if (r.op != Op::create && r.op != Op::auth && r.op != Op::watch)
    r.callId = required_id(o, "callId");
  parse_fields(r, o);
  return r;
}

Request parse_http_request(Op op, std::string_view callId, std::string_view body) {
  Request r;
  r.op = op;
  if (op != Op::create) {
    if (!valid_id(callId)) bad("not a valid call id");
    r.callId = std::string(callId);
  }
  if (op == Op::report && body.size() > kMaxReportBytes)
    throw Error(ErrorCode::payload_too_large, "a report is at most 8 KiB");
  json::value v = body.empty() ? json::value(json::object{}) : parse_json(body);
  if (!v.is_object()) bad("body must be a JSON object");
  parse_fields(r, v.get_object());
  return r;
}

}  // namespace dialtone
