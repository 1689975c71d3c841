// SPDX-License-Identifier: Apache-2.0
#include "push/apns.hpp"

#include <boost/json.hpp>

#include <stdexcept>

#include "auth/jwt.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

std::string uuid4() {
  std::string b = random_bytes(16);
  b[6] = static_cast<char>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<char>((b[8] & 0x3f) | 0x80);
  std::string h = hex_encode(b);
  return h.substr(0, 8) + "-" + h.substr(8, 4) + "-" + h.substr(12, 4) + "-" + h.substr(16, 4) +
         "-" + h.substr(20);
}

class ApnsProvider final : public PushProvider {
 public:
  explicit ApnsProvider(ApnsOptions o) : o_(std::move(o)) {
    if (!o_.key || o_.keyId.empty() || o_.teamId.empty() || o_.bundleId.empty())
      throw std::runtime_error("APNs needs a key, key id, team id and bundle id");
    while (!o_.baseUrl.empty() && o_.baseUrl.back() == '/') o_.baseUrl.pop_back();
  }

  Platform platform() const override { return Platform::apns; }

  std::optional<HttpCall> request(const PushDevice& d, const Notice& n, TimeMs now,
                                  std::string& token) override {
    bool voip = n.kind == NoticeKind::incoming_call;
    token = voip ? d.token : d.alertToken;
    if (token.empty()) return std::nullopt;
    std::string env = d.environment.empty() ? o_.environment : d.environment;
    std::string base = !o_.baseUrl.empty() ? o_.baseUrl
                       : env == "sandbox"  ? "https://api.sandbox.push.apple.com"
                                           : "https://api.push.apple.com";
    json::object body;
    json::object aps;
    std::string pushType, priority, topic = o_.bundleId;
    switch (n.kind) {
      case NoticeKind::incoming_call:
        pushType = "voip";
        priority = "10";
        topic += ".voip";
        break;
      case NoticeKind::call_cancelled:
        pushType = "background";
        priority = "5";  // Apple requires 5 for background pushes
        aps["content-available"] = 1;
        break;
      case NoticeKind::missed_call:
        pushType = "alert";
        priority = "10";
        aps["alert"] = json::object{{"title", "Missed call"}, {"body", n.callerName}};
        aps["sound"] = "default";
        aps["thread-id"] = "missed-calls";
        break;
    }
    body["aps"] = std::move(aps);
    for (auto& [k, v] : n.data()) body[k] = v;
    HttpCall c;
    c.url = base + "/3/device/" + token;
    c.headers = {{"authorization", "bearer " + provider_token(now)},
                 {"apns-push-type", pushType},
                 {"apns-topic", topic},
                 {"apns-priority", priority},
                 {"apns-expiration", std::to_string(n.expiresAt / 1000)},
                 {"apns-id", uuid4()},
                 {"content-type", "application/json"}};
    if (n.kind != NoticeKind::missed_call)
      c.headers.emplace_back("apns-collapse-id", "call-" + n.callId);
    c.body = json::serialize(body);
    if (c.body.size() > (voip ? 5120u : 4096u)) throw std::runtime_error("APNs payload too large");
    return c;
  }

  Verdict classify(const HttpReply& r) const override {
    Verdict v;
    if (r.status == 200) {
      v.kind = Verdict::Kind::delivered;
      return v;
    }
    std::string reason;
    boost::system::error_code ec;
    json::value body = json::parse(r.body, ec);
    if (!ec && body.is_object())
      if (auto* re = body.get_object().if_contains("reason"); re && re->is_string())
        reason = std::string(re->get_string());
    v.detail = "HTTP " + std::to_string(r.status) + (reason.empty() ? "" : " " + reason);
    if (r.status == 0) {
      v.kind = Verdict::Kind::retry;
      v.detail = r.transportError;
    } else if (r.status == 410 || reason == "BadDeviceToken" ||
               reason == "DeviceTokenNotForTopic") {
      v.kind = Verdict::Kind::dead_token;
    } else if (r.status == 403 && reason == "ExpiredProviderToken") {
      v.kind = Verdict::Kind::reauth;
    } else if ((r.status == 429 && reason != "TooManyProviderTokenUpdates") || r.status == 500 ||
               r.status == 503) {
      v.kind = Verdict::Kind::retry;
    } else {
      v.kind = Verdict::Kind::failed;
    }
    return v;
  }

  void invalidate_auth() override { token_iat_ = 0; }

 private:
  std::string provider_token(TimeMs now) {
    std::int64_t now_s = now / 1000;
    if (token_.empty() || token_iat_ == 0 || now_s - token_iat_ >= 40 * 60 || now_s < token_iat_) {
      token_iat_ = now_s;
      token_ = apns_provider_token(o_.key.get(), o_.keyId, o_.teamId, now_s);
    }
    return token_;
  }

  ApnsOptions o_;
  std::string token_;
  std::int64_t token_iat_ = 0;
};

}  // namespace

std::string apns_provider_token(EVP_PKEY* key, std::string_view keyId, std::string_view teamId,
                                std::int64_t iat) {
  json::object header{{"alg", "ES256"}, {"kid", keyId}};
  json::object claims{{"iss", teamId}, {"iat", iat}};
  TrustedKey k;
  k.alg = JwtAlg::ES256;
  k.pkey = PKey(key, [](EVP_PKEY*) {});  // borrowed
  return sign_jws(JwtAlg::ES256, k, json::serialize(header), json::serialize(claims));
}

std::unique_ptr<PushProvider> make_apns_provider(ApnsOptions opts) {
  return std::make_unique<ApnsProvider>(std::move(opts));
}

}  // namespace dialtone
