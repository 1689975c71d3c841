// The HTTP/1.1 API of protocol v1: one coroutine per request, dispatching on method and path.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/beast/http.hpp>

#include <optional>

#include "core/call.hpp"
#include "core/errors.hpp"
#include "server/context.hpp"

namespace dialtone {

namespace http = boost::beast::http;
using HttpRequest = http::request<http::string_body>;
using HttpResponse = http::response<http::string_body>;

// The other end of a connection.
struct Peer {
  std::string address;  // the client's IP address (for per-address limits; never logged)
  bool tls = false;
};

boost::asio::awaitable<HttpResponse> handle_http(ServerContext& ctx, const HttpRequest& req,
                                                 const Peer& peer);

// The error body of the contract; `call` is added when the call exists for this user, and
// Retry-After (with the body's retryAfterSeconds) when retryAfterSeconds > 0.
HttpResponse error_response(const HttpRequest& req, ErrorCode code, std::string_view message,
                            const std::optional<Call>& call = std::nullopt,
                            int retryAfterSeconds = 0);
// Throws rate_limited when `caller` has used up its call attempts (limit_calls_per_min).
void limit_call_attempts(ServerContext& ctx, const std::string& caller);
// The bearer token of a request: Authorization header, else ?access_token= (WebSocket).
std::string bearer_token(const HttpRequest& req);

}  // namespace dialtone
