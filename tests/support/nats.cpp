// SPDX-License-Identifier: Apache-2.0
#include "support/nats.hpp"

#include "support/harness.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <thread>
#include <vector>

namespace dialtone::test {

namespace {

namespace asio = boost::asio;
using asio::ip::tcp;

bool answers(int port) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  boost::system::error_code ec;
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)),
            ec);
  return !ec;
}

}  // namespace

NatsServer::NatsServer() : port_(free_tcp_port()) {
  std::random_device rd;
  dir_ = (std::filesystem::temp_directory_path() /
          ("nats-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd())))
             .string();
  std::filesystem::create_directories(dir_);
  start();
}

NatsServer::NatsServer(std::string configFile, int port)
    : dir_(std::filesystem::path(configFile).parent_path().string()),
      config_(std::move(configFile)),
      port_(port) {
  start();
}

void NatsServer::start() {
  std::string log = dir_ + "/nats.log";
  pid_ = fork();
  if (pid_ == 0) {
    if (FILE* f = std::fopen(log.c_str(), "a")) {
      dup2(fileno(f), 1);
      dup2(fileno(f), 2);
    }
    std::string port = std::to_string(port_);
    if (!config_.empty())
      execl("/usr/sbin/nats-server", "nats-server", "-c", config_.c_str(), nullptr);
    else
      execl("/usr/sbin/nats-server", "nats-server", "-a", "127.0.0.1", "-p", port.c_str(), nullptr);
    _exit(127);
  }
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (!answers(port_)) {
    if (std::chrono::steady_clock::now() > until || waitpid(pid_, nullptr, WNOHANG) == pid_)
      throw std::runtime_error("nats-server did not start (see " + log + ")");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void NatsServer::stop() {
  if (pid_ <= 0) return;
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

NatsServer& NatsServer::shared() {
  static NatsServer server;
  return server;
}

NatsServer::~NatsServer() {
  stop();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace dialtone::test
