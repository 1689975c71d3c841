#include "server/listener.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/url.hpp>

#include "core/request.hpp"
#include "server/http_api.hpp"
#include "server/ws_session.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace asio = boost::asio;
namespace beast = boost::beast;
using asio::use_awaitable;
using asio::ip::tcp;

namespace {

constexpr auto kRequestTimeout = std::chrono::seconds(30);

asio::awaitable<void> write_and_close(beast::tcp_stream& stream, HttpResponse res) {
  res.keep_alive(false);
  co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
  beast::error_code ec;
  stream.socket().shutdown(tcp::socket::shutdown_send, ec);
}

// Upgrades to a WebSocket after authenticating; answers an HTTP error otherwise.
asio::awaitable<void> upgrade(ServerContext& ctx, beast::tcp_stream& stream, HttpRequest req) {
  auto url = boost::urls::parse_origin_form(req.target());
  if (!url || url->path() != "/v1/ws") {
    co_await write_and_close(stream, error_response(req, ErrorCode::not_found, "no such endpoint"));
    co_return;
  }
  Principal who;
  std::string device;
  std::optional<Error> refused;
  try {
    who = ctx.auth.authenticate(bearer_token(req), now_ms());
    auto it = url->params().find("deviceId");
    if (it != url->params().end()) {
      device = std::string((*it).value);
      if (!valid_id(device)) throw Error(ErrorCode::bad_request, "deviceId is not a valid id");
    } else {
      device = random_id();
    }
  } catch (const Error& e) {
    refused = e;
  }
  if (refused) {
    co_await write_and_close(stream, error_response(req, refused->code(), refused->what()));
    co_return;
  }
  if (ctx.draining) {
    co_await write_and_close(stream, error_response(req, ErrorCode::unavailable, "shutting down"));
    co_return;
  }
  co_await ctx.engine.async_touch_user(who, use_awaitable);
  auto session =
      std::make_shared<WsSession>(ctx, std::move(stream), std::move(who), std::move(device));
  // Spawned rather than awaited: this HTTP coroutine's frames (parser, buffers, the request)
  // would otherwise live as long as the WebSocket, ~10 KiB per idle session.
  auto ex = session->get_executor();
  asio::co_spawn(ex, session->run(std::move(req)), asio::detached);
}

asio::awaitable<void> http_session(ServerContext& ctx, tcp::socket socket) {
  beast::tcp_stream stream(std::move(socket));
  beast::flat_buffer buffer;
  for (;;) {
    http::request_parser<http::string_body> parser;
    parser.body_limit(kMaxMessageBytes);
    parser.header_limit(16 * 1024);
    stream.expires_after(kRequestTimeout);  // a slow or silent client cannot hold the socket
    auto [ec, n] = co_await http::async_read(stream, buffer, parser, asio::as_tuple(use_awaitable));
    if (ec == http::error::body_limit) {
      HttpRequest head;
      head.version(11);
      co_await write_and_close(
          stream, error_response(head, ErrorCode::payload_too_large, "body over 64 KiB"));
      co_return;
    }
    if (ec) {
      if (ec != http::error::end_of_stream && ec != beast::error::timeout &&
          ec != asio::error::connection_reset && ec != asio::error::operation_aborted) {
        HttpRequest head;
        head.version(11);
        co_await write_and_close(
            stream, error_response(head, ErrorCode::bad_request, "malformed HTTP request"));
      }
      co_return;
    }
    HttpRequest req = parser.release();
    if (beast::websocket::is_upgrade(req)) {
      buffer.clear();  // this frame lives as long as the WebSocket: keep it small
      buffer.shrink_to_fit();
      co_await upgrade(ctx, stream, std::move(req));
      co_return;
    }
    stream.expires_never();
    HttpResponse res = co_await handle_http(ctx, req);
    if (ctx.draining) res.keep_alive(false);
    stream.expires_after(kRequestTimeout);
    auto [wec, wn] = co_await http::async_write(stream, res, asio::as_tuple(use_awaitable));
    if (wec || !res.keep_alive()) {
      beast::error_code sec;
      stream.socket().shutdown(tcp::socket::shutdown_send, sec);
      co_return;
    }
  }
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
    socket.set_option(tcp::no_delay(true));
    asio::co_spawn(strand, http_session(ctx, std::move(socket)), asio::detached);
  }
}

}  // namespace dialtone
