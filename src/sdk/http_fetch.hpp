// SPDX-License-Identifier: Apache-2.0
// One HTTP/1.1 request to dialtoned with a bearer token, with a timeout (Beast).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <string>

#include "sdk/signaling.hpp"

namespace dialtone::sdk {

struct HttpAnswer {
  int status = 0;  // 0: no answer (network)
  boost::json::value body;
  std::string error;
};

// `tls` is used for https URLs (verifying the server's certificate for url.host).
boost::asio::awaitable<HttpAnswer> http_request(const ServerUrl& url, std::string method,
                                                std::string target, std::string token,
                                                std::string body, std::chrono::milliseconds timeout,
                                                boost::asio::ssl::context& tls);

}  // namespace dialtone::sdk
