// SPDX-License-Identifier: Apache-2.0
// What dialtoned accepts of HTTP/1.1 framing beyond what Beast's parser checks, decided from a
// request's header before its body is read. Anything ambiguous is refused with 400 and the
// connection closed (RFC 9112 §6.3): a proxy in front may read the bytes differently, and the
// difference is a smuggled request.
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <optional>
#include <string>
#include <string_view>

namespace dialtone {

// Why the request's framing is refused, or nullopt. Refused: a Transfer-Encoding other than
// exactly "chunked" ("chunked, identity", "gzip", "xchunked", several of them), or any
// Transfer-Encoding on HTTP/1.0. (Beast itself refuses Content-Length beside chunked,
// conflicting Content-Lengths and malformed chunks.)
std::optional<std::string> framing_error(const boost::beast::http::request_header<>& header);

// A WebSocket opening handshake's Sec-WebSocket-Key: base64 of exactly 16 bytes (RFC 6455
// §4.2.1, item 5).
bool websocket_key_ok(std::string_view key);

// The parser as dialtoned's HTTP sessions configure it (body and header limits), for the
// sessions and for fuzz_http.
inline constexpr std::size_t kMaxHeaderBytes = 16 * 1024;
void configure_parser(boost::beast::http::request_parser<boost::beast::http::string_body>& p);

}  // namespace dialtone
