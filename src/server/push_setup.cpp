// SPDX-License-Identifier: Apache-2.0
#include "server/push_setup.hpp"

#include <spdlog/spdlog.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "core/errors.hpp"
#include "push/apns.hpp"
#include "push/fcm.hpp"
#include "push/webpush.hpp"
#include "server/calls/calls.hpp"

namespace dialtone {

namespace {

std::string read_file(const std::string& key, const std::string& path) {
  std::ifstream f(path);
  if (!f) throw ConfigError(key, "cannot read '" + path + "'");
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

}  // namespace

PushSetup make_push(const Config& c, Metrics& metrics, Calls& calls) {
  PushSetup out;
  std::vector<std::unique_ptr<PushProvider>> providers;
  if (!c.fcm_service_account_file.empty()) {
    FcmOptions o;
    try {
      o.account =
          parse_service_account(read_file("fcm_service_account_file", c.fcm_service_account_file));
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
    spdlog::warn(
        "CONFIG vapid_subject is not set: Web Push uses '{}'; some push services "
        "(Apple's) refuse a token without a real contact",
        subject);
  }
  try {
    out.vapid = Vapid::load_or_create(vapidFile, subject);
  } catch (const std::exception& e) {
    throw ConfigError("vapid_key_file", e.what());
  }
  out.reach.webpushHosts = c.webpush_hosts.empty() ? kDefaultWebPushHosts : c.webpush_hosts;
  providers.push_back(make_webpush_provider(out.vapid, out.reach.webpushHosts));

  PushOptions opts;
  opts.concurrency = static_cast<std::size_t>(c.push_concurrency);
  opts.timeout = std::chrono::seconds(c.push_timeout_s);
  opts.http.caFile = c.push_ca_file;
  PushHooks hooks;
  hooks.incoming_result = [&calls, &metrics](const PushResult& r) {
    metrics.push_delivery[static_cast<int>(r.platform)].observe_ms(r.latencyMs);
    calls.on_push_result(r);
  };
  hooks.dead_token = [&calls](const PushDevice& d, const std::string& token) {
    calls.forget_push_token(d, token);
  };
  hooks.outcome = [&metrics](Platform p, const std::string& outcome,
                             std::chrono::microseconds elapsed) {
    metrics.count_push(std::string(platform_name(p)), outcome);
    if (elapsed.count() > 0) metrics.push_send[static_cast<int>(p)].observe_us(elapsed.count());
  };
  hooks.pending = [&metrics](std::int64_t n) { metrics.push_pending = n; };
  hooks.finished = [&calls](const std::string& pushId) { calls.on_push_finished(pushId); };
  out.service = std::make_unique<PushService>(std::move(providers), opts, std::move(hooks));
  out.reach.handles = [svc = out.service.get()](Platform p) { return svc->handles(p); };
  return out;
}

}  // namespace dialtone
