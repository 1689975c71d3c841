// SPDX-License-Identifier: Apache-2.0
#include "sdk/signaling.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/json.hpp>
#include <boost/url.hpp>

#include <stdexcept>

#include <spdlog/spdlog.h>

#include "core/errors.hpp"
#include "sdk/snapshot.hpp"
#include "sdk/tls_client.hpp"
#include "util/encoding.hpp"

namespace dialtone::sdk {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using asio::ip::tcp;
using namespace std::chrono_literals;

namespace {
// docs/protocol.md, "Close codes": the session's token expired without renewal.
constexpr std::uint16_t kCloseTokenExpired = 4001;
}  // namespace

ServerUrl parse_server_url(const std::string& url) {
  if (!http_url_shape(url))
    throw std::invalid_argument("server must be an http(s)://host:port URL, got '" + url + "'");
  auto u = boost::urls::parse_uri(url);
  // (A path not starting with '/' after the host: Boost.URL 1.81 misreading a host name that
  // begins like an IPv4 address, e.g. 127.0.0.1.example.org.)
  if (!u || (u->scheme() != "http" && u->scheme() != "https") || u->host().empty() ||
      (!u->encoded_path().empty() && u->encoded_path().front() != '/'))
    throw std::invalid_argument("server must be an http(s)://host:port URL, got '" + url + "'");
  bool tls = u->scheme() == "https";
  std::string host(u->host());
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  ServerUrl s{host, u->has_port() ? std::string(u->port()) : (tls ? "443" : "80"),
              std::string(u->path()), tls};
  while (!s.prefix.empty() && s.prefix.back() == '/') s.prefix.pop_back();
  return s;
}

std::vector<ServerUrl> parse_server_urls(const std::string& urls) {
  std::vector<ServerUrl> out;
  for (std::size_t start = 0; start <= urls.size();) {
    auto comma = std::min(urls.find(',', start), urls.size());
    std::string one = urls.substr(start, comma - start);
    while (!one.empty() && one.front() == ' ') one.erase(0, 1);
    while (!one.empty() && one.back() == ' ') one.pop_back();
    out.push_back(parse_server_url(one));
    start = comma + 1;
  }
  return out;
}

// One connection: a WebSocket over TCP, or over TLS for an https server.
struct Signaling::Conn {
  using Plain = websocket::stream<beast::tcp_stream>;
  using Tls = websocket::stream<beast::ssl_stream<beast::tcp_stream>>;
  Conn(asio::io_context& ioc, asio::ssl::context* tls) {
    if (tls)
      secure = std::make_unique<Tls>(ioc, *tls);
    else
      plain = std::make_unique<Plain>(ioc);
  }
  beast::tcp_stream& tcp() {
    return plain ? beast::get_lowest_layer(*plain) : beast::get_lowest_layer(*secure);
  }
  template <class F>
  decltype(auto) with(F&& f) {
    return plain ? f(*plain) : f(*secure);
  }
  std::unique_ptr<Plain> plain;
  std::unique_ptr<Tls> secure;
  bool open = false;
  std::string probe;           // the payload of probe()'s ping in flight ("" when none)
  bool probeAnswered = false;  // its pong came back
};

Signaling::Signaling(asio::io_context& ioc, const ClientConfig& cfg, Handlers h)
    : ioc_(ioc),
      cfg_(cfg),
      urls_(parse_server_urls(cfg.server)),
      tls_(make_tls_client_context(cfg.caFile)),
      h_(std::move(h)),
      token_(cfg.token),
      sweepTimer_(ioc),
      retryTimer_(ioc),
      probeTimer_(ioc) {}

Signaling::~Signaling() {
  stop();
}

void Signaling::start() {
  asio::co_spawn(ioc_, run(), asio::detached);
  sweep();
}

void Signaling::stop() {
  if (stopped_) return;
  stopped_ = true;
  sweepTimer_.cancel();
  retryTimer_.cancel();
  probeTimer_.cancel();
  if (conn_) conn_->tcp().close();
  auto pending = std::move(pending_);
  for (auto& [id, p] : pending) p.done(Reply{ErrorCode::network, "the client stopped", {}, 0, 0});
}

void Signaling::request(json::object op, std::function<void(Reply)> done, bool once) {
  if (stopped_) return done(Reply{ErrorCode::network, "the client stopped", {}, 0, 0});
  std::int64_t id = nextId_++;
  op["id"] = id;
  Pending p{json::serialize(op), std::move(done), now_ms(),
            std::chrono::steady_clock::now() + cfg_.requestTimeout, once};
  if (online_) enqueue(p.text);
  pending_.emplace(id, std::move(p));
}

void Signaling::reconnect_now() {
  if (stopped_) return;
  reconnectNow_ = true;
  if (conn_) conn_->tcp().close();  // the session ends; run() connects again at once
  retryTimer_.cancel();             // or a backoff being waited ends
}

void Signaling::probe(std::chrono::milliseconds within) {
  // One probe at a time (Beast allows one ping in flight); offline, run() is connecting already.
  if (stopped_ || !online_ || !conn_ || !conn_->open || !conn_->probe.empty()) return;
  auto conn = conn_;
  conn->probe = "probe-" + std::to_string(++probes_);
  conn->probeAnswered = false;
  conn->with([&](auto& ws) {
    ws.async_ping(websocket::ping_data(conn->probe.c_str()), [conn](beast::error_code) {});
  });
  probeTimer_.expires_after(within);
  probeTimer_.async_wait([this, conn, within](boost::system::error_code ec) {
    bool answered = conn->probeAnswered;
    conn->probe.clear();
    if (ec || stopped_ || conn_ != conn || answered) return;
    spdlog::info("SIGNALING_STALLED no pong within {} ms; connecting again", within.count());
    reconnect_now();
  });
}

void Signaling::set_token(std::string token) {
  if (stopped_ || token.empty() || token == token_) return;
  token_ = std::move(token);
  if (online_)
    renew(token_);
  else
    retryTimer_.cancel();  // a wait for a better token (or a backoff) ends: connect now
}

std::optional<std::string> Signaling::fresh_token() {
  if (!cfg_.tokenProvider) return std::nullopt;
  std::string t;
  try {
    t = cfg_.tokenProvider();
  } catch (const std::exception& e) {
    if (h_.refused) h_.refused(std::string("the token provider failed: ") + e.what());
    return std::nullopt;
  }
  if (t.empty() || t == token_) return std::nullopt;
  return t;
}

void Signaling::renew(std::string token) {
  json::object op{{"op", "auth"}, {"token", std::move(token)}};
  request(std::move(op), [this](Reply r) {
    // A refused renewal changes nothing on the server; the session runs until its token's expiry.
    if (r.code != ErrorCode::ok && h_.refused) h_.refused("token renewal refused: " + r.message);
  });
}

void Signaling::sweep() {
  auto now = std::chrono::steady_clock::now();
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.deadline <= now) {
      auto done = std::move(it->second.done);
      it = pending_.erase(it);
      done(Reply{ErrorCode::network,
                 online_ ? "no reply from the server in time" : "the server cannot be reached",
                 {},
                 0,
                 0});
    } else {
      ++it;
    }
  }
  if (stopped_) return;
  sweepTimer_.expires_after(100ms);
  sweepTimer_.async_wait([this](beast::error_code ec) {
    if (!ec) sweep();
  });
}

void Signaling::enqueue(std::string text) {
  outbox_.push_back(std::move(text));
  if (!writing_ && conn_ && conn_->open) {
    writing_ = true;
    asio::co_spawn(ioc_, write_loop(), asio::detached);
  }
}

asio::awaitable<void> Signaling::write_loop() {
  auto conn = conn_;
  try {
    while (!outbox_.empty() && conn->open) {
      std::string text = std::move(outbox_.front());
      outbox_.pop_front();
      if (conn->plain)
        co_await conn->plain->async_write(asio::buffer(text), asio::use_awaitable);
      else
        co_await conn->secure->async_write(asio::buffer(text), asio::use_awaitable);
    }
  } catch (const std::exception&) {
    // The read side notices the broken connection and reconnects.
  }
  writing_ = false;
}

void Signaling::on_text(const std::string& text) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return;
  auto& o = v.as_object();
  auto* type = o.if_contains("type");
  if (!type || !type->is_string()) return;
  if (type->get_string() == "reply") {
    auto* id = o.if_contains("id");
    if (!id || !id->is_int64()) return;
    auto it = pending_.find(id->get_int64());
    if (it == pending_.end()) return;  // answered already (a retry's second reply)
    Pending p = std::move(it->second);
    pending_.erase(it);
    Reply r{ErrorCode::ok, {}, o, p.sentAt, now_ms()};
    if (auto* ok = o.if_contains("ok"); !ok || !ok->is_bool() || !ok->get_bool())
      std::tie(r.code, r.message) = parse_error(o);
    p.done(std::move(r));
  } else if (type->get_string() == "token_expiring") {
    if (auto t = fresh_token()) set_token(std::move(*t));  // online: renewed in band
  } else if (type->get_string() == "hello") {
    askedAfterRefusal_ = false;
    online_ = true;
    // Everything still pending goes (again) on the new connection.
    for (auto& [id, p] : pending_) {
      p.sentAt = now_ms();
      enqueue(p.text);
    }
    if (h_.hello) h_.hello(o, now_ms());
    if (h_.state) h_.state(ConnectionState::online);
  } else if (h_.message) {
    h_.message(o);
  }
}

asio::awaitable<void> Signaling::session(ServerUrl url) {
  auto conn = std::make_shared<Conn>(ioc_, url.tls ? tls_.get() : nullptr);
  conn_ = conn;
  tcp::resolver resolver(ioc_);
  auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
  auto& tcpStream = conn->tcp();
  tcpStream.expires_after(10s);
  co_await tcpStream.async_connect(endpoints, asio::use_awaitable);
  tcpStream.socket().set_option(tcp::no_delay(true));
  if (conn->secure) {
    prepare_tls_client(conn->secure->next_layer(), url.host);
    co_await conn->secure->next_layer().async_handshake(asio::ssl::stream_base::client,
                                                        asio::use_awaitable);
  }
  tcpStream.expires_never();
  websocket::stream_base::timeout t{};
  t.handshake_timeout = 10s;
  t.idle_timeout = 20s;  // the server pings every 15 s; we ping too when idle
  t.keep_alive_pings = true;
  std::string token = token_;
  conn->with([&](auto& ws) {
    ws.set_option(t);
    // Pongs answer pings: the probe's own (see probe()) says the connection delivers both ways.
    ws.control_callback([c = conn.get()](websocket::frame_type kind, beast::string_view payload) {
      if (kind == websocket::frame_type::pong && !c->probe.empty() && payload == c->probe)
        c->probeAnswered = true;
    });
    ws.set_option(websocket::stream_base::decorator([token](websocket::request_type& req) {
      req.set(beast::http::field::authorization, "Bearer " + token);
      req.set(beast::http::field::user_agent, "libdialtone/0.1");
    }));
  });
  std::string target = url.prefix + "/v1/ws";
  if (!cfg_.deviceId.empty()) target += "?deviceId=" + cfg_.deviceId;
  std::string host = url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host;
  websocket::response_type res;
  beast::error_code ec;
  auto handshake = asio::redirect_error(asio::use_awaitable, ec);
  if (conn->plain)
    co_await conn->plain->async_handshake(res, host + ":" + url.port, target, handshake);
  else
    co_await conn->secure->async_handshake(res, host + ":" + url.port, target, handshake);
  if (ec == websocket::error::upgrade_declined &&
      res.result() == beast::http::status::unauthorized) {
    refusal_ = "unauthorized";
    json::value body = json::parse(res.body(), ec);
    if (!ec && body.is_object()) refusal_ = parse_error(body.as_object()).second;
    co_return;
  }
  if (ec) throw boost::system::system_error(ec);
  conn->open = true;
  beast::flat_buffer buf;
  for (;;) {
    if (conn->plain)
      co_await conn->plain->async_read(buf, handshake);
    else
      co_await conn->secure->async_read(buf, handshake);
    if (ec) {
      expiredClose_ = ec == websocket::error::closed &&
                      conn->with([](auto& ws) { return ws.reason().code; }) == kCloseTokenExpired;
      throw boost::system::system_error(ec);
    }
    std::string text = beast::buffers_to_string(buf.data());
    buf.consume(buf.size());
    on_text(text);
  }
}

asio::awaitable<void> Signaling::run() {
  auto backoff = cfg_.reconnectMin;
  std::size_t failures = 0;  // connections lost or failed since the last hello
  while (!stopped_) {
    if (token_.empty() || expiredClose_)
      if (auto t = fresh_token()) token_ = std::move(*t);
    refusal_.clear();
    expiredClose_ = false;
    if (h_.state) h_.state(ConnectionState::connecting);
    try {
      co_await session(urls_[current_]);
    } catch (const std::exception&) {
    }
    bool wasOnline = online_;
    if (conn_) conn_->open = false;
    conn_.reset();
    online_ = false;
    outbox_.clear();  // pending requests are re-sent from pending_ after the next hello
    for (auto it = pending_.begin(); it != pending_.end();) {
      if (!it->second.once) {
        ++it;
        continue;
      }
      auto done = std::move(it->second.done);
      it = pending_.erase(it);
      done(Reply{ErrorCode::network, "the connection was lost", {}, 0, 0});
    }
    if (stopped_) break;
    if (!refusal_.empty()) {
      // Refused (401): the provider's fresher token is tried once, at once; otherwise the app
      // hears why and nothing is retried until set_token.
      std::optional<std::string> t;
      if (!askedAfterRefusal_) {
        askedAfterRefusal_ = true;
        t = fresh_token();
      }
      if (t) {
        token_ = std::move(*t);
        continue;
      }
      if (h_.refused) h_.refused(refusal_);
      if (h_.state) h_.state(ConnectionState::unauthorized);
      std::string refused = token_;
      while (!stopped_ && token_ == refused) {
        retryTimer_.expires_at(asio::steady_timer::time_point::max());
        boost::system::error_code ec;
        co_await retryTimer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      }
      askedAfterRefusal_ = false;
      backoff = cfg_.reconnectMin;
      failures = 0;
      continue;
    }
    if (h_.state) h_.state(ConnectionState::offline);
    if (expiredClose_) continue;  // back at once with a fresher token, within the server's grace
    if (reconnectNow_) {
      reconnectNow_ = false;
      backoff = cfg_.reconnectMin;
      failures = 0;
      continue;
    }
    if (wasOnline) {
      backoff = cfg_.reconnectMin;
      failures = 0;
    }
    ++failures;
    // Full jitter: a random wait in [backoff/2, backoff], so that many clients cut off at once
    // do not come back at once. With several servers, the next one is tried after a short
    // jitter only (a node that went away is not waited for), until all of them failed in a row.
    std::chrono::milliseconds wait = backoff;
    if (urls_.size() > 1) {
      current_ = (current_ + 1) % urls_.size();
      if (failures < urls_.size()) wait = cfg_.reconnectMin / 2;
    }
    std::uniform_int_distribution<long> d(wait.count() / 2, wait.count());
    retryTimer_.expires_after(std::chrono::milliseconds(d(rng_)));
    boost::system::error_code ec;
    co_await retryTimer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
    if (wait == backoff) {
      backoff = std::min(backoff * 2, cfg_.reconnectMax);
      failures = 0;
    }
  }
}

}  // namespace dialtone::sdk
