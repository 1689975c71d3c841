// SPDX-License-Identifier: Apache-2.0
#include "support/tls_files.hpp"
#include "support/build_paths.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>

namespace dialtone::test {

namespace fs = std::filesystem;

std::string test_cert(const std::string& name) {
  return std::string(dialtone::build_paths::source_dir) + "/tests/server/certs/" + name;
}

TlsFiles::TlsFiles(char which) {
  dir = (fs::temp_directory_path() /
         ("dt-tls-" + std::to_string(::getpid()) + "-" + std::to_string(std::rand())))
            .string();
  cert = dir + "/cert.pem";
  key = dir + "/key.pem";
  fs::create_directories(dir);
  use(which);
}

TlsFiles::~TlsFiles() {
  std::error_code ec;
  fs::remove_all(dir, ec);
}

void TlsFiles::use(char which) {
  fs::copy_file(test_cert(std::string("server-") + which + ".pem"), cert,
                fs::copy_options::overwrite_existing);
  fs::copy_file(test_cert(std::string("server-") + which + ".key"), key,
                fs::copy_options::overwrite_existing);
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write);
}

}  // namespace dialtone::test
