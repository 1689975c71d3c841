// SPDX-License-Identifier: Apache-2.0
// Whatever a client sends on a connection → HTTP/1.1 requests, as the server's sessions read
// them: Beast's parser configured as used (body and header limits), the header first and its
// framing checked (framing_error) before the body, one request after another on the same
// bytes (keep-alive, pipelining), and a WebSocket key checked when one is offered. Nothing may
// crash or trip a sanitizer; a request whose framing was refused must never be completed.
#include <boost/asio/buffer.hpp>
#include <boost/beast/http.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "core/request.hpp"
#include "server/http_framing.hpp"

namespace http = boost::beast::http;

namespace {

// Feeds `in` to the parser until it wants more or is `done`; returns the bytes used.
std::size_t feed(http::request_parser<http::string_body>& p, std::string_view in, bool header,
                 boost::beast::error_code& ec) {
  std::size_t used = 0;
  while (!(header ? p.is_header_done() : p.is_done())) {
    std::size_t n = p.put(boost::asio::buffer(in.data() + used, in.size() - used), ec);
    used += n;
    if (ec || n == 0) break;
  }
  return used;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  for (int requests = 0; requests < 32 && !in.empty(); ++requests) {
    http::request_parser<http::string_body> p;
    dialtone::configure_parser(p);
    boost::beast::error_code ec;
    std::size_t used = feed(p, in, true, ec);
    if (ec || !p.is_header_done()) return 0;         // malformed or incomplete: 400, or wait
    if (dialtone::framing_error(p.get())) return 0;  // 400 and the connection closes
    const auto& h = p.get();
    if (auto key = h.find(http::field::sec_websocket_key); key != h.end())
      (void)dialtone::websocket_key_ok(key->value());
    used += feed(p, in.substr(used), false, ec);
    if (ec || !p.is_done()) return 0;
    if (p.get().body().size() > dialtone::kMaxMessageBytes) std::abort();
    if (used == 0) std::abort();  // a request takes bytes: no endless loop
    in.remove_prefix(used);
  }
  return 0;
}
