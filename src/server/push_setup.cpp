#include "server/push_setup.hpp"

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"
#include "core/request.hpp"
#include "push/apns.hpp"
#include "push/fcm.hpp"
#include "push/webpush.hpp"
#include "server/engine.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

std::string read_file(const std::string& key, const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError(key, "cannot read '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

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

PushSetup make_push(const Config& c, Metrics& metrics, Engine& engine) {
  PushSetup out;
  std::vector<std::unique_ptr<PushProvider>> providers;
  if (!c.fcm_service_account_file.empty()) {
    FcmOptions o;
    try {
      o.account = parse_service_account(
          read_file("fcm_service_account_file", c.fcm_service_account_file));
    } catch (const std::runtime_error& e) {
      if (dynamic_cast<const ConfigError*>(&e)) throw;
      throw ConfigError("fcm_service_account_file", e.what());
    }
    o.projectId = c.fcm_project_id;
    o.baseUrl = c.fcm_base_url;
    o.tokenUrl = c.fcm_token_url;
    if (o.projectId.empty() && o.account.projectId.empty())
      throw ConfigError("fcm_project_id", "is required: the service account names no project");
    providers.push_back(make_fcm_provider(std::move(o)));
  }
  if (!c.apns_key_file.empty()) {
    ApnsOptions o;
    o.key = private_key_from_pem(read_file("apns_key_file", c.apns_key_file));
    if (!o.key || EVP_PKEY_get_base_id(o.key.get()) != EVP_PKEY_EC)
      throw ConfigError("apns_key_file", "is not a .p8 (P-256 PKCS#8 PEM) key");
    o.keyId = c.apns_key_id;
    o.teamId = c.apns_team_id;
    o.bundleId = c.apns_bundle_id;
    o.environment = c.apns_environment;
    o.baseUrl = c.apns_base_url;
    providers.push_back(make_apns_provider(std::move(o)));
  }
  std::string vapidFile = c.vapid_key_file.empty()
                              ? (std::filesystem::path(c.data_dir) / "vapid.pem").string()
                              : c.vapid_key_file;
  std::string subject = c.vapid_subject;
  if (subject.empty()) {
    subject = "mailto:dialtone@localhost";
    spdlog::warn("CONFIG vapid_subject is not set: Web Push uses '{}'; some push services "
                 "(Apple's) refuse a token without a real contact",
                 subject);
  }
  try {
    out.vapid = Vapid::load_or_create(vapidFile, subject);
  } catch (const std::exception& e) {
    throw ConfigError("vapid_key_file", e.what());
  }
  out.webpushHosts = c.webpush_hosts.empty() ? kDefaultWebPushHosts : c.webpush_hosts;
  providers.push_back(make_webpush_provider(out.vapid, out.webpushHosts));

  PushOptions opts;
  opts.concurrency = static_cast<std::size_t>(c.push_concurrency);
  opts.timeout = std::chrono::seconds(c.push_timeout_s);
  opts.http.caFile = c.push_ca_file;
  PushHooks hooks;
  hooks.incoming_result = [&engine](const std::string& callId, bool delivered) {
    engine.on_push_result(callId, delivered);
  };
  hooks.dead_token = [&engine](const PushDevice& d, const std::string& token) {
    engine.forget_push_token(d, token);
  };
  hooks.outcome = [&metrics](Platform p, const std::string& outcome,
                             std::chrono::microseconds elapsed) {
    metrics.count_push(std::string(platform_name(p)), outcome);
    if (elapsed.count() > 0) metrics.push_send[static_cast<int>(p)].observe_us(elapsed.count());
  };
  hooks.pending = [&metrics](std::int64_t n) { metrics.push_pending = n; };
  out.service = std::make_unique<PushService>(std::move(providers), opts, std::move(hooks));
  return out;
}

PushDevice parse_device_registration(std::string_view body, const std::string& userId,
                                     const PushSetup& push) {
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
  if (!push.service || !push.service->handles(d.platform))
    bad("this server has no " + std::string(platform_name(d.platform)) +
        " credentials configured");
  switch (d.platform) {
    case Platform::fcm:
      d.token = string_field(o, "token", true);
      if (d.token.empty() || d.token.size() > 4096 ||
          !all_of(d.token, [](char c) {
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
      d.token = json::serialize(json::object{
          {"endpoint", s.endpoint},
          {"keys", json::object{{"p256dh", base64url_encode(s.p256dh)},
                                {"auth", base64url_encode(s.auth)}}}});
      break;
    }
  }
  return d;
}

}  // namespace dialtone
