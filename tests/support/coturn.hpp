// SPDX-License-Identifier: Apache-2.0
// A real coturn (Debian's turnserver) for tests: loopback only, TURN REST secret, its own
// ports, pid file and database in a temporary directory. Loopback peers are allowed — tests
// only, never production (see conf/turnserver.conf for the production settings).
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace dialtone::test {

class CoturnProcess {
 public:
  CoturnProcess(std::string secret, std::string realm = "dialtone.test");
  // Several secrets at once (a rotation's overlap: coturn accepts credentials from any).
  explicit CoturnProcess(std::vector<std::string> secrets, std::string realm = "dialtone.test");
  ~CoturnProcess();
  CoturnProcess(const CoturnProcess&) = delete;

  int port() const { return port_; }
  std::string url() const;  // turn:127.0.0.1:<port>?transport=udp
  std::string log() const;

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

// Runs turnutils_uclient against a TURN server: true when an allocation succeeded.
bool turn_allocation_works(int port, const std::string& username, const std::string& credential);

}  // namespace dialtone::test
