// SPDX-License-Identifier: Apache-2.0
// The TLS files a test starts dialtoned with (tests/server/certs: a throwaway CA and two
// certificates, a and b, for 127.0.0.1 and localhost), copied into a directory of the test's
// own with the key readable by its owner only: dialtoned refuses a key others may read, and a
// git checkout does not keep file modes.
#pragma once

#include <string>
#include <vector>

namespace dialtone::test {

// A file of tests/server/certs.
std::string test_cert(const std::string& name);

struct TlsFiles {
  explicit TlsFiles(char which);
  ~TlsFiles();
  TlsFiles(const TlsFiles&) = delete;

  // Puts certificate `which` ('a' or 'b') and its key in place.
  void use(char which);
  std::vector<std::string> flags() const {
    return {"--tls-cert-file", cert, "--tls-key-file", key};
  }

  std::string dir, cert, key;
  std::string ca = test_cert("ca.pem");
};

}  // namespace dialtone::test
