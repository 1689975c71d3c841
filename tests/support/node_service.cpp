// SPDX-License-Identifier: Apache-2.0
#include "support/node_service.hpp"
#include "support/build_paths.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>

namespace dialtone::test {

std::string source_file(const std::string& rel) {
  return std::string(dialtone::build_paths::source_dir) + "/" + rel;
}

namespace {

// Starts node on `script` with `args`, its stdout on `out` (-1: inherited).
pid_t spawn(const std::string& script, const std::vector<std::string>& args, int out[2]) {
  std::vector<std::string> argv{dialtone::build_paths::node, source_file(script)};
  argv.insert(argv.end(), args.begin(), args.end());
  pid_t pid = fork();
  if (pid == 0) {
    if (out) {
      dup2(out[1], 1);
      close(out[0]);
      close(out[1]);
    }
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(dialtone::build_paths::node, cargv.data());
    _exit(127);
  }
  return pid;
}

}  // namespace

NodeService::NodeService(const std::string& script, const std::vector<std::string>& args) {
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  pid_ = spawn(script, args, out);
  close(out[1]);
  std::string line;
  char ch;
  while (read(out[0], &ch, 1) == 1 && ch != '\n') line += ch;
  close(out[0]);
  std::istringstream in(line);
  std::string word;
  int port = 0;
  if (in >> word && word == "LISTENING")
    while (in >> port) ports_.push_back(port);
  if (ports_.empty()) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
    throw std::runtime_error(script + " did not start: '" + line + "'");
  }
}

void run_node(const std::string& script, const std::vector<std::string>& args) {
  pid_t pid = spawn(script, args, nullptr);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw std::runtime_error(script + " failed (status " + std::to_string(status) + ")");
}

NodeService::~NodeService() {
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
}

}  // namespace dialtone::test
