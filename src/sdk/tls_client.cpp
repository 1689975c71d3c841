// SPDX-License-Identifier: Apache-2.0
#include "sdk/tls_client.hpp"

#include <openssl/ssl.h>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>

#include <stdexcept>

namespace dialtone::sdk {

namespace ssl = boost::asio::ssl;

std::shared_ptr<ssl::context> make_tls_client_context(const std::string& caFile) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);  // no system store: only caFile is trusted
  if (!caFile.empty()) {
    ctx->load_verify_file(caFile, ec);
    if (ec)
      throw std::invalid_argument("cannot load the CA file '" + caFile + "': " + ec.message());
  }
  ctx->set_verify_mode(ssl::verify_peer);
  return ctx;
}

void prepare_tls_client(boost::beast::ssl_stream<boost::beast::tcp_stream>& stream,
                        const std::string& host) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec)  // a name, not an address literal: tell the server which certificate we want
    SSL_set_tlsext_host_name(stream.native_handle(), host.c_str());
  stream.set_verify_mode(ssl::verify_peer);
  stream.set_verify_callback(ssl::host_name_verification(host));
}

}  // namespace dialtone::sdk
