// SPDX-License-Identifier: Apache-2.0
#include "server/http_framing.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/parser.hpp>

#include "core/request.hpp"
#include "util/encoding.hpp"

namespace dialtone {

namespace http = boost::beast::http;

std::optional<std::string> framing_error(const http::request_header<>& header) {
  auto te = header.equal_range(http::field::transfer_encoding);
  if (te.first == te.second) return std::nullopt;
  if (header.version() < 11) return "Transfer-Encoding is not allowed in HTTP/1.0";
  if (std::next(te.first) != te.second) return "more than one Transfer-Encoding";
  std::string_view v = te.first->value();
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  if (!boost::beast::iequals(v, "chunked"))
    return "Transfer-Encoding other than chunked is not accepted";
  return std::nullopt;
}

bool websocket_key_ok(std::string_view key) {
  // 16 bytes are 24 base64 characters, the last two "==".
  if (key.size() != 24 || key.substr(22) != "==") return false;
  auto bytes = base64_decode(key);
  return bytes && bytes->size() == 16;
}

void configure_parser(http::request_parser<http::string_body>& p) {
  p.body_limit(kMaxMessageBytes);
  p.header_limit(kMaxHeaderBytes);
}

}  // namespace dialtone
