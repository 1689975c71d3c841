// SPDX-License-Identifier: Apache-2.0
// dialtoned's TLS: a certificate chain and its private key, loaded from PEM files. reload()
// (SIGHUP) loads them again for connections made from then on; a connection keeps the context
// it was accepted with, so a renewed certificate never drops a call. A reload that fails keeps
// the certificate in use.
#pragma once

#include <boost/asio/ssl/context.hpp>

#include <memory>
#include <mutex>
#include <optional>
#include <string>

namespace dialtone {

class TlsCertificates {
 public:
  // Throws ConfigError (tls_cert_file / tls_key_file) when the files cannot be used.
  TlsCertificates(std::string certFile, std::string keyFile);

  std::shared_ptr<boost::asio::ssl::context> current() const;
  // The error, or nothing when the new files are in use.
  std::optional<std::string> reload();
  // The certificate's subject and expiry, for the log.
  std::string describe() const;

 private:
  std::shared_ptr<boost::asio::ssl::context> load() const;

  std::string certFile_, keyFile_;
  mutable std::mutex mu_;
  std::shared_ptr<boost::asio::ssl::context> ctx_;
};

}  // namespace dialtone
