// SPDX-License-Identifier: Apache-2.0
#include "util/secret_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace dialtone {

namespace {

std::string mode_text(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

void check_stat(const std::string& path, const struct stat& st) {
  if (!S_ISREG(st.st_mode)) throw SecretFileError("'" + path + "' is not a regular file");
  if (st.st_mode & 077)
    throw SecretFileError("'" + path + "' holds a secret but is readable or writable by group or " +
                          "others (mode " + mode_text(st.st_mode) + "): chmod 600 '" + path + "'");
}

}  // namespace

void check_secret_permissions(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0)
    throw SecretFileError("cannot read '" + path + "': " + std::strerror(errno));
  check_stat(path, st);
}

std::string read_secret_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) throw SecretFileError("cannot read '" + path + "': " + std::strerror(errno));
  struct stat st {};
  std::string out;
  try {
    // The checks are made on the open file, so a swap of the path in between changes nothing.
    if (::fstat(fd, &st) != 0)
      throw SecretFileError("cannot read '" + path + "': " + std::strerror(errno));
    check_stat(path, st);
    if (st.st_size > (1 << 20)) throw SecretFileError("'" + path + "' is over 1 MiB");
    char buf[4096];
    for (;;) {
      ssize_t n = ::read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) throw SecretFileError("cannot read '" + path + "': " + std::strerror(errno));
      if (n == 0) break;
      out.append(buf, static_cast<std::size_t>(n));
      if (out.size() > (1 << 20)) throw SecretFileError("'" + path + "' is over 1 MiB");
    }
  } catch (...) {
    ::close(fd);
    throw;
  }
  ::close(fd);
  return out;
}

std::string read_secret_line(const std::string& path) {
  std::string text = read_secret_file(path);
  std::string line = text.substr(0, text.find('\n'));
  auto first = line.find_first_not_of(" \t\r"), last = line.find_last_not_of(" \t\r");
  if (first == std::string::npos) throw SecretFileError("'" + path + "' is empty");
  return line.substr(first, last - first + 1);
}

}  // namespace dialtone
