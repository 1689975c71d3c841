// SPDX-License-Identifier: Apache-2.0
#include "server/device_registration.hpp"

#include <boost/json.hpp>

#include "core/errors.hpp"
#include "core/request.hpp"
#include "push/webpush.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

[[noreturn]] void bad(const std::string& msg) {
  throw Error(ErrorCode::bad_request, msg);
}

std::string string_field(const json::object& o, std::string_view key, bool required) {
  auto* v = o.if_contains(key);
  if (!v || v->is_null()) {
    if (required) bad(std::string(key) + " is required");
    return {};
  }
  if (!v->is_string()) bad(std::string(key) + " must be a string");
  return std::string(v->get_string());
}

bool all_of(std::string_view s, bool (*ok)(char)) {
  for (char c : s)
    if (!ok(c)) return false;
  return true;
}

std::string apns_token(const json::object& o, std::string_view key, bool required) {
  std::string t = string_field(o, key, required);
  if (t.empty() && !required) return t;
  if (t.size() < 16 || t.size() > 256 || t.size() % 2 ||
      !all_of(t, [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; }))
    bad(std::string(key) + " must be the device token in hex");
  for (char& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

}  // namespace

PushDevice parse_device_registration(std::string_view body, const std::string& userId,
                                     const PushReach& push) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  if (ec || !v.is_object()) bad("body must be a JSON object");
  const auto& o = v.get_object();
  PushDevice d;
  d.userId = userId;
  d.deviceId = string_field(o, "deviceId", true);
  if (!valid_id(d.deviceId)) bad("deviceId must be 1..128 characters of [A-Za-z0-9._:@-]");
  auto platform = parse_platform(string_field(o, "platform", true));
  if (!platform) bad("platform must be one of fcm, apns, webpush");
  d.platform = *platform;
  if (!push.handles(d.platform))
    bad("this server has no " + std::string(platform_name(d.platform)) + " credentials configured");
  switch (d.platform) {
    case Platform::fcm:
      d.token = string_field(o, "token", true);
      if (d.token.empty() || d.token.size() > 4096 || !all_of(d.token, [](char c) {
            return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
                   c == ':' || c == '.';
          }))
        bad("token must be an FCM registration token");
      break;
    case Platform::apns:
      d.token = apns_token(o, "token", true);
      d.alertToken = apns_token(o, "alertToken", false);
      d.environment = string_field(o, "environment", false);
      if (!d.environment.empty() && d.environment != "production" && d.environment != "sandbox")
        bad("environment must be 'production' or 'sandbox'");
      break;
    case Platform::webpush: {
      auto* sub = o.if_contains("subscription");
      if (!sub || !sub->is_object()) bad("subscription must be the browser's PushSubscription");
      WebPushSubscription s = parse_subscription(json::serialize(*sub));
      if (!push_host_allowed(s.endpoint, push.webpushHosts))
        bad("subscription.endpoint is not at a push service this server sends to");
      d.token =
          json::serialize(json::object{{"endpoint", s.endpoint},
                                       {"keys", json::object{{"p256dh", base64url_encode(s.p256dh)},
                                                             {"auth", base64url_encode(s.auth)}}}});
      break;
    }
  }
  return d;
}

}  // namespace dialtone
