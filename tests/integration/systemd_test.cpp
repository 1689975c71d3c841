// SPDX-License-Identifier: Apache-2.0
// dialtoned under systemd's Type=notify, with the test playing systemd: a datagram socket named
// by NOTIFY_SOCKET receives READY=1 once the port answers, RELOADING=1 and READY=1 around a
// SIGHUP, STOPPING=1 at SIGTERM. And the shipped unit says so.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "support/build_paths.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

class NotifySocket {
 public:
  NotifySocket() {
    path_ = std::filesystem::temp_directory_path() / ("dt-notify-" + std::to_string(getpid()));
    std::filesystem::remove(path_);
    fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::snprintf(a.sun_path, sizeof a.sun_path, "%s", path_.c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      throw std::runtime_error("bind " + path_.string());
  }
  ~NotifySocket() {
    close(fd_);
    std::filesystem::remove(path_);
  }
  std::string path() const { return path_.string(); }
  // The next message, or "" after `ms`.
  std::string next(int ms = 10000) {
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, ms) != 1) return "";
    char buf[4096];
    auto n = recv(fd_, buf, sizeof buf, 0);
    return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : "";
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

TEST(Systemd, ReadyOnceListeningThenReloadingAndStopping) {
  NotifySocket sd;
  setenv("NOTIFY_SOCKET", sd.path().c_str(), 1);
  ServerProcess server;
  unsetenv("NOTIFY_SOCKET");
  std::string ready = sd.next();
  EXPECT_NE(ready.find("READY=1"), std::string::npos) << ready;
  EXPECT_NE(ready.find("STATUS=listening on 127.0.0.1:" + std::to_string(server.port())),
            std::string::npos)
      << ready;
  EXPECT_EQ(http(server.port(), "GET", "/v1/info").status, 200);

  ::kill(server.pid(), SIGHUP);
  EXPECT_NE(sd.next().find("RELOADING=1"), std::string::npos);
  EXPECT_NE(sd.next().find("READY=1"), std::string::npos);

  EXPECT_EQ(server.terminate(), 0);
  EXPECT_NE(sd.next().find("STOPPING=1"), std::string::npos);
}

TEST(Systemd, TheUnitWaitsForReadyAndDoesNotRestartABadConfiguration) {
  std::ifstream f(std::string(dialtone::build_paths::source_dir) + "/deploy/dialtoned.service");
  std::stringstream unit;
  unit << f.rdbuf();
  EXPECT_NE(unit.str().find("\nType=notify\n"), std::string::npos);
  // dialtoned's exit status for a configuration error (main.cpp) is what the unit lists.
  EXPECT_NE(unit.str().find("\nRestartPreventExitStatus=2\n"), std::string::npos);
  std::string cmd =
      std::string(dialtone::build_paths::dialtoned) + " --ring-timeout-s 0 2>/dev/null";
  int status = std::system(cmd.c_str());
  EXPECT_EQ(WEXITSTATUS(status), 2);
}

}  // namespace
}  // namespace dialtone::test
