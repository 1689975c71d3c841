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

boost::asio::awaitable<HttpResponse> handle_http(ServerContext& ctx, const HttpRequest& req);

// The error body of the contract; `call` is added when the call exists for this user.
HttpResponse error_response(const HttpRequest& req, ErrorCode code, std::string_view message,
                            const std::optional<Call>& call = std::nullopt);
// The bearer token of a request: Authorization header, else ?access_token= (WebSocket).
std::string bearer_token(const HttpRequest& req);

}  // namespace dialtone
