// SPDX-License-Identifier: Apache-2.0
#include "server/web_assets.hpp"

namespace dialtone::web {

namespace {

// The page loads only its own scripts and styles; photos only from the hosts the server allows
// (photo_hosts, added by the caller); WebSocket and fetch go to this origin only (and the
// other nodes, added by the caller).
constexpr std::string_view kPolicyHead =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:";
constexpr std::string_view kPolicyConnect = "; connect-src 'self'";
constexpr std::string_view kPolicyTail =
    "; media-src 'self' blob:; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'";

const EmbeddedFile* find(std::string_view path) {
  for (const auto& f : kFiles)
    if (f.path == path) return &f;
  return nullptr;
}

bool etag_matches(const http::request<http::string_body>& req, std::string_view etag) {
  auto it = req.find(http::field::if_none_match);
  if (it == req.end()) return false;
  std::string_view v = it->value();
  if (v == "*") return true;
  // A list of (possibly weak) tags.
  while (!v.empty()) {
    auto comma = v.find(',');
    std::string_view tag = v.substr(0, comma);
    while (!tag.empty() && tag.front() == ' ') tag.remove_prefix(1);
    while (!tag.empty() && tag.back() == ' ') tag.remove_suffix(1);
    if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
    if (tag == etag) return true;
    if (comma == std::string_view::npos) break;
    v.remove_prefix(comma + 1);
  }
  return false;
}

}  // namespace

std::string_view content_type(std::string_view path) {
  auto ends = [&](std::string_view ext) {
    return path.size() >= ext.size() && path.substr(path.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js") || ends(".mjs")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".png")) return "image/png";
  if (ends(".json")) return "application/json";
  if (ends(".webmanifest")) return "application/manifest+json";
  if (ends(".ico")) return "image/x-icon";
  return "application/octet-stream";
}

std::optional<http::response<http::string_body>> serve(const http::request<http::string_body>& req,
                                                       std::string_view path,
                                                       const PageSources& sources) {
  if (req.method() != http::verb::get && req.method() != http::verb::head) return std::nullopt;
  const EmbeddedFile* file = nullptr;
  bool versioned = false;
  if (path == "/" || path == "/index.html") {
    file = find("index.html");
  } else if (path == "/sw.js") {
    file = find("sw.js");  // a service worker's scope is its own path: it lives at the root
  } else if (path.substr(0, 5) == "/app/") {
    // /app/<build id>/<name>: only the current build's id exists.
    std::string_view rest = path.substr(5);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos || rest.substr(0, slash) != kBuildId) return std::nullopt;
    std::string name = "app/" + std::string(rest.substr(slash + 1));
    file = find(name);
    versioned = true;
  }
  if (!file) return std::nullopt;

  http::response<http::string_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "dialtoned");
  res.set(http::field::etag, file->etag);
  res.set(http::field::cache_control,
          versioned ? "public, max-age=31536000, immutable" : "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  if (!versioned) {
    std::string policy(kPolicyHead);
    policy += sources.img;
    policy += kPolicyConnect;
    policy += sources.connect;
    policy += kPolicyTail;
    res.set("Content-Security-Policy", policy);
    res.set("Referrer-Policy", "no-referrer");
    res.set("Permissions-Policy", "microphone=(self), camera=()");
  }
  res.keep_alive(req.keep_alive());
  if (etag_matches(req, file->etag)) {
    res.result(http::status::not_modified);
    return res;
  }
  res.set(http::field::content_type, content_type(file->path));
  if (req.method() == http::verb::head) {
    res.content_length(file->body.size());
  } else {
    res.body() = std::string(file->body);
    res.prepare_payload();
  }
  return res;
}

}  // namespace dialtone::web
