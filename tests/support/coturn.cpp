// SPDX-License-Identifier: Apache-2.0
#include "support/coturn.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

namespace dialtone::test {

namespace asio = boost::asio;

namespace {

// A port free for both UDP and TCP right now (coturn listens on both).
int free_port() {
  asio::io_context ioc;
  for (int attempt = 0; attempt < 50; ++attempt) {
    asio::ip::udp::socket u(ioc, asio::ip::udp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    int port = u.local_endpoint().port();
    boost::system::error_code ec;
    asio::ip::tcp::acceptor a(ioc);
    a.open(asio::ip::tcp::v4());
    a.bind(asio::ip::tcp::endpoint(asio::ip::make_address("127.0.0.1"),
                                   static_cast<unsigned short>(port)),
           ec);
    if (!ec) return port;
  }
  throw std::runtime_error("no free port");
}

pid_t spawn(const std::vector<std::string>& args, const std::string& log_path) {
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

CoturnProcess::CoturnProcess(std::string secret, std::string realm)
    : CoturnProcess(std::vector<std::string>{std::move(secret)}, std::move(realm)) {}

CoturnProcess::CoturnProcess(std::vector<std::string> secrets, std::string realm) {
  std::random_device rd;
  dir_ = (std::filesystem::temp_directory_path() /
          ("coturn-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd())))
             .string();
  std::filesystem::create_directories(dir_);
  port_ = free_port();
  // Relay ports: a random block, so that parallel tests rarely meet.
  int min_port = 50000 + static_cast<int>(rd() % 140) * 100;
  std::vector<std::string> args = {"turnserver",
                                   "-n",
                                   "--listening-ip=127.0.0.1",
                                   "--relay-ip=127.0.0.1",
                                   "--listening-port=" + std::to_string(port_),
                                   "--min-port=" + std::to_string(min_port),
                                   "--max-port=" + std::to_string(min_port + 99),
                                   "--realm=" + realm,
                                   "--no-tls",
                                   "--no-dtls",
                                   "--no-cli",
                                   "--allow-loopback-peers",
                                   "--fingerprint",
                                   "-v",
                                   "--log-file=stdout",
                                   "--simple-log",
                                   "--use-auth-secret",
                                   "--pidfile=" + dir_ + "/turnserver.pid",
                                   "--db=" + dir_ + "/turndb"};
  for (const auto& secret : secrets) args.push_back("--static-auth-secret=" + secret);
  pid_ = spawn(args, dir_ + "/turnserver.log");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (log().find("IO method (admin thread)") == std::string::npos) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("turnserver exited at start: " + log());
    }
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("turnserver did not start: " + log());
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

CoturnProcess::~CoturnProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string CoturnProcess::url() const {
  return "turn:127.0.0.1:" + std::to_string(port_) + "?transport=udp";
}

std::string CoturnProcess::log() const {
  std::ifstream in(dir_ + "/turnserver.log");
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

bool turn_allocation_works(int port, const std::string& username, const std::string& credential) {
  std::string log =
      (std::filesystem::temp_directory_path() / ("uclient-" + std::to_string(::getpid()) + ".log"))
          .string();
  pid_t pid = spawn({"turnutils_uclient", "-y", "-c", "-n", "2", "-p", std::to_string(port), "-u",
                     username, "-w", credential, "127.0.0.1"},
                    log);
  int status = 0;
  waitpid(pid, &status, 0);
  std::filesystem::remove(log);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

}  // namespace dialtone::test
