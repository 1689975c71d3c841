// SPDX-License-Identifier: Apache-2.0
// Reads a process's CPU time and RSS from /proc, and starts dialtoned for the benchmark.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace bench {

struct ProcSample {
  double cpu_seconds = 0;
  long rss_kib = 0;
};

inline ProcSample sample(int pid) {
  ProcSample s;
  if (pid <= 0) return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), {});
  auto rp = text.rfind(')');
  if (rp == std::string::npos) return s;
  std::istringstream in(text.substr(rp + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && in >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) s.rss_kib = std::stol(line.substr(6));
  return s;
}

// The sum over several processes (a cluster's nodes).
inline ProcSample sample(const std::vector<int>& pids) {
  ProcSample total;
  for (int pid : pids) {
    ProcSample s = sample(pid);
    total.cpu_seconds += s.cpu_seconds;
    total.rss_kib += s.rss_kib;
  }
  return total;
}

// dialtoned on 127.0.0.1:0 with a temporary data dir; stopped with SIGTERM on destruction.
class ServerChild {
 public:
  ServerChild(const std::string& path, const std::vector<std::string>& extra) {
    dir_ = std::filesystem::temp_directory_path() / ("dialtone-bench-" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    int out[2];
    if (pipe(out) != 0) throw std::runtime_error("pipe");
    // DIALTONE_BENCH_LOG_LEVEL: the server's log level (warn unless set).
    const char* level = std::getenv("DIALTONE_BENCH_LOG_LEVEL");
    std::vector<std::string> args = {path,
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--data-dir",
                                     (dir_ / "data").string(),
                                     "--log-level",
                                     level ? level : "warn"};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      int err = open((dir_ / "stderr.log").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      dup2(err, 2);
      // The benchmark drives thousands of calls a second from a few hundred users: the abuse
      // limits (which would answer most of them rate_limited) are off unless --server-arg sets
      // them.
      for (const char* limit :
           {"DIALTONED_LIMIT_CALLS_PER_MIN", "DIALTONED_LIMIT_REQUESTS_PER_S",
            "DIALTONED_LIMIT_MESSAGES_PER_S", "DIALTONED_LIMIT_CONNECTIONS_PER_IP",
            "DIALTONED_LIMIT_SESSION_OPENS_PER_MIN", "DIALTONED_LIMIT_AUTH_FAILURES_PER_MIN"})
        setenv(limit, "0", 0);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    std::string text;
    char buf[4096];
    while (text.find("LISTENING ") == std::string::npos ||
           text.find('\n', text.find("LISTENING ")) == std::string::npos) {
      pollfd p{out[0], POLLIN, 0};
      if (poll(&p, 1, 10000) <= 0) throw std::runtime_error("dialtoned did not start");
      ssize_t n = read(out[0], buf, sizeof buf);
      if (n <= 0) throw std::runtime_error("dialtoned exited");
      text.append(buf, static_cast<size_t>(n));
    }
    close(out[0]);
    auto line = text.substr(text.find("LISTENING "));
    port_ = std::stoi(line.substr(line.rfind(':') + 1));
  }
  ~ServerChild() {
    kill(pid_, SIGTERM);
    int st = 0;
    waitpid(pid_, &st, 0);
    std::error_code ec;
    // DIALTONE_BENCH_LOG=<file>: keep the server's log (warnings and errors) for a look after.
    if (const char* keep = std::getenv("DIALTONE_BENCH_LOG"))
      std::filesystem::copy_file(dir_ / "stderr.log", keep,
                                 std::filesystem::copy_options::overwrite_existing, ec);
    std::filesystem::remove_all(dir_, ec);
  }
  int port() const { return port_; }
  int pid() const { return pid_; }

 private:
  std::filesystem::path dir_;
  int pid_ = -1;
  int port_ = 0;
};

}  // namespace bench
