// SPDX-License-Identifier: Apache-2.0
#include "server/tls.hpp"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "server/config.hpp"
#include "util/crypto.hpp"
#include "util/secret_file.hpp"

namespace dialtone {

namespace ssl = boost::asio::ssl;

TlsCertificates::TlsCertificates(std::string certFile, std::string keyFile)
    : certFile_(std::move(certFile)), keyFile_(std::move(keyFile)) {
  ctx_ = load();
}

std::shared_ptr<ssl::context> TlsCertificates::load() const {
  std::string key;
  try {
    key = read_secret_file(keyFile_);
  } catch (const SecretFileError& e) {
    throw ConfigError("tls_key_file", e.what());
  }
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_compression |
                   ssl::context::single_dh_use);
  // No session tickets: their key would be one more secret to rotate, and a call's signaling is
  // one long-lived connection anyway.
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_TICKET);
  boost::system::error_code ec;
  ctx->use_certificate_chain_file(certFile_, ec);
  if (ec)
    throw ConfigError("tls_cert_file",
                      "cannot use '" + certFile_ + "' as a PEM certificate chain: " + ec.message());
  PKey pkey = private_key_from_pem(key);
  OPENSSL_cleanse(key.data(), key.size());
  if (!pkey) throw ConfigError("tls_key_file", "'" + keyFile_ + "' is not a PEM private key");
  if (SSL_CTX_use_PrivateKey(ctx->native_handle(), pkey.get()) != 1 ||
      SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    ERR_clear_error();
    throw ConfigError("tls_key_file",
                      "'" + keyFile_ + "' does not match the certificate in '" + certFile_ + "'");
  }
  return ctx;
}

std::shared_ptr<ssl::context> TlsCertificates::current() const {
  std::lock_guard lk(mu_);
  return ctx_;
}

std::optional<std::string> TlsCertificates::reload() {
  try {
    auto fresh = load();
    std::lock_guard lk(mu_);
    ctx_ = std::move(fresh);
    return std::nullopt;
  } catch (const ConfigError& e) {
    return std::string(e.what());
  }
}

std::string TlsCertificates::describe() const {
  auto ctx = current();
  X509* cert = SSL_CTX_get0_certificate(ctx->native_handle());
  if (!cert) return "no certificate";
  char subject[256] = {};
  X509_NAME_oneline(X509_get_subject_name(cert), subject, sizeof subject - 1);
  std::string out = subject;
  const ASN1_TIME* until = X509_get0_notAfter(cert);
  struct tm tm {};
  if (until && ASN1_TIME_to_tm(until, &tm) == 1) {
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    out += std::string(", valid until ") + buf;
  }
  return out;
}

}  // namespace dialtone
