// SPDX-License-Identifier: Apache-2.0
// A real NATS server (Debian's nats-server) for tests: loopback only, a free port, its log in a
// temporary directory.
#pragma once

#include <sys/types.h>

#include <string>

namespace dialtone::test {

class NatsServer {
 public:
  NatsServer();
  // With a configuration file (nats-server -c) that listens on 127.0.0.1:`port`.
  NatsServer(std::string configFile, int port);
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;

  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  int port() const { return port_; }
  void stop();   // SIGTERM, waits
  void start();  // again after stop(): same port

  // The one server of this test process, started on first use, stopped at exit.
  static NatsServer& shared();

 private:
  std::string dir_;
  std::string config_;
  pid_t pid_ = -1;
  int port_ = 0;
};

}  // namespace dialtone::test
