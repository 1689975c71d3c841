// SPDX-License-Identifier: Apache-2.0
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
  // The client's address as limits count it (address_key: an IPv6 address by its /64);
  // never logged.
  std::string address;
  bool tls = false;
};

boost::asio::awaitable<HttpResponse> handle_http(ServerContext& ctx, const HttpRequest& req,
                                                 const Peer& peer);

// The error body of the contract; `call` is added when the call exists for this user, and
// Retry-After (with the body's retryAfterSeconds) when retryAfterSeconds > 0.
HttpResponse error_response(const HttpRequest& req, ErrorCode code, std::string_view message,
                            const std::optional<Call>& call = std::nullopt,
                            int retryAfterSeconds = 0);
// Throws rate_limited when the device has used up its reports (limit_reports_per_min).
void limit_reports(ServerContext& ctx, const std::string& userId, const std::string& deviceId);
// Throws rate_limited when `caller` has used up its call attempts (limit_calls_per_min).
void limit_call_attempts(ServerContext& ctx, const std::string& caller);
// The bearer token of a request: the Authorization header, else — on the WebSocket upgrade
// only (`allowQuery`) — ?access_token=. A token in the query of any other request is refused
// (unauthorized): proxies and servers log query strings.
std::string bearer_token(const HttpRequest& req, bool allowQuery);
// Verifies `token` for a request from `peer`. Failed authentications are counted per address
// (limit_auth_failures_per_min) and, once over, refused with rate_limited before the token is
// even verified. A token signed with a key id nobody trusts yet waits (up to 5 s) for jwks_url
// to be fetched again, when it may be. Throws Error.
boost::asio::awaitable<Principal> authenticate(ServerContext& ctx, std::string token,
                                               const Peer& peer);

}  // namespace dialtone
