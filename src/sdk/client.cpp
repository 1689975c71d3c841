// SPDX-License-Identifier: Apache-2.0
// Client::Impl: the SDK thread, the calls it holds, and the glue between signaling and media.
// Everything below runs on the SDK thread unless it says otherwise; `mu_` guards only the few
// values the app may read from its own threads, and no Listener method runs under it.
#include <spdlog/spdlog.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json.hpp>

#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <dialtone/client.hpp>

#include "core/call.hpp"
#include "core/errors.hpp"
#include "media/audio_out.hpp"
#include "media/reaper.hpp"
#include "sdk/call_media.hpp"
#include "sdk/http_fetch.hpp"
#include "sdk/ice_credentials.hpp"
#include "sdk/net_watch.hpp"
#include "sdk/reporter.hpp"
#include "sdk/signaling.hpp"
#include "sdk/snapshot.hpp"
#include "sdk/turn_probe.hpp"

namespace dialtone {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

class Client::Impl : public std::enable_shared_from_this<Impl> {
 public:
  Impl(ClientConfig cfg, Listener& l);
  void start();
  void shutdown();

  template <class F>
  void post(F f) {
    asio::post(ioc_, std::move(f));
  }
  void op(std::string name, std::string callId, json::object extra, Completion<CallSnapshot> done);
  void create(const std::string& receiverId, Completion<CallSnapshot> done);
  void busy(const std::string& userId, Completion<bool> done);
  void register_push(const PushRegistration& reg, Completion<bool> done);
  void unregister_push(Completion<bool> done);
  void history(int limit, Completion<std::vector<CallSnapshot>> done);
  void call_details(const std::string& callId, Completion<CallDetails> done);
  void read_details(const std::string& callId, Completion<CallDetails> done);
  void set_muted(const std::string& callId, bool muted, Completion<CallSnapshot> done);
  void set_output(const std::string& output);
  void network_changed();
  void on_network_changed(const std::string& why);
  void set_token(std::string token) { sig_->set_token(std::move(token)); }

  // Read from any thread.
  std::optional<std::chrono::milliseconds> elapsed(const std::string& callId) const;
  std::chrono::milliseconds offset() const;
  std::string user_id() const;
  std::string device_id() const;

 private:
  void on_hello(const json::object& hello, TimeMs receivedAt);
  void on_message(const json::object& msg);
  void apply(const CallSnapshot& s);
  // Reports ringing for an incoming call (autoRinging), and starts, keeps or ends its media.
  void drive_media(const CallSnapshot& s);
  void ensure_media(const CallSnapshot& s, media::Role role);
  void close_media(const std::string& callId);
  // The calls' media events go to the server's `report` op (sdk/reporter.hpp).
  void add_report(const std::string& callId, json::object event) {
    reporter_.add(callId, std::move(event));
  }
  sdk::Reporter::Hooks reporter_hooks();
  void media_failed(const std::string& callId, ErrorCode code, const std::string& msg);
  CallResult to_result(const sdk::Reply& r);
  void resync(const std::string& callId);
  void ice_servers(std::function<void(std::vector<media::IceServer>)> done);
  asio::awaitable<void> fetch_ice_servers();
  // One HTTP request; `value` turns a 200 body into the result's value (nullopt: malformed).
  template <class T>
  void http_value(std::string method, std::string target, std::string body,
                  std::function<std::optional<T>(const json::value&)> value, Completion<T> done);

  ClientConfig cfg_;
  Listener& listener_;
  asio::io_context ioc_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  std::unique_ptr<sdk::Signaling> sig_;
  std::map<std::string, CallSnapshot> calls_;
  std::set<std::string> own_;      // created by this client: it is the caller's media device
  std::set<std::string> ringing_;  // `ringing` already reported
  std::map<std::string, std::unique_ptr<sdk::CallMedia>> media_;
  std::map<std::string, std::shared_ptr<media::AudioOut>> outputs_;
  std::string output_;
  std::string userId_, deviceId_;
  sdk::ClockOffset clock_;
  // ICE servers from GET /v1/turn-credentials, refreshed before their TURN credentials expire.
  std::vector<media::IceServer> ice_;
  std::chrono::steady_clock::time_point iceExpires_{};
  bool iceFetching_ = false;
  std::vector<std::function<void(std::vector<media::IceServer>)>> iceWaiters_;
  asio::steady_timer iceRefresh_;
  sdk::Reporter reporter_;
  std::set<std::string> outputFailed_;  // calls whose output failed (reported as the output's)
  std::unique_ptr<sdk::NetworkWatch> watch_;  // on the SDK thread only

  mutable std::mutex mu_;  // guards the copies below, for the app's threads
  std::map<std::string, TimeMs> connectedAt_;
  TimeMs offsetMs_ = 0;
  std::string pubUser_, pubDevice_;

 public:
  std::thread thread_;
};

Client::Impl::Impl(ClientConfig cfg, Listener& l)
    : cfg_(std::move(cfg)),
      listener_(l),
      guard_(asio::make_work_guard(ioc_)),
      output_(cfg_.media.output),
      iceRefresh_(ioc_),
      reporter_(ioc_, reporter_hooks()) {
  if (cfg_.token.empty() && !cfg_.tokenProvider)
    throw std::invalid_argument("a token (or a token provider) is required");
  if (cfg_.media.enabled) {
    if (auto bad = media::check_input_spec(cfg_.media.input))
      throw std::invalid_argument("media.input: " + *bad);
    if (auto bad = media::check_output_spec(cfg_.media.output))
      throw std::invalid_argument("media.output: " + *bad);
    if (cfg_.media.mediaRecoveryTimeoutS < 1 || cfg_.media.mediaRecoveryTimeoutS > 3600)
      throw std::invalid_argument("media.mediaRecoveryTimeoutS: from 1 to 3600 seconds, not " +
                                  std::to_string(cfg_.media.mediaRecoveryTimeoutS));
    media::ensure_gstreamer();  // also starts generating the DTLS certificate
  }
  sdk::Signaling::Handlers h;
  h.hello = [this](const json::object& o, TimeMs t) { on_hello(o, t); };
  h.message = [this](const json::object& o) { on_message(o); };
  h.state = [this](ConnectionState s) { listener_.on_connection(s); };
  h.refused = [this](const std::string& reason) {
    listener_.on_error("", ErrorCode::unauthorized, reason);
  };
  sig_ = std::make_unique<sdk::Signaling>(ioc_, cfg_, std::move(h));
}

void Client::Impl::start() {
  post([this] {
    sig_->start();
    if (cfg_.watchNetwork)
      watch_ = std::make_unique<sdk::NetworkWatch>(
          ioc_, [this](const std::string& why) { on_network_changed(why); });
  });
  thread_ = std::thread([this] { ioc_.run(); });
}

void Client::Impl::shutdown() {
  if (std::this_thread::get_id() == thread_.get_id()) {
    // From a callback: waiting for the SDK thread on itself would hang forever. Say so and stop.
    spdlog::critical("dialtone::Client destroyed from one of its own callbacks; that deadlocks");
    std::abort();
  }
  // Media first (its last events join the held reports), then what is held goes — answered or
  // not within Reporter::Hooks::flushWait — before the connection closes.
  auto flushed = std::make_shared<std::promise<void>>();
  post([this, flushed] {
    for (auto& [id, m] : media_) m->close();
    media_.clear();
    reporter_.flush("", [flushed] { flushed->set_value(); });
  });
  flushed->get_future().wait();
  std::promise<void> done;
  post([this, &done] {
    reporter_.stop();
    for (auto& [id, out] : outputs_) out->close();
    outputs_.clear();
    iceRefresh_.cancel();
    watch_.reset();
    sig_->stop();
    done.set_value();
  });
  done.get_future().wait();
  guard_.reset();
  // Whatever is still in flight (a socket being closed, an HTTP fetch) gets a moment, no more.
  asio::steady_timer last(ioc_, 500ms);
  last.async_wait([this](boost::system::error_code) { ioc_.stop(); });
  thread_.join();
  if (cfg_.media.enabled) {
    media::wait_retired();  // pipelines being torn down
    media::wait_for_warmup();
  }
}

sdk::Reporter::Hooks Client::Impl::reporter_hooks() {
  sdk::Reporter::Hooks h;
  h.send = [this](json::object msg, std::function<void(ErrorCode, const std::string&)> done) {
    sig_->request(
        std::move(msg), [done = std::move(done)](const sdk::Reply& r) { done(r.code, r.message); },
        /*once=*/true);
  };
  h.online = [this] { return sig_ && sig_->online(); };
  h.serverNow = [this]() -> std::optional<TimeMs> {
    if (!clock_.known()) return std::nullopt;
    return now_ms() + clock_.offset();
  };
  return h;
}

CallResult Client::Impl::to_result(const sdk::Reply& r) {
  CallResult out;
  out.code = r.code;
  out.message = r.message;
  if (auto* st = r.body.if_contains("serverTime"); st && st->is_string() && r.sentAt)
    if (auto t = parse_iso(st->get_string())) {
      clock_.add(r.sentAt, r.receivedAt, *t);
      std::lock_guard lock(mu_);
      offsetMs_ = clock_.offset();
    }
  if (auto* c = r.body.if_contains("call"); c && c->is_object())
    if (auto s = parse_public_json(c->get_object())) {
      apply(*s);
      if (r.code == ErrorCode::ok)
        out.value = calls_[s->callId];
      else
        out.call = calls_[s->callId];
    }
  if (r.code == ErrorCode::ok && !out.value) {
    out.code = ErrorCode::internal;
    out.message = "the reply carried no call";
  }
  return out;
}

void Client::Impl::op(std::string name, std::string callId, json::object extra,
                      Completion<CallSnapshot> done) {
  json::object msg = std::move(extra);
  msg["op"] = name;
  msg["callId"] = callId;
  sig_->request(std::move(msg), [this, done = std::move(done)](sdk::Reply r) {
    auto result = to_result(r);
    if (done) done(std::move(result));
  });
}

void Client::Impl::create(const std::string& receiverId, Completion<CallSnapshot> done) {
  sig_->request(json::object{{"op", "create"}, {"receiverId", receiverId}},
                [this, done = std::move(done)](sdk::Reply r) {
                  // Known as ours before the snapshot is applied, so media is prepared at once.
                  if (auto* c = r.body.if_contains("call");
                      c && c->is_object() && r.code == ErrorCode::ok)
                    if (auto* id = c->as_object().if_contains("callId"); id && id->is_string())
                      own_.insert(std::string(id->get_string()));
                  auto result = to_result(r);
                  if (result.ok())
                    spdlog::info("CALL_START_CREATED callId={}", result.value->callId);
                  if (done) done(std::move(result));
                });
}

template <class T>
void Client::Impl::http_value(std::string method, std::string target, std::string body,
                              std::function<std::optional<T>(const json::value&)> value,
                              Completion<T> done) {
  asio::co_spawn(
      ioc_,
      [this, method = std::move(method), target = std::move(target), body = std::move(body),
       value = std::move(value), done = std::move(done)]() -> asio::awaitable<void> {
        auto a = co_await sdk::http_request(sdk::ServerUrl(sig_->server()), method, target,
                                            sig_->token(), body, cfg_.requestTimeout,
                                            sig_->tls_context());
        Result<T> r;
        std::optional<T> v = a.status == 200 ? value(a.body) : std::nullopt;
        if (v) {
          r.value = std::move(*v);
        } else if (a.status == 0) {
          r.code = ErrorCode::network;
          r.message = a.error;
        } else if (a.body.is_object() && a.body.as_object().contains("error")) {
          std::tie(r.code, r.message) = sdk::parse_error(a.body.as_object());
        } else {
          r.code = ErrorCode::internal;
          r.message = "unexpected answer (HTTP " + std::to_string(a.status) + ")";
        }
        if (done) done(std::move(r));
      },
      asio::detached);
}

void Client::Impl::history(int limit, Completion<std::vector<CallSnapshot>> done) {
  http_value<std::vector<CallSnapshot>>(
      "GET", "/v1/calls?limit=" + std::to_string(std::clamp(limit, 1, 200)), "",
      [](const json::value& body) -> std::optional<std::vector<CallSnapshot>> {
        const auto* calls = body.is_object() ? body.as_object().if_contains("calls") : nullptr;
        if (!calls || !calls->is_array()) return std::nullopt;
        std::vector<CallSnapshot> out;
        for (const auto& c : calls->get_array())
          if (c.is_object())
            if (auto s = parse_public_json(c.get_object())) out.push_back(std::move(*s));
        return out;
      },
      std::move(done));
}

void Client::Impl::call_details(const std::string& callId, Completion<CallDetails> done) {
  // This device's events for the call go first, so that the answer includes them.
  reporter_.flush(callId, [this, callId, done = std::move(done)]() mutable {
    read_details(callId, std::move(done));
  });
}

void Client::Impl::read_details(const std::string& callId, Completion<CallDetails> done) {
  http_value<CallDetails>(
      "GET", "/v1/calls/" + callId + "/timeline", "",
      [](const json::value& body) -> std::optional<CallDetails> {
        const auto* o = body.if_object();
        if (!o) return std::nullopt;
        const auto* call = o->if_contains("call");
        const auto* timeline = o->if_contains("timeline");
        const auto* summary = o->if_contains("summary");
        if (!call || !call->is_object() || !timeline || !summary || !summary->is_object())
          return std::nullopt;
        auto snapshot = parse_public_json(call->get_object());
        if (!snapshot) return std::nullopt;
        CallDetails d;
        d.call = std::move(*snapshot);
        d.timelineJson = json::serialize(*timeline);
        d.summaryJson = json::serialize(*summary);
        if (const auto* c = summary->get_object().if_contains("likelyCause"); c && c->is_string())
          d.likelyCause = std::string(c->get_string());
        return d;
      },
      std::move(done));
}

void Client::Impl::busy(const std::string& userId, Completion<bool> done) {
  http_value<bool>(
      "GET", "/v1/users/" + userId + "/busy", "",
      [](const json::value& body) -> std::optional<bool> {
        const json::value* busy = body.is_object() ? body.as_object().if_contains("busy") : nullptr;
        if (!busy || !busy->is_bool()) return std::nullopt;
        return busy->get_bool();
      },
      std::move(done));
}

void Client::Impl::register_push(const PushRegistration& reg, Completion<bool> done) {
  if (cfg_.deviceId.empty()) {
    BoolResult r;
    r.code = ErrorCode::bad_request;
    r.message = "push needs ClientConfig::deviceId: the device's stable id";
    if (done) done(std::move(r));
    return;
  }
  json::object body{{"deviceId", cfg_.deviceId}, {"platform", reg.platform}};
  if (reg.platform == "webpush") {
    boost::system::error_code ec;
    json::value sub = json::parse(reg.token, ec);
    body["subscription"] = ec ? json::value(reg.token) : std::move(sub);
  } else {
    body["token"] = reg.token;
  }
  if (!reg.alertToken.empty()) body["alertToken"] = reg.alertToken;
  if (!reg.environment.empty()) body["environment"] = reg.environment;
  http_value<bool>(
      "POST", "/v1/devices", json::serialize(body),
      [](const json::value&) -> std::optional<bool> { return true; }, std::move(done));
}

void Client::Impl::unregister_push(Completion<bool> done) {
  http_value<bool>(
      "DELETE", "/v1/devices/" + cfg_.deviceId, "",
      [](const json::value&) -> std::optional<bool> { return true; }, std::move(done));
}

void Client::Impl::set_muted(const std::string& callId, bool muted, Completion<CallSnapshot> done) {
  if (auto it = media_.find(callId); it != media_.end()) it->second->set_muted(muted);
  op("mute", callId, json::object{{"muted", muted}}, std::move(done));
}

void Client::Impl::set_output(const std::string& output) {
  output_ = output;
  for (auto& [id, out] : outputs_) {
    try {
      out->reopen(output);
      add_report(
          id, json::object{{"type", "device_changed"}, {"kind", "output"}, {"change", "changed"}});
    } catch (const Error& e) {
      add_report(
          id, json::object{{"type", "device_changed"}, {"kind", "output"}, {"change", "failed"}});
      listener_.on_error(id, e.code(), e.what());
    }
  }
}

void Client::Impl::network_changed() {
  on_network_changed("the app says so");
}

// Another network: the WebSocket is likely bound to an address that is gone (connect again at
// once rather than at the ping timeout), the TURN transport that works may differ (probe again
// with the next credentials), and each call's media path is rebuilt on the new network.
void Client::Impl::on_network_changed(const std::string& why) {
  spdlog::info("NETWORK_CHANGED {} calls={}", why, media_.size());
  iceExpires_ = {};
  sig_->reconnect_now();
  for (auto& [id, m] : media_) m->recover("network changed", true);
}

void Client::Impl::on_hello(const json::object& hello, TimeMs receivedAt) {
  auto str = [&](std::string_view k) {
    auto* v = hello.if_contains(k);
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  };
  userId_ = str("userId");
  deviceId_ = str("deviceId");
  // A first estimate of the server's clock (one way: off by the hello's transit), until the
  // first reply gives a round trip.
  if (auto t = parse_iso(str("serverTime"))) clock_.seed(*t - receivedAt);
  // Without a configured device id the server assigned one: keep it for every reconnect, or
  // the calls this device is in (their media, their presence) would belong to a device gone.
  if (sig_->device().empty() && !deviceId_.empty()) sig_->set_device(deviceId_);
  {
    std::lock_guard lock(mu_);
    offsetMs_ = clock_.offset();
    pubUser_ = userId_;
    pubDevice_ = deviceId_;
  }
  // ICE servers ahead of the next call: the TURN probe (a UDP wait, a TCP connect where UDP is
  // blocked) then costs the call nothing. After a network change they are fetched anew.
  if (cfg_.media.enabled) ice_servers([](std::vector<media::IceServer>) {});
  // The server resends our active calls; a call that ended while we were away is not among
  // them, so ask for each one we still hold as active.
  for (auto& [id, c] : calls_)
    if (is_active(c.state)) resync(id);
}

void Client::Impl::resync(const std::string& callId) {
  asio::co_spawn(
      ioc_,
      [this, callId]() -> asio::awaitable<void> {
        auto a =
            co_await sdk::http_request(sdk::ServerUrl(sig_->server()), "GET", "/v1/calls/" + callId,
                                       sig_->token(), "", cfg_.requestTimeout, sig_->tls_context());
        if (a.status == 200 && a.body.is_object())
          if (auto s = parse_public_json(a.body.as_object())) apply(*s);
      },
      asio::detached);
}

void Client::Impl::on_message(const json::object& msg) {
  auto type = msg.at("type").as_string();
  if (type == "call") {
    if (auto* c = msg.if_contains("call"); c && c->is_object())
      if (auto s = parse_public_json(c->get_object())) apply(*s);
  } else if (type == "signal") {
    auto* id = msg.if_contains("callId");
    auto* data = msg.if_contains("data");
    if (!id || !id->is_string() || !data || !data->is_object()) return;
    if (auto it = media_.find(std::string(id->get_string())); it != media_.end())
      it->second->on_signal(data->get_object());
  }
}

void Client::Impl::apply(const CallSnapshot& s) {
  auto it = calls_.find(s.callId);
  if (it != calls_.end() && s.version <= it->second.version) return;  // stale or seen
  const bool wasConnected = it != calls_.end() && it->second.state == CallState::connected;
  calls_[s.callId] = s;
  {
    std::lock_guard lock(mu_);
    if (s.connectedAt)
      connectedAt_[s.callId] = *s.connectedAt;
    else
      connectedAt_.erase(s.callId);
    if (is_terminal(s.state)) connectedAt_.erase(s.callId);
  }
  spdlog::debug("CALL_SNAPSHOT callId={} state={} version={}", s.callId, state_name(s.state),
                s.version);
  if (s.state == CallState::connected && !wasConnected)
    spdlog::info("CALL_CONNECTED callId={}", s.callId);
  if (is_terminal(s.state))
    spdlog::info("CALL_ENDED callId={} state={} duration={} reason={}", s.callId,
                 state_name(s.state), s.durationSeconds.value_or(0), s.reason.value_or(""));
  listener_.on_call(s);
  drive_media(s);
}

void Client::Impl::drive_media(const CallSnapshot& s) {
  if (is_terminal(s.state)) return close_media(s.callId);
  const bool caller = s.callerId == userId_;
  // Ringing is reported with or without the SDK's media (an app that brings its own rings too).
  bool incoming = !caller && (s.state == CallState::calling || s.state == CallState::ringing);
  if (incoming && cfg_.autoRinging && ringing_.insert(s.callId).second)
    op("ringing", s.callId, {}, {});
  if (!cfg_.media.enabled) return;
  if (caller) {
    if (!own_.count(s.callId)) return;  // another device of ours placed it
    ensure_media(s, media::Role::offerer);
    if (s.state != CallState::calling && s.state != CallState::ringing) media_[s.callId]->release();
    return;
  }
  if (incoming) {
    ensure_media(s, media::Role::answerer);  // prepared while the screen rings
    return;
  }
  if (s.answeredBy && *s.answeredBy == deviceId_) {
    ensure_media(s, media::Role::answerer);
    media_[s.callId]->release();
  } else {
    close_media(s.callId);  // another device answered
  }
}

void Client::Impl::ensure_media(const CallSnapshot& s, media::Role role) {
  if (media_.count(s.callId)) return;
  const std::string id = s.callId;
  sdk::CallMedia::Env env;
  env.post = [this](std::function<void()> f) { asio::post(ioc_, std::move(f)); };
  env.signal = [this, id](json::object data) {
    op("signal", id, json::object{{"data", std::move(data)}}, {});
  };
  env.ready = [this, id] { op("ready", id, {}, {}); };
  // Later, not now: failing closes the call's media, which is on the stack at this point.
  env.failed = [this, id](ErrorCode code, std::string msg) {
    post([this, id, code, msg] { media_failed(id, code, msg); });
  };
  env.event = [this, id](MediaEvent e) {
    // A path gone quiet may be the network under the WebSocket too: it is checked, and replaced
    // if stalled, so that the restart's signals and the reports do not wait in it.
    if (e == MediaEvent::reconnecting) sig_->probe();
    listener_.on_media(id, e);
  };
  env.quality = [this, id](const QualityReport& r) { listener_.on_quality(id, r); };
  env.path = [this, id](const MediaPath& p) { listener_.on_media_path(id, p); };
  env.securityCode = [this, id](const std::string& code) { listener_.on_security_code(id, code); };
  env.report = [this, id](json::object e) { add_report(id, std::move(e)); };
  env.iceServers = [this](auto done) { ice_servers(std::move(done)); };
  env.output = [this, id]() -> std::shared_ptr<media::AudioOut> {
    auto& out = outputs_[id];
    if (!out) {
      try {
        out = std::make_shared<media::AudioOut>(output_);
      } catch (const Error& e) {
        outputs_.erase(id);
        outputFailed_.insert(id);
        add_report(
            id, json::object{{"type", "device_changed"}, {"kind", "output"}, {"change", "failed"}});
        post([this, id, msg = std::string(e.what())] {
          media_failed(id, ErrorCode::media_device, msg);
        });
        return nullptr;
      }
    }
    return out;
  };
  auto m = std::make_unique<sdk::CallMedia>(ioc_, id, role, cfg_.media, std::move(env));
  auto* raw = m.get();
  media_[id] = std::move(m);
  raw->prepare();
}

void Client::Impl::close_media(const std::string& callId) {
  if (auto it = media_.find(callId); it != media_.end()) {
    auto m = std::move(it->second);
    media_.erase(it);
    m->close();
  }
  reporter_.flush(callId);
  if (auto it = outputs_.find(callId); it != outputs_.end()) {
    auto out = std::move(it->second);
    outputs_.erase(it);
    out->close();
  }
}

void Client::Impl::media_failed(const std::string& callId, ErrorCode code, const std::string& msg) {
  if (!media_.count(callId)) return;
  listener_.on_error(callId, code, msg);
  // The output's failure was reported where it happened; any other device failure is the
  // microphone's (the input pipeline).
  if (code == ErrorCode::media_device && outputFailed_.erase(callId) == 0)
    add_report(
        callId,
        json::object{{"type", "device_changed"}, {"kind", "microphone"}, {"change", "failed"}});
  auto it = calls_.find(callId);
  close_media(callId);
  if (it == calls_.end() || is_terminal(it->second.state)) return;
  if (it->second.state == CallState::calling || it->second.state == CallState::ringing) {
    // Unanswered: the receiver rejects, the caller cancels — the call cannot be taken here.
    bool caller = it->second.callerId == userId_;
    op(caller ? "end" : "reject", callId, json::object{{"reason", std::string(error_name(code))}},
       {});
  } else {
    op("fail", callId, json::object{{"reason", std::string(error_name(code))}}, {});
  }
}

void Client::Impl::ice_servers(std::function<void(std::vector<media::IceServer>)> done) {
  if (std::chrono::steady_clock::now() + 60s < iceExpires_) return done(ice_);
  iceWaiters_.push_back(std::move(done));
  if (iceFetching_) return;
  iceFetching_ = true;
  asio::co_spawn(ioc_, fetch_ice_servers(), asio::detached);
}

asio::awaitable<void> Client::Impl::fetch_ice_servers() {
  auto a = co_await sdk::http_request(sdk::ServerUrl(sig_->server()), "GET", "/v1/turn-credentials",
                                      sig_->token(), "", 5s, sig_->tls_context());
  sdk::IceCredentials got;  // none, and asked again after its 30 s, when unavailable
  if (a.status == 200 && a.body.is_object())
    got = sdk::parse_ice_credentials(a.body);
  else
    spdlog::warn("TURN_CREDENTIALS_UNAVAILABLE status={} {}", a.status, a.error);
  auto ttl = got.ttl;
  // One URL per TURN server, the best that works from this network (see turn_probe.hpp).
  auto servers = co_await sdk::probe_turn_servers(std::move(got.servers));
  ice_ = servers;
  iceExpires_ = std::chrono::steady_clock::now() + ttl;
  iceFetching_ = false;
  // Refresh ahead of expiry while calls are up, so a recovery never waits for credentials.
  iceRefresh_.expires_after(ttl * 4 / 5);
  iceRefresh_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !media_.empty() && !iceFetching_) {
      iceFetching_ = true;
      asio::co_spawn(ioc_, fetch_ice_servers(), asio::detached);
    }
  });
  auto waiters = std::move(iceWaiters_);
  for (auto& w : waiters) w(servers);
}

std::optional<std::chrono::milliseconds> Client::Impl::elapsed(const std::string& callId) const {
  std::lock_guard lock(mu_);
  auto it = connectedAt_.find(callId);
  if (it == connectedAt_.end()) return std::nullopt;
  TimeMs serverNow = now_ms() + offsetMs_;
  return std::chrono::milliseconds(std::max<TimeMs>(0, serverNow - it->second));
}
std::chrono::milliseconds Client::Impl::offset() const {
  std::lock_guard lock(mu_);
  return std::chrono::milliseconds(offsetMs_);
}
std::string Client::Impl::user_id() const {
  std::lock_guard lock(mu_);
  return pubUser_;
}
std::string Client::Impl::device_id() const {
  std::lock_guard lock(mu_);
  return pubDevice_;
}

// --- Client: every call is posted to the SDK thread -----------------------------------------

Client::Client(ClientConfig config, Listener& listener)
    : impl_(std::make_shared<Impl>(std::move(config), listener)) {
  impl_->start();
}

Client::~Client() {
  impl_->shutdown();
}

void Client::start_call(const std::string& receiverId, Completion<CallSnapshot> done) {
  impl_->post([i = impl_.get(), receiverId, done = std::move(done)]() mutable {
    i->create(receiverId, std::move(done));
  });
}
void Client::accept(const std::string& callId, Completion<CallSnapshot> done) {
  impl_->post([i = impl_.get(), callId, done = std::move(done)]() mutable {
    i->op("accept", callId, {}, std::move(done));
  });
}
void Client::reject(const std::string& callId, Completion<CallSnapshot> done,
                    const std::string& reason) {
  json::object extra;
  if (!reason.empty()) extra["reason"] = reason;
  impl_->post([i = impl_.get(), callId, extra, done = std::move(done)]() mutable {
    i->op("reject", callId, extra, std::move(done));
  });
}
void Client::end(const std::string& callId, Completion<CallSnapshot> done,
                 const std::string& reason) {
  json::object extra;
  if (!reason.empty()) extra["reason"] = reason;
  impl_->post([i = impl_.get(), callId, extra, done = std::move(done)]() mutable {
    i->op("end", callId, extra, std::move(done));
  });
}
void Client::ringing(const std::string& callId, Completion<CallSnapshot> done) {
  impl_->post([i = impl_.get(), callId, done = std::move(done)]() mutable {
    i->op("ringing", callId, {}, std::move(done));
  });
}
void Client::is_user_busy(const std::string& userId, Completion<bool> done) {
  impl_->post([i = impl_.get(), userId, done = std::move(done)]() mutable {
    i->busy(userId, std::move(done));
  });
}

void Client::register_push(const PushRegistration& registration, Completion<bool> done) {
  impl_->post([i = impl_.get(), registration, done = std::move(done)]() mutable {
    i->register_push(registration, std::move(done));
  });
}
void Client::unregister_push(Completion<bool> done) {
  impl_->post(
      [i = impl_.get(), done = std::move(done)]() mutable { i->unregister_push(std::move(done)); });
}

void Client::history(int limit, Completion<std::vector<CallSnapshot>> done) {
  impl_->post([i = impl_.get(), limit, done = std::move(done)]() mutable {
    i->history(limit, std::move(done));
  });
}
void Client::call_details(const std::string& callId, Completion<CallDetails> done) {
  impl_->post([i = impl_.get(), callId, done = std::move(done)]() mutable {
    i->call_details(callId, std::move(done));
  });
}

namespace {
template <class T, class F>
std::future<Result<T>> as_future(F start) {
  auto p = std::make_shared<std::promise<Result<T>>>();
  auto f = p->get_future();
  start([p](Result<T> r) { p->set_value(std::move(r)); });
  return f;
}
}  // namespace

std::future<CallResult> Client::start_call(const std::string& receiverId) {
  return as_future<CallSnapshot>([&](auto cb) { start_call(receiverId, cb); });
}
std::future<CallResult> Client::accept(const std::string& callId) {
  return as_future<CallSnapshot>([&](auto cb) { accept(callId, cb); });
}
std::future<CallResult> Client::reject(const std::string& callId) {
  return as_future<CallSnapshot>([&](auto cb) { reject(callId, cb); });
}
std::future<CallResult> Client::end(const std::string& callId) {
  return as_future<CallSnapshot>([&](auto cb) { end(callId, cb); });
}
std::future<BoolResult> Client::is_user_busy(const std::string& userId) {
  return as_future<bool>([&](auto cb) { is_user_busy(userId, cb); });
}
std::future<Result<std::vector<CallSnapshot>>> Client::history(int limit) {
  return as_future<std::vector<CallSnapshot>>([&](auto cb) { history(limit, cb); });
}
std::future<Result<CallDetails>> Client::call_details(const std::string& callId) {
  return as_future<CallDetails>([&](auto cb) { call_details(callId, cb); });
}

void Client::set_muted(const std::string& callId, bool muted, Completion<CallSnapshot> done) {
  impl_->post([i = impl_.get(), callId, muted, done = std::move(done)]() mutable {
    i->set_muted(callId, muted, std::move(done));
  });
}
void Client::set_output(const std::string& output) {
  if (auto bad = media::check_output_spec(output)) throw std::invalid_argument(*bad);
  impl_->post([i = impl_.get(), output] { i->set_output(output); });
}
void Client::set_token(const std::string& token) {
  impl_->post([i = impl_.get(), token] { i->set_token(token); });
}
void Client::network_changed() {
  impl_->post([i = impl_.get()] { i->network_changed(); });
}
std::optional<std::chrono::milliseconds> Client::elapsed(const std::string& callId) const {
  return impl_->elapsed(callId);
}
std::chrono::milliseconds Client::clock_offset() const {
  return impl_->offset();
}
std::string Client::user_id() const {
  return impl_->user_id();
}
std::string Client::device_id() const {
  return impl_->device_id();
}

}  // namespace dialtone
