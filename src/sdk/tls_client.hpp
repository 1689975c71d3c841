// SPDX-License-Identifier: Apache-2.0
// TLS for the SDK's connections to an https:// dialtoned: certificates are verified against
// the system's trust store (plus an extra CA file, for private deployments and tests) and for
// the host the URL names.
#pragma once

#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <memory>
#include <string>

namespace dialtone::sdk {

// Throws std::invalid_argument when caFile cannot be loaded.
std::shared_ptr<boost::asio::ssl::context> make_tls_client_context(const std::string& caFile);

// Before the handshake: SNI (for a host name) and verification of the certificate for `host`.
void prepare_tls_client(boost::beast::ssl_stream<boost::beast::tcp_stream>& stream,
                        const std::string& host);

}  // namespace dialtone::sdk
