// SPDX-License-Identifier: Apache-2.0
// A real PostgreSQL (Debian's postgresql-15) for tests: initdb in a temporary directory, loopback
// only, trust authentication, run as the `postgres` user when the tests run as root.
#pragma once

#include <sys/types.h>

#include <string>

namespace dialtone::test {

class PostgresServer {
 public:
  PostgresServer();
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;

  // A fresh, empty database; returns its URL (postgresql://postgres@127.0.0.1:PORT/NAME).
  std::string new_database();
  int port() const { return port_; }
  void stop();   // fast shutdown (SIGINT), waits
  void start();  // again after stop(): same data, same port
  void kill9();

  // The one server of this test process, started on first use, stopped at exit.
  static PostgresServer& shared();

 private:
  std::string dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace dialtone::test
