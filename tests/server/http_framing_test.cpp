// SPDX-License-Identifier: Apache-2.0
#include "server/http_framing.hpp"

#include <gtest/gtest.h>

namespace dialtone {
namespace {

namespace http = boost::beast::http;

http::request_header<> with_te(std::vector<std::string> values, unsigned version = 11) {
  http::request_header<> h;
  h.method(http::verb::post);
  h.target("/v1/calls");
  h.version(version);
  for (auto& v : values) h.insert(http::field::transfer_encoding, v);
  return h;
}

TEST(HttpFraming, OnlyChunkedAloneIsAccepted) {
  EXPECT_FALSE(framing_error(with_te({})));
  EXPECT_FALSE(framing_error(with_te({"chunked"})));
  EXPECT_FALSE(framing_error(with_te({"Chunked "})));
  // What a proxy may read differently from Beast: a smuggled request.
  for (const char* v : {"chunked, identity", "identity", "gzip", "gzip, chunked", "xchunked",
                        "chunked;q=1", "", "chunked,"})
    EXPECT_TRUE(framing_error(with_te({v}))) << v;
  EXPECT_TRUE(framing_error(with_te({"chunked", "chunked"})));
  EXPECT_TRUE(framing_error(with_te({"chunked"}, 10))) << "no Transfer-Encoding in HTTP/1.0";
}

TEST(HttpFraming, WebSocketKeysAreBase64OfSixteenBytes) {
  EXPECT_TRUE(websocket_key_ok("dGhlIHNhbXBsZSBub25jZQ=="));  // RFC 6455's example
  EXPECT_TRUE(websocket_key_ok("AAAAAAAAAAAAAAAAAAAAAA=="));
  EXPECT_TRUE(websocket_key_ok("+/+/+/+/+/+/+/+/+/+/+w=="));
  for (const char* bad :
       {"", "abc", "dGhlIHNhbXBsZSBub25jZQ", "dGhlIHNhbXBsZSBub25jZQ=", "dGhlIHNhbXBsZSBub25jZQ===",
        "dGhlIHNhbXBsZSBub25jZ!==", "-_-_-_-_-_-_-_-_-_-_-w==", "dGhlIHNhbXBsZSBub25jZSBu"})
    EXPECT_FALSE(websocket_key_ok(bad)) << bad;
}

}  // namespace
}  // namespace dialtone
