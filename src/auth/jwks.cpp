// SPDX-License-Identifier: Apache-2.0
// JWKS (RFC 7517): RSA keys (n, e) and P-256 EC keys (x, y) → OpenSSL public keys.
#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <optional>
#include <stdexcept>

#include "auth/jwt.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

std::string b64_field(const json::object& k, std::string_view name) {
  auto* v = k.if_contains(name);
  if (!v || !v->is_string()) throw std::runtime_error("JWKS key lacks '" + std::string(name) + "'");
  auto bytes = base64url_decode(v->get_string());
  if (!bytes || bytes->empty())
    throw std::runtime_error("JWKS key field '" + std::string(name) + "' is not base64url");
  return *bytes;
}

using ParamBld = std::unique_ptr<OSSL_PARAM_BLD, decltype(&OSSL_PARAM_BLD_free)>;
using Params = std::unique_ptr<OSSL_PARAM, decltype(&OSSL_PARAM_free)>;
using Bn = std::unique_ptr<BIGNUM, decltype(&BN_free)>;
using PkeyCtx = std::unique_ptr<EVP_PKEY_CTX, decltype(&EVP_PKEY_CTX_free)>;

PKey from_params(const char* type, OSSL_PARAM* params) {
  PkeyCtx ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr), EVP_PKEY_CTX_free);
  EVP_PKEY* key = nullptr;
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &key, EVP_PKEY_PUBLIC_KEY, params) != 1)
    throw std::runtime_error(std::string("JWKS ") + type + " key is not valid");
  return adopt_pkey(key);
}

PKey rsa_key(const json::object& k) {
  std::string n = b64_field(k, "n"), e = b64_field(k, "e");
  Bn bn_n(BN_bin2bn(reinterpret_cast<const unsigned char*>(n.data()), int(n.size()), nullptr),
          BN_free);
  Bn bn_e(BN_bin2bn(reinterpret_cast<const unsigned char*>(e.data()), int(e.size()), nullptr),
          BN_free);
  if (BN_num_bits(bn_n.get()) < 2048) throw std::runtime_error("JWKS RSA key under 2048 bits");
  ParamBld bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get());
  OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get());
  Params params(OSSL_PARAM_BLD_to_param(bld.get()), OSSL_PARAM_free);
  return from_params("RSA", params.get());
}

PKey ec_key(const json::object& k) {
  auto* crv = k.if_contains("crv");
  if (!crv || !crv->is_string() || crv->get_string() != "P-256")
    throw std::runtime_error("JWKS EC key must be on P-256");
  std::string x = b64_field(k, "x"), y = b64_field(k, "y");
  if (x.size() != 32 || y.size() != 32) throw std::runtime_error("JWKS EC coordinates malformed");
  std::string point = "\x04" + x + y;
  ParamBld bld(OSSL_PARAM_BLD_new(), OSSL_PARAM_BLD_free);
  OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  Params params(OSSL_PARAM_BLD_to_param(bld.get()), OSSL_PARAM_free);
  return from_params("EC", params.get());
}

}  // namespace

std::vector<TrustedKey> parse_jwks(std::string_view text) {
  boost::system::error_code ec;
  json::value doc = json::parse(text, ec);
  if (ec || !doc.is_object()) throw std::runtime_error("JWKS is not a JSON object");
  auto* keys = doc.get_object().if_contains("keys");
  if (!keys || !keys->is_array()) throw std::runtime_error("JWKS has no 'keys' array");
  std::vector<TrustedKey> out;
  for (const auto& kv : keys->get_array()) {
    if (!kv.is_object()) throw std::runtime_error("JWKS key is not an object");
    const auto& k = kv.get_object();
    auto* kty = k.if_contains("kty");
    if (!kty || !kty->is_string()) throw std::runtime_error("JWKS key lacks 'kty'");
    if (auto* use = k.if_contains("use"); use && use->is_string() && use->get_string() != "sig")
      continue;
    TrustedKey t;
    if (auto* kid = k.if_contains("kid"); kid && kid->is_string()) t.kid = kid->get_string();
    // A key declared for one algorithm verifies that one only (RFC 7517 §4.4): an RSA key
    // declared RS512 must not verify an RS256 token.
    const json::value* alg = k.if_contains("alg");
    auto declared = [&](std::string_view want) {
      return !alg || (alg->is_string() && alg->get_string() == want);
    };
    if (kty->get_string() == "RSA") {
      if (!declared("RS256")) continue;
      t.alg = JwtAlg::RS256;
      t.pkey = rsa_key(k);
    } else if (kty->get_string() == "EC") {
      if (!declared("ES256")) continue;
      t.alg = JwtAlg::ES256;
      t.pkey = ec_key(k);
    } else {
      continue;  // other key types are not used for ID tokens
    }
    out.push_back(std::move(t));
  }
  if (out.empty()) throw std::runtime_error("JWKS has no usable RS256/ES256 key");
  return out;
}

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::optional<long long> seconds_value(std::string_view v) {
  v = trim(v);
  if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
  long long n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec == std::errc::result_out_of_range && end == v.data() + v.size())
    return std::numeric_limits<long long>::max();
  if (ec != std::errc() || end != v.data() + v.size() || n < 0) return std::nullopt;
  return n;
}

}  // namespace

std::chrono::seconds jwks_refresh_after(std::string_view cc, int minS, int maxS, int fallbackS) {
  std::optional<long long> maxAge, sMaxAge;
  bool noCache = false;
  while (!cc.empty()) {
    auto comma = cc.find(',');
    std::string_view d = trim(cc.substr(0, comma));
    cc = comma == std::string_view::npos ? std::string_view() : cc.substr(comma + 1);
    auto eq = d.find('=');
    std::string_view name = trim(d.substr(0, eq));
    std::string_view value = eq == std::string_view::npos ? std::string_view() : d.substr(eq + 1);
    if (iequals(name, "no-store") || iequals(name, "no-cache")) noCache = true;
    if (iequals(name, "max-age")) maxAge = seconds_value(value);
    if (iequals(name, "s-maxage")) sMaxAge = seconds_value(value);
  }
  long long s = fallbackS;
  if (noCache)
    s = minS;
  else if (sMaxAge)
    s = *sMaxAge;
  else if (maxAge)
    s = *maxAge;
  return std::chrono::seconds(std::clamp<long long>(s, minS, maxS));
}

}  // namespace dialtone
