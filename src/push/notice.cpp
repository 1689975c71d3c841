// SPDX-License-Identifier: Apache-2.0
#include <boost/json.hpp>

#include <ctime>

#include "push/provider.hpp"

namespace dialtone {

namespace json = boost::json;

std::string_view notice_type(NoticeKind k) {
  switch (k) {
    case NoticeKind::incoming_call:
      return "incoming_call";
    case NoticeKind::call_cancelled:
      return "call_cancelled";
    case NoticeKind::missed_call:
      return "missed_call";
  }
  return "unknown";
}

std::optional<NoticeKind> parse_notice_type(std::string_view s) {
  for (auto k : {NoticeKind::incoming_call, NoticeKind::call_cancelled, NoticeKind::missed_call})
    if (notice_type(k) == s) return k;
  return std::nullopt;
}

std::string notice_to_string(const Notice& n) {
  return json::serialize(json::object{{"kind", notice_type(n.kind)},
                                      {"callId", n.callId},
                                      {"callerId", n.callerId},
                                      {"callerName", n.callerName},
                                      {"callerPhoto", n.callerPhoto},
                                      {"timestamp", n.timestamp},
                                      {"ringDeadline", n.ringDeadline},
                                      {"reason", n.reason},
                                      {"expiresAt", n.expiresAt}});
}

std::optional<Notice> notice_from_string(std::string_view text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return std::nullopt;
  const json::object& o = v.get_object();
  auto str = [&](const char* key, std::string& out) {
    const json::value* f = o.if_contains(key);
    if (!f || !f->is_string()) return false;
    out = std::string(f->get_string());
    return true;
  };
  auto num = [&](const char* key, TimeMs& out) {
    const json::value* f = o.if_contains(key);
    if (!f || !f->is_int64()) return false;
    out = f->get_int64();
    return true;
  };
  Notice n;
  std::string kind;
  if (!str("kind", kind) || !str("callId", n.callId) || !str("callerId", n.callerId) ||
      !str("callerName", n.callerName) || !str("callerPhoto", n.callerPhoto) ||
      !str("reason", n.reason) || !num("timestamp", n.timestamp) ||
      !num("ringDeadline", n.ringDeadline) || !num("expiresAt", n.expiresAt))
    return std::nullopt;
  auto k = parse_notice_type(kind);
  if (!k) return std::nullopt;
  n.kind = *k;
  return n;
}

std::vector<std::pair<std::string, std::string>> Notice::data() const {
  std::vector<std::pair<std::string, std::string>> d{{"type", std::string(notice_type(kind))},
                                                     {"callId", callId}};
  if (kind == NoticeKind::call_cancelled) {
    d.emplace_back("reason", reason);
    return d;
  }
  d.emplace_back("callerId", callerId);
  d.emplace_back("callerName", callerName);
  d.emplace_back("callerPhoto", callerPhoto);
  d.emplace_back("callType", "audio");
  d.emplace_back("timestamp", format_iso(timestamp));
  if (kind == NoticeKind::incoming_call)
    d.emplace_back("ringDeadline", format_iso(ringDeadline));
  else
    d.emplace_back("reason", reason);
  return d;
}

std::string HttpReply::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (k == name) return v;
  return {};
}

std::optional<TimeMs> parse_retry_after(std::string_view value, TimeMs now) {
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && (value.back() == ' ' || value.back() == '\r')) value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (value.find_first_not_of("0123456789") == std::string_view::npos) {
    if (value.size() > 9) return std::nullopt;
    return std::stoll(std::string(value)) * 1000;
  }
  std::tm tm{};
  std::string text(value);
  const char* end = strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (!end || *end) return std::nullopt;
  TimeMs at = static_cast<TimeMs>(timegm(&tm)) * 1000;
  return at > now ? at - now : 0;
}

}  // namespace dialtone
