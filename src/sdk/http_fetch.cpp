// SPDX-License-Identifier: Apache-2.0
#include "sdk/http_fetch.hpp"

#include "sdk/tls_client.hpp"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/json.hpp>

namespace dialtone::sdk {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {

template <class Stream>
asio::awaitable<void> exchange(Stream& stream, const ServerUrl& url, std::string method,
                               std::string target, std::string token, std::string body,
                               HttpAnswer& a) {
  http::request<http::string_body> req{http::string_to_verb(method), url.prefix + target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "libdialtone/0.1");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  co_await http::async_write(stream, req, asio::use_awaitable);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  co_await http::async_read(stream, buf, res, asio::use_awaitable);
  a.status = static_cast<int>(res.result_int());
  boost::system::error_code ec;
  a.body = boost::json::parse(res.body(), ec);
  if (ec) a.body = nullptr;
}

}  // namespace

asio::awaitable<HttpAnswer> http_request(const ServerUrl& url, std::string method,
                                         std::string target, std::string token, std::string body,
                                         std::chrono::milliseconds timeout,
                                         asio::ssl::context& tls) {
  HttpAnswer a;
  try {
    auto ex = co_await asio::this_coro::executor;
    tcp::resolver resolver(ex);
    auto endpoints = co_await resolver.async_resolve(url.host, url.port, asio::use_awaitable);
    if (url.tls) {
      beast::ssl_stream<beast::tcp_stream> stream(ex, tls);
      beast::get_lowest_layer(stream).expires_after(timeout);
      co_await beast::get_lowest_layer(stream).async_connect(endpoints, asio::use_awaitable);
      prepare_tls_client(stream, url.host);
      co_await stream.async_handshake(asio::ssl::stream_base::client, asio::use_awaitable);
      co_await exchange(stream, url, std::move(method), std::move(target), std::move(token),
                        std::move(body), a);
      beast::get_lowest_layer(stream).close();
    } else {
      beast::tcp_stream stream(ex);
      stream.expires_after(timeout);
      co_await stream.async_connect(endpoints, asio::use_awaitable);
      co_await exchange(stream, url, std::move(method), std::move(target), std::move(token),
                        std::move(body), a);
      beast::error_code ignore;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignore);
    }
  } catch (const boost::system::system_error& e) {
    a.status = 0;
    a.error = e.code().message();  // what() adds Boost's source location: not for people
  } catch (const std::exception& e) {
    a.status = 0;
    a.error = e.what();
  }
  co_return a;
}

}  // namespace dialtone::sdk
