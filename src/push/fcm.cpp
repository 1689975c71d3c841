// SPDX-License-Identifier: Apache-2.0
#include "push/fcm.hpp"

#include <boost/json.hpp>

#include <stdexcept>

#include "auth/jwt.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

constexpr const char* kScope = "https://www.googleapis.com/auth/firebase.messaging";

std::string field(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string form_escape(std::string_view s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// The FcmError code in error.details, if any.
std::string fcm_error_code(const json::value& body) {
  if (!body.is_object()) return {};
  auto* err = body.get_object().if_contains("error");
  if (!err || !err->is_object()) return {};
  auto* details = err->get_object().if_contains("details");
  if (!details || !details->is_array()) return {};
  for (const auto& d : details->get_array()) {
    if (!d.is_object()) continue;
    std::string type = field(d.get_object(), "@type");
    if (type.find("google.firebase.fcm.v1.FcmError") != std::string::npos)
      return field(d.get_object(), "errorCode");
  }
  return {};
}

std::string fcm_error_message(const json::value& body) {
  if (!body.is_object()) return {};
  auto* err = body.get_object().if_contains("error");
  return err && err->is_object() ? field(err->get_object(), "message") : std::string();
}

class FcmProvider final : public PushProvider {
 public:
  explicit FcmProvider(FcmOptions o) : o_(std::move(o)) {
    if (o_.projectId.empty()) o_.projectId = o_.account.projectId;
    if (o_.tokenUrl.empty()) o_.tokenUrl = o_.account.tokenUri;
    if (o_.projectId.empty()) throw std::runtime_error("FCM needs a project id");
    while (!o_.baseUrl.empty() && o_.baseUrl.back() == '/') o_.baseUrl.pop_back();
  }

  Platform platform() const override { return Platform::fcm; }

  std::optional<HttpCall> request(const PushDevice& d, const Notice& n, TimeMs now,
                                  std::string& token) override {
    token = d.token;
    HttpCall c;
    c.url = o_.baseUrl + "/v1/projects/" + o_.projectId + "/messages:send";
    c.headers = {{"Authorization", "Bearer " + access_token_},
                 {"Content-Type", "application/json; charset=UTF-8"}};
    c.body = fcm_message(d.token, n, now);
    return c;
  }

  Verdict classify(const HttpReply& r) const override {
    Verdict v;
    if (r.status == 200) {
      v.kind = Verdict::Kind::delivered;
      return v;
    }
    boost::system::error_code ec;
    json::value body = json::parse(r.body, ec);
    std::string code = ec ? std::string() : fcm_error_code(body);
    std::string message = ec ? std::string() : fcm_error_message(body);
    v.detail = "HTTP " + std::to_string(r.status) + (code.empty() ? "" : " " + code);
    if (r.status == 0) {
      v.kind = Verdict::Kind::retry;
      v.detail = r.transportError;
    } else if (r.status == 401) {
      v.kind = code == "THIRD_PARTY_AUTH_ERROR" ? Verdict::Kind::failed : Verdict::Kind::reauth;
    } else if (r.status == 404 || code == "UNREGISTERED" || code == "SENDER_ID_MISMATCH") {
      v.kind = Verdict::Kind::dead_token;
    } else if (r.status == 400 && message.find("registration token") != std::string::npos) {
      v.kind = Verdict::Kind::dead_token;  // "not a valid FCM registration token"
    } else if (r.status == 429 || r.status == 500 || r.status == 503) {
      v.kind = Verdict::Kind::retry;
    } else {
      v.kind = Verdict::Kind::failed;
    }
    return v;
  }

  bool auth_ready(TimeMs now) const override {
    return !access_token_.empty() && now + kRenewMarginMs < expires_at_;
  }

  std::optional<HttpCall> auth_request(TimeMs now) override {
    HttpCall c;
    c.url = o_.tokenUrl;
    c.headers = {{"Content-Type", "application/x-www-form-urlencoded"}};
    c.body = "grant_type=" + form_escape("urn:ietf:params:oauth:grant-type:jwt-bearer") +
             "&assertion=" + fcm_assertion(o_.account, now / 1000);
    return c;
  }

  bool auth_result(const HttpReply& r, TimeMs now, std::string& error) override {
    boost::system::error_code ec;
    json::value body = json::parse(r.body, ec);
    if (r.status != 200 || ec || !body.is_object()) {
      std::string what = !ec && body.is_object() ? field(body.get_object(), "error") : "";
      error = r.status ? "token endpoint answered HTTP " + std::to_string(r.status) +
                             (what.empty() ? "" : " " + what)
                       : r.transportError;
      return false;
    }
    const auto& o = body.get_object();
    std::string token = field(o, "access_token");
    auto* exp = o.if_contains("expires_in");
    if (token.empty() || !exp || !exp->is_number()) {
      error = "token endpoint answered without access_token/expires_in";
      return false;
    }
    // Google's tokens last an hour; anything outside (0, 30 days] is a broken answer (and a
    // huge number must not reach the conversion to an integer, which would be undefined).
    double seconds = exp->to_number<double>();
    if (!(seconds > 0 && seconds <= 30.0 * 86400)) {
      error = "token endpoint answered an expires_in out of range";
      return false;
    }
    access_token_ = token;
    expires_at_ = now + static_cast<TimeMs>(seconds * 1000);
    return true;
  }

  void invalidate_auth() override { access_token_.clear(); }

 private:
  static constexpr TimeMs kRenewMarginMs = 5 * 60 * 1000;
  FcmOptions o_;
  std::string access_token_;
  TimeMs expires_at_ = 0;
};

}  // namespace

ServiceAccount parse_service_account(std::string_view json_text) {
  boost::system::error_code ec;
  json::value v = json::parse(json_text, ec);
  if (ec || !v.is_object()) throw std::runtime_error("not a JSON object");
  const auto& o = v.get_object();
  ServiceAccount sa;
  sa.clientEmail = field(o, "client_email");
  sa.privateKeyId = field(o, "private_key_id");
  sa.tokenUri = field(o, "token_uri");
  sa.projectId = field(o, "project_id");
  if (sa.clientEmail.empty()) throw std::runtime_error("client_email is missing");
  if (sa.tokenUri.empty()) sa.tokenUri = "https://oauth2.googleapis.com/token";
  sa.key = private_key_from_pem(field(o, "private_key"));
  if (!sa.key || EVP_PKEY_get_base_id(sa.key.get()) != EVP_PKEY_RSA)
    throw std::runtime_error("private_key is not an RSA private key in PEM");
  return sa;
}

std::string fcm_assertion(const ServiceAccount& sa, std::int64_t now_s) {
  json::object claims;
  claims["iss"] = sa.clientEmail;
  claims["scope"] = kScope;
  claims["aud"] = sa.tokenUri;
  claims["iat"] = now_s;
  claims["exp"] = now_s + 3600;
  TrustedKey k;
  k.alg = JwtAlg::RS256;
  k.pkey = sa.key;
  return sign_jws(JwtAlg::RS256, k, R"({"alg":"RS256","typ":"JWT"})", json::serialize(claims));
}

std::string fcm_message(const std::string& token, const Notice& n, TimeMs now) {
  json::object data;
  for (auto& [k, v] : n.data()) data[k] = v;
  TimeMs left = std::max<TimeMs>(0, n.expiresAt - now);
  json::object android{{"priority", n.high_priority() ? "high" : "normal"},
                       {"ttl", std::to_string((left + 999) / 1000) + "s"}};
  json::object msg{{"token", token}, {"data", std::move(data)}, {"android", std::move(android)}};
  return json::serialize(json::object{{"message", std::move(msg)}});
}

std::unique_ptr<PushProvider> make_fcm_provider(FcmOptions opts) {
  return std::make_unique<FcmProvider>(std::move(opts));
}

}  // namespace dialtone
