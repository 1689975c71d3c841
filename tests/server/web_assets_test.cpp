// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "server/web_assets.hpp"
#include "support/build_paths.hpp"

namespace dialtone::web {
namespace {

using Request = http::request<http::string_body>;

Request get(std::string_view target, http::verb verb = http::verb::get) {
  Request req{verb, target, 11};
  return req;
}

std::string source(const std::string& rel) {
  std::ifstream f(std::string(dialtone::build_paths::source_dir) + "/web/" + rel, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string versioned(std::string_view name) {
  return "/app/" + std::string(kBuildId) + "/" + std::string(name);
}

TEST(WebAssets, EmbedsEveryFileOfWebByteForByte) {
  ASSERT_FALSE(kFiles.empty());
  for (const auto& f : kFiles) {
    if (f.path == "index.html") continue;
    EXPECT_EQ(f.body, source(std::string(f.path))) << f.path;
  }
}

TEST(WebAssets, IndexPointsAtThisBuildAndIsRevalidated) {
  for (auto path : {"/", "/index.html"}) {
    auto res = serve(get(path), path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->result(), http::status::ok);
    EXPECT_EQ((*res)[http::field::content_type], "text/html; charset=utf-8");
    EXPECT_EQ((*res)[http::field::cache_control], "no-cache");
    EXPECT_FALSE((*res)[http::field::etag].empty());
    EXPECT_NE((*res)["Content-Security-Policy"].find("script-src 'self'"), std::string::npos);
    EXPECT_EQ((*res)["X-Content-Type-Options"], "nosniff");
    EXPECT_NE(res->body().find(versioned("main.js")), std::string::npos);
    EXPECT_EQ(res->body().find("__BUILD__"), std::string::npos);
  }
}

TEST(WebAssets, ModulesAreTypedAndCachedForever) {
  auto res = serve(get(versioned("main.js")), versioned("main.js"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->result(), http::status::ok);
  EXPECT_EQ((*res)[http::field::content_type], "text/javascript; charset=utf-8");
  EXPECT_EQ((*res)[http::field::cache_control], "public, max-age=31536000, immutable");
  EXPECT_EQ(res->body(), source("app/main.js"));
  auto css = serve(get(versioned("style.css")), versioned("style.css"));
  ASSERT_TRUE(css);
  EXPECT_EQ((*css)[http::field::content_type], "text/css; charset=utf-8");
}

TEST(WebAssets, AnotherBuildsPathOrAnUnknownFileIsNotServed) {
  EXPECT_FALSE(serve(get("/app/0000000000000000/main.js"), "/app/0000000000000000/main.js"));
  EXPECT_FALSE(serve(get(versioned("nope.js")), versioned("nope.js")));
  EXPECT_FALSE(serve(get(versioned("../index.html")), versioned("../index.html")));
  EXPECT_FALSE(serve(get("/app/"), "/app/"));
  EXPECT_FALSE(serve(get("/favicon.ico"), "/favicon.ico"));
  EXPECT_FALSE(serve(get("/", http::verb::post), "/"));
}

TEST(WebAssets, MatchingEtagAnswersNotModified) {
  auto first = serve(get("/"), "/");
  ASSERT_TRUE(first);
  std::string etag((*first)[http::field::etag]);
  for (std::string header : {etag, "W/" + etag, "\"x\", " + etag, std::string("*")}) {
    Request req = get("/");
    req.set(http::field::if_none_match, header);
    auto res = serve(req, "/");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->result(), http::status::not_modified) << header;
    EXPECT_TRUE(res->body().empty());
  }
  Request stale = get("/");
  stale.set(http::field::if_none_match, "\"old\"");
  EXPECT_EQ(serve(stale, "/")->result(), http::status::ok);
}

TEST(WebAssets, HeadHasTheLengthButNoBody) {
  auto res = serve(get("/", http::verb::head), "/");
  ASSERT_TRUE(res);
  EXPECT_TRUE(res->body().empty());
  EXPECT_EQ(std::stoul(std::string((*res)[http::field::content_length])),
            serve(get("/"), "/")->body().size());
}

TEST(WebAssets, ContentTypes) {
  EXPECT_EQ(content_type("a.html"), "text/html; charset=utf-8");
  EXPECT_EQ(content_type("a.mjs"), "text/javascript; charset=utf-8");
  EXPECT_EQ(content_type("a.svg"), "image/svg+xml");
  EXPECT_EQ(content_type("a.webmanifest"), "application/manifest+json");
  EXPECT_EQ(content_type("README"), "application/octet-stream");
}

}  // namespace
}  // namespace dialtone::web
