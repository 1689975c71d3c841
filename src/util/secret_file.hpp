// SPDX-License-Identifier: Apache-2.0
// Files that hold secrets (private keys, shared secrets, service accounts): read only when no
// one but the owner may read or write them, so that a key left world-readable on a shared
// machine stops the server with a clear error instead of leaking quietly.
#pragma once

#include <stdexcept>
#include <string>

namespace dialtone {

// A secret file that cannot be used: the message names the path and what to do, never the
// contents.
class SecretFileError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The whole file. Throws SecretFileError when it is missing, not a regular file, or has any
// group/other permission bit (mode & 077).
std::string read_secret_file(const std::string& path);

// The first line of a secret file without surrounding whitespace (a shared secret written with
// `echo`); throws SecretFileError as above, or when that line is empty.
std::string read_secret_line(const std::string& path);

// Throws SecretFileError when `path` has a group/other permission bit (for files that are read
// by a library, e.g. a TLS key loaded by OpenSSL).
void check_secret_permissions(const std::string& path);

}  // namespace dialtone
