// SPDX-License-Identifier: Apache-2.0
// Untrusted request targets and If-None-Match headers → the embedded browser client's files.
// The input is "<target>\n<if-none-match>"; nothing may crash or trip a sanitizer, and only
// GET/HEAD of a known file may be answered.
#include <boost/url.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "server/web_assets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace http = boost::beast::http;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto nl = text.find('\n');
  std::string_view target = text.substr(0, nl);
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return 0;
  for (auto verb : {http::verb::get, http::verb::head, http::verb::post}) {
    http::request<http::string_body> req{verb, "/", 11};
    if (nl != std::string_view::npos) {
      try {
        req.set(http::field::if_none_match, text.substr(nl + 1));
      } catch (...) {
        return 0;  // a header value Beast refuses never reaches serve()
      }
    }
    auto res = dialtone::web::serve(req, url->path());
    if (res && verb == http::verb::post) std::abort();
    if (res && res->result() == http::status::ok && verb == http::verb::get && res->body().empty())
      std::abort();
  }
  return 0;
}
