// SPDX-License-Identifier: Apache-2.0
#include "server/listener.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url.hpp>

#include "core/request.hpp"
#include "server/http_api.hpp"
#include "server/http_framing.hpp"
#include "server/ws_session.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

constexpr char kHsts[] = "max-age=31536000";

// Holds one of the address's connection slots (limit_connections_per_ip) while it lives.
struct ConnectionSlot {
  ServerContext& ctx;
  std::string address;
  ConnectionSlot(ServerContext& c, std::string a) : ctx(c), address(std::move(a)) {
    ctx.metrics.connections++;
  }
  ~ConnectionSlot() {
    ctx.limits.connections.release(address);
    ctx.metrics.connections--;
  }
  ConnectionSlot(const ConnectionSlot&) = delete;
  ConnectionSlot& operator=(const ConnectionSlot&) = delete;
};

template <class Stream>
void shutdown_send(Stream& stream) {
  beast::error_code ec;
  beast::get_lowest_layer(stream).socket().shutdown(tcp::socket::shutdown_send, ec);
}

// Headers every answer carries.
void finish(HttpResponse& res, const Peer& peer) {
  // Some answers echo what users chose (names in profiles): never sniffed as markup.
  res.set("X-Content-Type-Options", "nosniff");
  if (peer.tls) res.set(http::field::strict_transport_security, kHsts);
}

template <class Stream>
asio::awaitable<void> write_and_close(Stream& stream, const Peer& peer, HttpResponse res) {
  res.keep_alive(false);
  finish(res, peer);
  beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
  co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
  shutdown_send(stream);
}

// Upgrades to a WebSocket after authenticating; answers an HTTP error otherwise.
template <class Stream>
asio::awaitable<void> upgrade(ServerContext& ctx, Stream& stream, const Peer& peer,
                              std::shared_ptr<void> keep, HttpRequest req) {
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url || url->path() != "/v1/ws") {
    co_await write_and_close(stream, peer,
                             error_response(req, ErrorCode::not_found, "no such endpoint"));
    co_return;
  }
  Principal who;
  std::string device;
  std::optional<Error> refused;
  std::shared_ptr<OpenSlot> slot;  // one of the user's limit_sessions_per_user
  try {
    // The handshake's own shape first (RFC 6455 §4.2.1): Beast accepts an empty or malformed
    // key.
    auto key = req.find(http::field::sec_websocket_key);
    if (key == req.end() || !websocket_key_ok(key->value()) ||
        req.count(http::field::sec_websocket_key) != 1)
      throw Error(ErrorCode::bad_request,
                  "Sec-WebSocket-Key must be the base64 of 16 random bytes");
    if (req[http::field::sec_websocket_version] != "13")
      throw Error(ErrorCode::bad_request, "Sec-WebSocket-Version must be 13");
    if (req.count(http::field::host) != 1)
      throw Error(ErrorCode::bad_request, "the upgrade request must have one Host header");
    who = co_await authenticate(ctx, bearer_token(req, true), peer);
    auto it = url->params().find("deviceId");
    if (it != url->params().end()) {
      device = std::string((*it).value);
      if (!valid_id(device)) throw Error(ErrorCode::bad_request, "deviceId is not a valid id");
    } else {
      device = random_id();
    }
    if (TimeMs wait = ctx.limits.sessionOpens.take(who.userId, now_ms())) {
      ctx.metrics.count_limited("session_opens");
      throw Error(ErrorCode::rate_limited, "too many connections opened; try again later",
                  retry_seconds(wait));
    }
    // Counted and checked under one lock, before anything is awaited: upgrades that race
    // cannot all pass the check before any of them is counted.
    if (!ctx.limits.sessions.acquire(who.userId)) {
      ctx.metrics.count_limited("sessions");
      throw Error(ErrorCode::rate_limited,
                  "too many connections for this user (" +
                      std::to_string(ctx.config.limit_sessions_per_user) + "); close one first",
                  30);
    }
    slot = std::make_shared<OpenSlot>(ctx.limits.sessions, who.userId);
  } catch (const Error& e) {
    refused = e;
  }
  if (refused) {
    auto res = error_response(req, refused->code(), refused->what(), std::nullopt,
                              refused->retry_after_seconds());
    // The version this server speaks, whatever the refusal (RFC 6455 §4.2.2).
    res.set(http::field::sec_websocket_version, "13");
    co_await write_and_close(stream, peer, std::move(res));
    co_return;
  }
  if (ctx.draining) {
    co_await write_and_close(stream, peer,
                             error_response(req, ErrorCode::unavailable, "shutting down"));
    co_return;
  }
  co_await ctx.calls.async_touch_user(who, use_awaitable);
  auto held = std::make_shared<std::pair<std::shared_ptr<void>, std::shared_ptr<OpenSlot>>>(
      std::move(keep), std::move(slot));
  // A plain session keeps the bare socket (Beast's tcp_stream and its timers are HTTP's).
  auto session = [&] {
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>)
      return std::make_shared<WsSession<tcp::socket>>(
          ctx, stream.release_socket(), peer, std::move(who), std::move(device), std::move(held));
    else
      return std::make_shared<WsSession<Stream>>(ctx, std::move(stream), peer, std::move(who),
                                                 std::move(device), std::move(held));
  }();
  // Spawned rather than awaited: this HTTP coroutine's frames (parser, buffers, the request)
  // would otherwise live as long as the WebSocket, ~10 KiB per idle session.
  auto ex = session->get_executor();
  asio::co_spawn(ex, session->run(ws::accept_key(req[http::field::sec_websocket_key])),
                 asio::detached);
}

// Serves HTTP requests on one connection until it closes, or hands it to a WebSocket.
// `keep` holds what must outlive the stream (the connection slot, the TLS context).
template <class Stream>
asio::awaitable<void> http_session(ServerContext& ctx, Stream stream, Peer peer,
                                   std::shared_ptr<void> keep) {
  beast::flat_buffer buffer;
  auto& tcp = beast::get_lowest_layer(stream);
  // The first request (or WebSocket upgrade) must come whole within the handshake timeout;
  // later ones on a kept-alive connection within the idle timeout.
  auto timeout = std::chrono::seconds(ctx.config.handshake_timeout_s);
  for (;;) {
    http::request_parser<http::string_body> parser;
    configure_parser(parser);
    tcp.expires_after(timeout);  // a slow or silent client cannot hold the socket
    // The header first: its framing is checked before a byte of the body is read.
    auto [ec, n] =
        co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(use_awaitable));
    if (!ec) {
      if (auto bad = framing_error(parser.get())) {
        HttpRequest head;
        head.version(11);
        co_await write_and_close(stream, peer, error_response(head, ErrorCode::bad_request, *bad));
        co_return;
      }
      if (!parser.is_done())
        std::tie(ec, n) =
            co_await http::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
    }
    if (ec == http::error::body_limit) {
      HttpRequest head;
      head.version(11);
      co_await write_and_close(
          stream, peer, error_response(head, ErrorCode::payload_too_large, "body over 64 KiB"));
      co_return;
    }
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::connection_reset && ec != asio::error::operation_aborted &&
          ec != asio::ssl::error::stream_truncated) {
        HttpRequest head;
        head.version(11);
        co_await write_and_close(
            stream, peer, error_response(head, ErrorCode::bad_request, "malformed HTTP request"));
      }
      co_return;
    }
    HttpRequest req = parser.release();
    if (beast::websocket::is_upgrade(req)) {
      buffer.clear();  // this frame lives as long as the WebSocket: keep it small
      buffer.shrink_to_fit();
      co_await upgrade(ctx, stream, peer, std::move(keep), std::move(req));
      co_return;
    }
    tcp.expires_never();
    HttpResponse res = co_await handle_http(ctx, req, peer);
    if (ctx.draining) res.keep_alive(false);
    finish(res, peer);
    // An answer to HEAD has the headers of the GET answer and no body (RFC 9110 §9.3.2):
    // bytes after them would be read as the next answer on a kept-alive connection.
    if (req.method() == http::verb::head && !res.body().empty()) {
      auto size = res.body().size();
      res.body().clear();
      res.content_length(size);
    }
    tcp.expires_after(std::chrono::seconds(ctx.config.idle_timeout_s));
    auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
    if (wec || !res.keep_alive()) {
      shutdown_send(stream);
      co_return;
    }
    timeout = std::chrono::seconds(ctx.config.idle_timeout_s);
  }
}

asio::awaitable<void> tls_session(ServerContext& ctx, tcp::socket socket, Peer peer,
                                  std::shared_ptr<ConnectionSlot> slot) {
  auto tls = ctx.tls->current();
  beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
  beast::get_lowest_layer(stream).expires_after(
      std::chrono::seconds(ctx.config.handshake_timeout_s));
  auto [ec] = co_await stream.async_handshake(asio::ssl::stream_base::server,
                                              asio::as_tuple(use_awaitable));
  if (ec) {
    ctx.metrics.tls_handshake_failures++;
    spdlog::debug("TLS_HANDSHAKE_FAILED error=\"{}\"", ec.message());
    co_return;
  }
  // The connection keeps the context it was accepted with (a SIGHUP swaps in a new one).
  auto keep = std::make_shared<
      std::pair<std::shared_ptr<ConnectionSlot>, std::shared_ptr<asio::ssl::context>>>(
      std::move(slot), std::move(tls));
  co_await http_session(ctx, std::move(stream), std::move(peer), std::move(keep));
}

// Over limit_connections_per_ip: a 429 written at once (plain HTTP) and the connection closed,
// before anything is read or a TLS handshake is spent on it.
template <class Socket>
void refuse_connection(ServerContext& ctx, Socket& socket) {
  ctx.metrics.count_limited("connections");
  if (!ctx.tls) {
    static const std::string kTooMany = [] {
      std::string body =
          R"({"error":{"code":"rate_limited","message":"too many connections from this address",)"
          R"("retryAfterSeconds":10}})";
      return "HTTP/1.1 429 Too Many Requests\r\nServer: dialtoned\r\nContent-Type: "
             "application/json\r\nX-Content-Type-Options: nosniff\r\nRetry-After: "
             "10\r\nConnection: close\r\nContent-Length: " +
             std::to_string(body.size()) + "\r\n\r\n" + body;
    }();
    beast::error_code ec;
    socket.non_blocking(true, ec);
    socket.write_some(asio::buffer(kTooMany), ec);
    socket.shutdown(tcp::socket::shutdown_send, ec);
  }
  beast::error_code ec;
  socket.close(ec);
}

}  // namespace

asio::awaitable<void> accept_loop(ServerContext& ctx, tcp::acceptor& acceptor) {
  for (;;) {
    auto strand = asio::make_strand(acceptor.get_executor());
    auto [ec, socket] = co_await acceptor.async_accept(strand, asio::as_tuple(use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      spdlog::warn("ACCEPT_FAILED error=\"{}\"", ec.message());
      continue;  // e.g. EMFILE: keep serving the connections we have
    }
    beast::error_code rec;
    auto remote = socket.remote_endpoint(rec);
    if (rec) continue;  // gone already
    Peer peer{address_key(remote.address()), ctx.tls != nullptr};
    if (!ctx.limits.connections.acquire(peer.address)) {
      refuse_connection(ctx, socket);
      continue;
    }
    auto slot = std::make_shared<ConnectionSlot>(ctx, peer.address);
    socket.set_option(tcp::no_delay(true));
    if (ctx.tls)
      asio::co_spawn(strand, tls_session(ctx, std::move(socket), std::move(peer), std::move(slot)),
                     asio::detached);
    else
      asio::co_spawn(
          strand,
          http_session(ctx, beast::tcp_stream(std::move(socket)), std::move(peer), std::move(slot)),
          asio::detached);
  }
}

}  // namespace dialtone
