// SPDX-License-Identifier: Apache-2.0
#include "server/http_api.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>

#include <atomic>

#include "core/request.hpp"
#include "server/admin_api.hpp"
#include "server/turn_credentials.hpp"
#include "server/web_assets.hpp"
#include "server/zego_token.hpp"
#include "util/version.hpp"

namespace dialtone {

namespace asio = boost::asio;
namespace json = boost::json;
namespace urls = boost::urls;

namespace {

HttpResponse json_response(const HttpRequest& req, http::status status, const json::value& body) {
  HttpResponse res{status, req.version()};
  res.set(http::field::server, "dialtoned");
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = json::serialize(body);
  res.prepare_payload();
  return res;
}

HttpResponse text_response(const HttpRequest& req, http::status status, std::string_view type,
                           std::string body) {
  HttpResponse res{status, req.version()};
  res.set(http::field::server, "dialtoned");
  res.set(http::field::content_type, type);
  res.set(http::field::cache_control, "no-store");
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  return res;
}

HttpResponse result_response(const HttpRequest& req, const OpResult& r) {
  if (r.error != ErrorCode::ok)
    return error_response(req, r.error, r.message, r.call, r.retryAfterSeconds);
  if (r.body) return json_response(req, static_cast<http::status>(r.status), *r.body);
  if (r.call) {
    HttpResponse res = json_response(req, static_cast<http::status>(r.status), nullptr);
    res.body() = r.doc ? *r.doc : to_public_string(*r.call);
    res.prepare_payload();
    return res;
  }
  return json_response(req, http::status::ok, json::object{});
}

std::string device_of(const HttpRequest& req) {
  auto it = req.find("X-Device-Id");
  if (it == req.end()) return kHttpDeviceId;
  std::string_view d = it->value();
  if (!valid_id(d)) throw Error(ErrorCode::bad_request, "X-Device-Id is not a valid id");
  return std::string(d);
}

std::optional<std::string> query_param(const urls::url_view& u, std::string_view key) {
  auto it = u.params().find(key);
  if (it == u.params().end()) return std::nullopt;
  return std::string((*it).value);
}

// The id in field `key` of a JSON object body; throws bad_request naming the field.
std::string id_field(std::string_view body, std::string_view key) {
  boost::system::error_code ec;
  json::value v = json::parse(body, ec);
  const json::value* f = !ec && v.is_object() ? v.get_object().if_contains(key) : nullptr;
  if (!f || !f->is_string() || !valid_id(f->get_string()))
    throw Error(ErrorCode::bad_request, std::string(key) + " must be a user id");
  return std::string(f->get_string());
}

// Throws rate_limited when `key` has used up its requests.
void limit_requests(ServerContext& ctx, const std::string& key) {
  if (TimeMs wait = ctx.limits.requests.take(key, now_ms())) {
    ctx.metrics.count_limited("requests");
    throw Error(ErrorCode::rate_limited, "too many requests; try again later", retry_seconds(wait));
  }
}

}  // namespace

void limit_reports(ServerContext& ctx, const std::string& userId, const std::string& deviceId) {
  if (TimeMs wait = ctx.limits.reports.take(userId + "\n" + deviceId, now_ms())) {
    ctx.metrics.count_limited("reports");
    throw Error(ErrorCode::rate_limited,
                "too many reports; send events together, at most one report every few seconds",
                retry_seconds(wait));
  }
}

void limit_call_attempts(ServerContext& ctx, const std::string& caller) {
  if (TimeMs wait = ctx.limits.calls.take(caller, now_ms())) {
    ctx.metrics.count_limited("calls");
    throw Error(
        ErrorCode::rate_limited,
        "too many call attempts; try again in " + std::to_string(retry_seconds(wait)) + " s",
        retry_seconds(wait));
  }
}

namespace {

asio::awaitable<HttpResponse> dev_token(ServerContext& ctx, const HttpRequest& req,
                                        const Peer& peer) {
  if (!ctx.auth.dev_mode()) co_return error_response(req, ErrorCode::not_found, "no such endpoint");
  limit_requests(ctx, "a:" + peer.address);
  boost::system::error_code ec;
  json::value v = json::parse(req.body(), ec);
  if (ec || !v.is_object())
    co_return error_response(req, ErrorCode::bad_request, "body must be a JSON object");
  const auto& o = v.get_object();
  auto str = [&](std::string_view k) -> std::optional<std::string> {
    auto* f = o.if_contains(k);
    if (!f || f->is_null()) return std::string();
    if (!f->is_string()) return std::nullopt;
    return std::string(f->get_string());
  };
  auto userId = str("userId"), name = str("name"), photo = str("photo");
  if (!userId || !valid_id(*userId))
    co_return error_response(req, ErrorCode::bad_request,
                             "userId must be 1..128 characters of [A-Za-z0-9._:@-]");
  if (!name || name->size() > kMaxNameLength)
    co_return error_response(req, ErrorCode::bad_request,
                             "name must be a string of at most 256 bytes");
  if (!photo || photo->size() > kMaxPhotoLength)
    co_return error_response(req, ErrorCode::bad_request,
                             "photo must be a string of at most 2048 bytes");
  if (!photo->empty() && !ctx.auth.photo_allowed(*photo))
    co_return error_response(req, ErrorCode::bad_request,
                             "photo must be an https: URL on a host this server allows "
                             "(photo_hosts), or http: on this machine");
  // No name given: someone who is known keeps theirs (a token for "carol" must not rename
  // "Carol" in everyone's list); a newcomer is named by their id.
  auto p = std::make_shared<Profile>(ctx.auth.profile(*userId, *name, *photo));
  bool keepName = name->empty();
  // Jobs are built before the co_await: GCC 12 destroys a lambda temporary inside a co_await
  // expression twice (its captures are freed twice).
  Calls::Job job = [p, keepName](Tx& tx) {
    if (keepName)
      if (auto known = tx.store.get_user(p->userId)) {
        p->name = known->name;
        if (p->photo.empty()) p->photo = known->photo;
      }
    return queries::upsert_user(tx, *p);
  };
  OpResult r = co_await ctx.calls.async_run(std::move(job), asio::use_awaitable);
  if (r.error != ErrorCode::ok) co_return result_response(req, r);
  auto [token, exp] = ctx.auth.issue_dev_token(*p, now_ms());
  co_return json_response(req, http::status::ok,
                          json::object{{"token", token}, {"expiresAt", format_iso(exp)}});
}

// POST /v1/zego-token {callId}: only a participant, only once the call is accepted and while
// it lasts; the token is for this user and this call's room.
asio::awaitable<HttpResponse> zego_token(ServerContext& ctx, const HttpRequest& req,
                                         const Principal& who) {
  if (ctx.config.zego_app_id == 0)
    co_return error_response(req, ErrorCode::not_found,
                             "ZEGO tokens are not configured on this server");
  boost::system::error_code ec;
  json::value body = json::parse(req.body(), ec);
  const json::value* id =
      !ec && body.is_object() ? body.get_object().if_contains("callId") : nullptr;
  if (!id || !id->is_string() || !valid_id(id->get_string()))
    co_return error_response(req, ErrorCode::bad_request, "callId must be a call id");
  Calls::Job job = [user = who.userId, callId = std::string(id->get_string())](Tx& tx) {
    return queries::get_call(tx, user, callId);
  };
  OpResult got = co_await ctx.calls.async_run(std::move(job), asio::use_awaitable);
  if (got.error != ErrorCode::ok) co_return result_response(req, got);
  const Call& c = *got.call;
  if (is_unanswered(c.state) || is_terminal(c.state))
    co_return error_response(req, ErrorCode::invalid_transition,
                             is_terminal(c.state)
                                 ? "the call is over"
                                 : "a ZEGO token is issued once the call is accepted",
                             c);
  if (who.userId.size() > 64)
    co_return error_response(req, ErrorCode::bad_request,
                             "ZEGO user ids are at most 64 characters");
  ZegoTokenSpec spec;
  spec.appId = static_cast<std::uint32_t>(ctx.config.zego_app_id);
  spec.userId = who.userId;
  spec.secret = ctx.secrets.zego();
  spec.payload = zego_room_payload(c.callId);
  spec.ctime = now_ms() / 1000;
  spec.ttlSeconds = ctx.config.zego_token_ttl_s;
  spec.mode = ctx.config.zego_token_mode == "cbc" ? ZegoMode::cbc : ZegoMode::gcm;
  std::string token = zego_token04_random(spec);
  co_return json_response(
      req, http::status::ok,
      json::object{{"appId", ctx.config.zego_app_id},
                   {"token", token},
                   {"roomId", c.callId},
                   {"userId", who.userId},
                   {"expiresAt", format_iso((spec.ctime + spec.ttlSeconds) * 1000)}});
}

// The store job for an API request, or nullptr when no endpoint matches. A plain function:
// jobs are built outside any co_await expression (GCC 12 destroys lambda temporaries inside
// one twice).
Calls::Job api_job(ServerContext& ctx, const HttpRequest& req, const urls::url_view& url,
                   const std::vector<std::string>& seg, const Principal& who) {
  const auto method = req.method();
  if (seg[1] == "calls") {
    if (seg.size() == 2 && method == http::verb::post) {
      Request r = parse_http_request(Op::create, "", req.body());
      limit_call_attempts(ctx, who.userId);
      return ctx.calls.op(who, device_of(req), std::move(r));
    }
    if (seg.size() == 2 && method == http::verb::get) {
      std::size_t limit = 50;
      if (auto l = query_param(url, "limit")) {
        try {
          size_t used = 0;
          long n = std::stol(*l, &used);
          if (used != l->size() || n < 1 || n > 200) throw 0;
          limit = static_cast<std::size_t>(n);
        } catch (...) {
          throw Error(ErrorCode::bad_request, "limit must be an integer 1..200");
        }
      }
      TimeMs before = std::numeric_limits<TimeMs>::max();
      if (auto b = query_param(url, "before")) {
        auto t = parse_iso(*b);
        if (!t) throw Error(ErrorCode::bad_request, "before must be an ISO-8601 UTC time");
        before = *t;
      }
      return [u = who.userId, before, limit](Tx& tx) {
        return queries::history(tx, u, before, limit);
      };
    }
    if (seg.size() == 3 && method == http::verb::get) {
      if (!valid_id(seg[2])) throw Error(ErrorCode::not_found, "no such call");
      return [u = who.userId, id = seg[2]](Tx& tx) { return queries::get_call(tx, u, id); };
    }
    if (seg.size() == 4 && seg[3] == "timeline" && method == http::verb::get) {
      if (!valid_id(seg[2])) throw Error(ErrorCode::not_found, "no such call");
      SummaryLimits lim{ctx.config.ring_timeout_s * 1000, ctx.config.media_timeout_s * 1000,
                        ctx.config.presence_grace_s * 1000};
      return
          [u = who.userId, id = seg[2], lim](Tx& tx) { return queries::timeline(tx, u, id, lim); };
    }
    if (seg.size() == 4 && method == http::verb::post) {
      auto op = parse_op(seg[3]);
      if (!op || *op == Op::create)
        throw Error(ErrorCode::bad_request, "unknown op '" + seg[3].substr(0, 32) + "'");
      if (*op == Op::signal || *op == Op::auth || *op == Op::watch)
        throw Error(ErrorCode::bad_request, std::string(op_name(*op)) + " is WebSocket only");
      Request r = parse_http_request(*op, seg[2], req.body());
      if (*op == Op::report) limit_reports(ctx, who.userId, device_of(req));
      return ctx.calls.op(who, device_of(req), std::move(r));
    }
  } else if (seg[1] == "devices") {
    if (seg.size() == 2 && method == http::verb::post) {
      PushDevice d = parse_device_registration(req.body(), who.userId, ctx.push.reach);
      return [d = std::move(d)](Tx& tx) { return queries::register_device(tx, d); };
    }
    if (seg.size() == 2 && method == http::verb::get)
      return [u = who.userId, env = ctx.config.apns_environment](Tx& tx) {
        return queries::devices(tx, u, env);
      };
    if (seg.size() == 3 && method == http::verb::delete_) {
      if (!valid_id(seg[2])) throw Error(ErrorCode::not_found, "no such device");
      return [u = who.userId, id = seg[2]](Tx& tx) { return queries::delete_device(tx, u, id); };
    }
  } else if (seg[1] == "users" && method == http::verb::get) {
    const Directory policy = ctx.config.directory_policy();
    const Presence& presence = ctx.calls.presence();
    if (seg.size() == 2)
      return [&presence, u = who.userId, policy](Tx& tx) {
        return queries::users(tx, presence, u, std::nullopt, policy);
      };
    if (seg.size() == 3 || (seg.size() == 4 && seg[3] == "busy")) {
      if (!valid_id(seg[2])) throw Error(ErrorCode::not_found, "unknown user");
      if (seg.size() == 3)
        return [&presence, u = who.userId, id = seg[2], policy](Tx& tx) {
          return queries::users(tx, presence, u, id, policy);
        };
      return [u = who.userId, id = seg[2], policy](Tx& tx) {
        return queries::busy(tx, u, id, policy);
      };
    }
  } else if (seg[1] == "contacts") {
    if (seg.size() == 2 && method == http::verb::post) {
      std::string id = id_field(req.body(), "userId");
      if (id == who.userId) throw Error(ErrorCode::bad_request, "you are your own contact already");
      return
          [u = who.userId, id = std::move(id)](Tx& tx) { return queries::add_contact(tx, u, id); };
    }
    if (seg.size() == 3 && method == http::verb::delete_) {
      if (!valid_id(seg[2])) throw Error(ErrorCode::not_found, "no such contact");
      return [u = who.userId, id = seg[2]](Tx& tx) { return queries::remove_contact(tx, u, id); };
    }
  }
  return nullptr;
}

asio::awaitable<HttpResponse> api(ServerContext& ctx, const HttpRequest& req, const Peer& peer,
                                  const urls::url_view& url, const std::vector<std::string>& seg) {
  Principal who = co_await authenticate(ctx, bearer_token(req, false), peer);
  limit_requests(ctx, "u:" + who.userId);
  ctx.calls.touch_user(who);
  const auto method = req.method();
  if (seg[1] == "zego-token" && seg.size() == 2 && method == http::verb::post)
    co_return co_await zego_token(ctx, req, who);
  if (seg[1] == "turn-credentials" && seg.size() == 2 && method == http::verb::get)
    co_return json_response(req, http::status::ok,
                            ice_servers_for(ctx.config, ctx.secrets.turn(), who.userId, now_ms()));
  Calls::Job job = api_job(ctx, req, url, seg, who);
  if (!job) co_return error_response(req, ErrorCode::not_found, "no such endpoint");
  OpResult r = co_await ctx.calls.async_run(std::move(job), asio::use_awaitable);
  co_return result_response(req, r);
}

}  // namespace

std::string bearer_token(const HttpRequest& req, bool allowQuery) {
  auto url = urls::parse_origin_form(req.target());
  bool inQuery = url && url->params().find("access_token") != url->params().end();
  if (inQuery && !allowQuery)
    throw Error(ErrorCode::unauthorized,
                "a token in the URL is accepted on the WebSocket only (proxies log URLs): send "
                "Authorization: Bearer <token>");
  if (auto it = req.find(http::field::authorization); it != req.end()) {
    std::string_view v = it->value();
    if (v.size() > 7 && (v.substr(0, 7) == "Bearer " || v.substr(0, 7) == "bearer "))
      return std::string(v.substr(7));
    return {};
  }
  if (inQuery) return std::string((*url->params().find("access_token")).value);
  return {};
}

namespace {

// Until fetch `attempt` of jwks_url has ended, or 5 s. (A flag looked at every 25 ms rather
// than a cancelled timer: the fetch thread must not touch a timer another thread may be
// arming; this path runs only for a kid nobody trusts yet.)
asio::awaitable<void> keys_fetched(JwksSource& jwks, std::uint64_t attempt) {
  auto done = std::make_shared<std::atomic<bool>>(false);
  jwks.when_done(attempt, [done] { done->store(true); });
  asio::steady_timer timer(co_await asio::this_coro::executor);
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done->load() && std::chrono::steady_clock::now() < until) {
    timer.expires_after(std::chrono::milliseconds(25));
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

}  // namespace

asio::awaitable<Principal> authenticate(ServerContext& ctx, std::string token, const Peer& peer) {
  TimeMs now = now_ms();
  if (TimeMs wait = ctx.limits.authFailures.wait(peer.address, now)) {
    ctx.metrics.count_limited("auth_failures");
    throw Error(ErrorCode::rate_limited,
                "too many failed sign-ins from this address; try again later", retry_seconds(wait));
  }
  std::optional<Error> failed;
  try {
    co_return ctx.auth.authenticate(token, now);
  } catch (const Error& e) {
    failed = e;
  }
  if (failed->code() == ErrorCode::unauthorized && ctx.jwks && ctx.auth.kid_unknown(token, now)) {
    if (auto attempt = ctx.jwks->refetch_for_unknown_kid()) {
      co_await keys_fetched(*ctx.jwks, *attempt);
      now = now_ms();
      try {
        co_return ctx.auth.authenticate(token, now);
      } catch (const Error& e) {
        failed = e;
      }
    }
  }
  if (failed->code() == ErrorCode::unauthorized) ctx.limits.authFailures.take(peer.address, now);
  throw *failed;
}

HttpResponse error_response(const HttpRequest& req, ErrorCode code, std::string_view message,
                            const std::optional<Call>& call, int retryAfterSeconds) {
  json::object error{{"code", error_name(code)}, {"message", message}};
  if (retryAfterSeconds > 0) error["retryAfterSeconds"] = retryAfterSeconds;
  json::object body{{"error", std::move(error)}};
  if (call) body["call"] = to_public_json(*call);
  HttpResponse res = json_response(req, static_cast<http::status>(http_status(code)), body);
  if (code == ErrorCode::unauthorized) res.set(http::field::www_authenticate, "Bearer");
  if (retryAfterSeconds > 0) res.set(http::field::retry_after, std::to_string(retryAfterSeconds));
  return res;
}

namespace {

// The request's Origin when it is one of the other nodes' (public_urls), else empty.
std::string allowed_origin(const ServerContext& ctx, const HttpRequest& req) {
  auto it = req.find(http::field::origin);
  if (it == req.end()) return {};
  std::string origin(it->value());
  for (const auto& o : ctx.config.public_origins())
    if (o == origin) return origin;
  return {};
}

// The page's connect-src additions: every node, over HTTP and WebSocket.
std::string connect_sources(const ServerContext& ctx) {
  std::string out;
  for (const auto& o : ctx.config.public_origins()) {
    std::string ws = (o.rfind("https:", 0) == 0 ? "wss:" : "ws:") + o.substr(o.find(':') + 1);
    out += " " + o + " " + ws;
  }
  return out;
}

std::string_view directory_name(Directory d) {
  switch (d) {
    case Directory::open:
      return "open";
    case Directory::contacts:
      return "contacts";
    case Directory::none:
      return "none";
  }
  return "contacts";
}

// The page's img-src additions: the photo hosts over https, and loopback http in development.
std::string image_sources(const ServerContext& ctx) {
  std::string out;
  for (const auto& h : ctx.config.photo_hosts) out += " https://" + h;
  // (No [::1]: Chromium refuses an IPv6 literal as a CSP source.)
  if (ctx.auth.dev_mode()) out += " http://127.0.0.1:* http://localhost:*";
  return out;
}

asio::awaitable<HttpResponse> route_http(ServerContext& ctx, const HttpRequest& req,
                                         const Peer& peer);

}  // namespace

// A browser page served by one node calls the others (fail-over without a load balancer):
// requests from their origins get CORS headers, and their preflights an answer.
asio::awaitable<HttpResponse> handle_http(ServerContext& ctx, const HttpRequest& req,
                                          const Peer& peer) {
  std::string origin = allowed_origin(ctx, req);
  if (!origin.empty() && req.method() == http::verb::options) {
    HttpResponse res{http::status::no_content, req.version()};
    res.set(http::field::server, "dialtoned");
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::access_control_allow_methods, "GET, POST, DELETE");
    res.set(http::field::access_control_allow_headers, "authorization, content-type, x-device-id");
    res.set(http::field::access_control_max_age, "600");
    res.set(http::field::vary, "Origin");
    res.keep_alive(req.keep_alive());
    co_return res;
  }
  HttpResponse res = co_await route_http(ctx, req, peer);
  if (!origin.empty()) {
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::vary, "Origin");
  }
  co_return res;
}

namespace {

asio::awaitable<HttpResponse> route_http(ServerContext& ctx, const HttpRequest& req,
                                         const Peer& peer) {
  auto parsed = urls::parse_origin_form(req.target());
  if (!parsed) co_return error_response(req, ErrorCode::bad_request, "malformed request target");
  urls::url_view url = *parsed;
  std::vector<std::string> seg;
  for (auto s : url.segments()) seg.push_back(std::string(s));
  const auto method = req.method();

  try {
    if (seg.size() == 1 && method == http::verb::get) {
      if (seg[0] == "healthz")
        co_return json_response(req, http::status::ok, json::object{{"status", "ok"}});
      if (seg[0] == "readyz") {
        // Not ready while the store does not answer, while draining, or while cut off from the
        // other nodes (its calls' other participants may be there).
        bool ready =
            ctx.calls.ready() && !ctx.draining && (!ctx.cluster || ctx.cluster->connected());
        json::object body{{"ready", ready}};
        if (ctx.cluster) body["node"] = ctx.cluster->node_id();
        co_return json_response(req, ready ? http::status::ok : http::status::service_unavailable,
                                std::move(body));
      }
      if (seg[0] == "metrics" && ctx.config.metrics_listen.empty())  // else on its own address
        co_return text_response(req, http::status::ok, "text/plain; version=0.0.4",
                                ctx.metrics.render());
    }
    if (seg.size() >= 2 && seg[0] == "v1") {
      if (seg.size() == 3 && seg[1] == "dev" && seg[2] == "token" && method == http::verb::post)
        co_return co_await dev_token(ctx, req, peer);
      if (seg.size() == 2 && seg[1] == "info" && method == http::verb::get)
        co_return json_response(
            req, http::status::ok,
            json::object{{"devMode", ctx.auth.dev_mode()},
                         {"ringTimeoutSeconds", ctx.config.ring_timeout_s},
                         {"version", std::string(version())},
                         {"vapidPublicKey", ctx.push.vapid->public_key_b64url()},
                         {"servers", json::value_from(ctx.config.public_urls)},
                         {"directory", directory_name(ctx.config.directory_policy())},
                         {"toneRegion", ctx.config.tone_region}});
      if (seg[1] == "admin") {
        Calls::Job job = admin_job(ctx, req, peer, url, seg);
        if (!job) co_return error_response(req, ErrorCode::not_found, "no such endpoint");
        OpResult r = co_await ctx.calls.async_run(std::move(job), asio::use_awaitable);
        co_return result_response(req, r);
      }
      co_return co_await api(ctx, req, peer, url, seg);
    }
    std::string connect = connect_sources(ctx), img = image_sources(ctx);
    if (auto page = web::serve(req, url.path(), {connect, img})) co_return std::move(*page);
    co_return error_response(req, ErrorCode::not_found, "no such endpoint");
  } catch (const Error& e) {
    co_return error_response(req, e.code(), e.what(), std::nullopt, e.retry_after_seconds());
  }
}

}  // namespace

}  // namespace dialtone
