// SPDX-License-Identifier: Apache-2.0
// A loopback stand-in written in Node (tests/*/fake_*.mjs): started with its arguments, ready
// once it printed its first line ("LISTENING <port> <port>"), stopped with SIGTERM.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

namespace dialtone::test {

class NodeService {
 public:
  // `script` is relative to the source tree. Throws when it does not print its ports.
  NodeService(const std::string& script, const std::vector<std::string>& args);
  ~NodeService();
  NodeService(const NodeService&) = delete;
  NodeService& operator=(const NodeService&) = delete;

  int port(std::size_t i) const { return ports_.at(i); }

 private:
  pid_t pid_ = -1;
  std::vector<int> ports_;
};

// Runs a Node script of the source tree to its end; throws unless it exits with 0.
void run_node(const std::string& script, const std::vector<std::string>& args);

// A file of the source tree.
std::string source_file(const std::string& rel);

}  // namespace dialtone::test
