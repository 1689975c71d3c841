// SPDX-License-Identifier: Apache-2.0
#include "server/metrics_listener.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "server/metrics.hpp"

namespace dialtone {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

constexpr auto kIdle = std::chrono::seconds(30);

asio::awaitable<void> metrics_session(Metrics& metrics, beast::tcp_stream stream) {
  beast::flat_buffer buffer;
  for (;;) {
    stream.expires_after(kIdle);
    http::request_parser<http::string_body> parser;  // a body is read and ignored
    parser.header_limit(8192);
    parser.body_limit(8192);
    auto [ec, n] =
        co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;  // closed, idle, or not HTTP
    const auto& req = parser.get();
    http::response<http::string_body> res;
    res.version(req.version());
    res.keep_alive(req.keep_alive());
    std::string_view target = req.target();
    target = target.substr(0, target.find('?'));
    if (req.method() == http::verb::get && target == "/metrics") {
      res.result(http::status::ok);
      res.set(http::field::content_type, "text/plain; version=0.0.4");
      res.body() = metrics.render();
    } else {
      res.result(http::status::not_found);
      // The contract's error body, as on the main listener.
      res.set(http::field::content_type, "application/json");
      res.body() =
          R"({"error":{"code":"not_found","message":"only GET /metrics is served on this address"}})";
    }
    res.prepare_payload();
    auto [wec, w] = co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
    if (wec || !res.keep_alive()) co_return;
  }
}

}  // namespace

asio::awaitable<void> metrics_accept_loop(Metrics& metrics, tcp::acceptor& acceptor) {
  for (;;) {
    auto strand = asio::make_strand(acceptor.get_executor());
    auto [ec, socket] = co_await acceptor.async_accept(strand, asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      spdlog::warn("METRICS_ACCEPT_FAILED error=\"{}\"", ec.message());
      continue;
    }
    asio::co_spawn(strand, metrics_session(metrics, beast::tcp_stream(std::move(socket))),
                   asio::detached);
  }
}

}  // namespace dialtone
