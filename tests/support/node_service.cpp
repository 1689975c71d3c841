// SPDX-License-Identifier: Apache-2.0
#include "support/node_service.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sstream>
#include <stdexcept>

namespace dialtone::test {

std::string source_file(const std::string& rel) {
  return std::string(DIALTONE_SOURCE_DIR) + "/" + rel;
}

NodeService::NodeService(const std::string& script, const std::vector<std::string>& args) {
  std::string path = source_file(script);
  std::vector<std::string> argv{NODE_PATH, path};
  argv.insert(argv.end(), args.begin(), args.end());
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  pid_ = fork();
  if (pid_ == 0) {
    dup2(out[1], 1);
    close(out[0]);
    close(out[1]);
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    execv(NODE_PATH, cargv.data());
    _exit(127);
  }
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

NodeService::~NodeService() {
  kill(pid_, SIGTERM);
  waitpid(pid_, nullptr, 0);
}

}  // namespace dialtone::test
