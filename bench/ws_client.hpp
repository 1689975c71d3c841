// SPDX-License-Identifier: Apache-2.0
// The benchmark's WebSocket client: a reader coroutine files every message into an inbox;
// flows await the message they need with expect().
#pragma once

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include <deque>
#include <stdexcept>
#include <string>

namespace bench {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using asio::awaitable;
using asio::use_awaitable;
using asio::ip::tcp;

// One WebSocket client: a reader coroutine files every message into an inbox.
class Client {
 public:
  Client(asio::io_context& ioc) : ws_(asio::make_strand(ioc)), wake_(ws_.get_executor()) {}

  // Opens the WebSocket at `target` (with `subprotocol` when not empty) and starts reading.
  awaitable<void> open(const std::string& host, int port, const std::string& target,
                       const std::string& subprotocol = "") {
    co_await beast::get_lowest_layer(ws_).async_connect(
        tcp::endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port)),
        use_awaitable);
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
    beast::get_lowest_layer(ws_).expires_never();
    if (!subprotocol.empty())
      ws_.set_option(websocket::stream_base::decorator([subprotocol](websocket::request_type& req) {
        req.set(http::field::sec_websocket_protocol, subprotocol);
      }));
    co_await ws_.async_handshake(host, target, use_awaitable);
    ws_.text(true);
    asio::co_spawn(ws_.get_executor(), read_loop(), asio::detached);
  }

  // dialtoned: authenticates with a token and waits for hello.
  awaitable<void> connect(const std::string& host, int port, const std::string& token) {
    co_await open(host, port, "/v1/ws?access_token=" + token);
    co_await expect(
        [](const std::string& m) { return m.find("\"type\":\"hello\"") != std::string::npos; });
  }

  awaitable<void> send(std::string msg) {
    co_await ws_.async_write(asio::buffer(msg), use_awaitable);
  }

  // Waits for (and removes) the first message for which `pred` holds.
  template <class Pred>
  awaitable<std::string> expect(Pred pred) {
    for (;;) {
      for (auto it = inbox_.begin(); it != inbox_.end(); ++it)
        if (pred(*it)) {
          std::string m = std::move(*it);
          inbox_.erase(it);
          co_return m;
        }
      if (closed_) throw std::runtime_error("connection closed");
      wake_.expires_after(std::chrono::seconds(10));
      auto [ec] = co_await wake_.async_wait(asio::as_tuple(use_awaitable));
      if (!ec) {
        std::string seen;
        for (auto& m : inbox_) seen += "\n  " + m.substr(0, 300);
        throw std::runtime_error("timed out waiting for a message; unmatched:" + seen);
      }
    }
  }
  // Closes the WebSocket and waits for the reader to finish (then the client may go).
  awaitable<void> close() {
    co_await ws_.async_close(websocket::close_code::normal, use_awaitable);
    while (!closed_) {
      wake_.expires_after(std::chrono::seconds(10));
      auto [ec] = co_await wake_.async_wait(asio::as_tuple(use_awaitable));
      if (!ec && !closed_) throw std::runtime_error("the connection did not close");
    }
  }
  bool closed() const { return closed_; }
  void clear() { inbox_.clear(); }
  size_t inbox_size() const { return inbox_.size(); }

 private:
  awaitable<void> read_loop() {
    beast::flat_buffer buf;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(buf, asio::as_tuple(use_awaitable));
      if (ec) {
        closed_ = true;
        wake_.cancel();
        co_return;
      }
      inbox_.push_back(beast::buffers_to_string(buf.data()));
      buf.consume(buf.size());
      wake_.cancel();
    }
  }
  websocket::stream<beast::tcp_stream> ws_;
  asio::steady_timer wake_;
  std::deque<std::string> inbox_;
  bool closed_ = false;
};

}  // namespace bench
