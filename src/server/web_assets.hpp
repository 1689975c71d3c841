// SPDX-License-Identifier: Apache-2.0
// The browser client, embedded in dialtoned at build time (cmake/embed_web.cmake) and served at
// `/`: index.html revalidated on every load (ETag), the ES modules and styles below
// /app/<build id>/ cached for a year, since their URL changes with their content.
#pragma once

#include <boost/beast/http.hpp>

#include <optional>
#include <string_view>
#include <vector>

namespace dialtone::web {

struct EmbeddedFile {
  std::string_view path;  // relative to web/, e.g. "index.html", "app/main.js"
  std::string_view body;
  std::string_view etag;  // quoted, as sent
};

extern const std::string_view kBuildId;
extern const std::vector<EmbeddedFile> kFiles;

namespace http = boost::beast::http;

// The MIME type for a file name, by extension ("application/octet-stream" when unknown).
std::string_view content_type(std::string_view path);

// What the page's Content-Security-Policy adds to its own origin, each a list of sources
// beginning with a space: `connect` (the other nodes of a cluster), `img` (the photo hosts).
struct PageSources {
  std::string_view connect;
  std::string_view img;
};

// Answers GET/HEAD for a path outside the API, or nullopt when it names no asset.
std::optional<http::response<http::string_body>> serve(const http::request<http::string_body>& req,
                                                       std::string_view path,
                                                       const PageSources& sources = {});

}  // namespace dialtone::web
