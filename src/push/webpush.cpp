// SPDX-License-Identifier: Apache-2.0
#include "push/webpush.hpp"

#include <boost/json.hpp>
#include <boost/url.hpp>

#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

const std::vector<std::string> kDefaultWebPushHosts = {
    "fcm.googleapis.com",         // Chrome, Edge (and other Chromium browsers)
    "push.services.mozilla.com",  // Firefox
    "push.apple.com",             // Safari
    "notify.windows.com",         // legacy Edge
};

bool push_host_allowed(std::string_view endpoint, const std::vector<std::string>& allowed) {
  auto u = boost::urls::parse_absolute_uri(endpoint);
  if (!u || u->scheme() != "https") return false;
  std::string host = u->host();
  for (const auto& a : allowed) {
    if (host == a) return true;
    if (host.size() > a.size() && host.compare(host.size() - a.size(), a.size(), a) == 0 &&
        host[host.size() - a.size() - 1] == '.')
      return true;
  }
  return false;
}

namespace {

class WebPushProvider final : public PushProvider {
 public:
  WebPushProvider(std::shared_ptr<Vapid> vapid, std::vector<std::string> allowed)
      : vapid_(std::move(vapid)), allowed_(std::move(allowed)) {}

  Platform platform() const override { return Platform::webpush; }

  std::optional<HttpCall> request(const PushDevice& d, const Notice& n, TimeMs now,
                                  std::string& token) override {
    token = d.token;
    WebPushSubscription sub = parse_subscription(d.token);
    if (!push_host_allowed(sub.endpoint, allowed_))
      throw std::runtime_error("push endpoint host is not allowed");
    json::object payload;
    for (auto& [k, v] : n.data()) payload[k] = v;
    std::string plain = json::serialize(payload);
    if (plain.size() > kWebPushMaxPlaintext) throw std::runtime_error("Web Push payload too large");
    TimeMs left = std::max<TimeMs>(0, n.expiresAt - now);
    HttpCall c;
    c.url = sub.endpoint;
    c.headers = {{"TTL", std::to_string((left + 999) / 1000)},
                 {"Urgency", n.high_priority() ? "high" : "normal"},
                 {"Content-Encoding", "aes128gcm"},
                 {"Content-Type", "application/octet-stream"},
                 {"Authorization", vapid_->authorization(sub.endpoint, now)}};
    // The ring and its cancellation share a topic: a cancel replaces a ring not yet delivered.
    if (n.kind != NoticeKind::missed_call) c.headers.emplace_back("Topic", "call-" + n.callId);
    c.body = webpush_encrypt(plain, sub.p256dh, sub.auth);
    return c;
  }

  Verdict classify(const HttpReply& r) const override {
    Verdict v;
    v.detail = r.status ? "HTTP " + std::to_string(r.status) : r.transportError;
    if (r.status >= 200 && r.status < 300)
      v.kind = Verdict::Kind::delivered;
    else if (r.status == 404 || r.status == 410)
      v.kind = Verdict::Kind::dead_token;
    else if (r.status == 0 || r.status == 429 || r.status >= 500)
      v.kind = Verdict::Kind::retry;
    else
      v.kind = Verdict::Kind::failed;
    return v;
  }

 private:
  std::shared_ptr<Vapid> vapid_;
  std::vector<std::string> allowed_;
};

}  // namespace

std::unique_ptr<PushProvider> make_webpush_provider(std::shared_ptr<Vapid> vapid,
                                                    std::vector<std::string> allowedHosts) {
  return std::make_unique<WebPushProvider>(std::move(vapid), std::move(allowedHosts));
}

}  // namespace dialtone
