// SPDX-License-Identifier: Apache-2.0
// deploy/haproxy.cfg as shipped — only its addresses replaced by loopback ones and TLS left out
// — in front of two real nodes: WebSockets go through it, a node killed mid-call is taken out,
// and the client that lost its connection comes back through the same address to the other
// node, where its call still is.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "core/time.hpp"
#include "support/build_paths.hpp"
#include "support/harness.hpp"
#include "support/nats.hpp"
#include "support/postgres.hpp"

namespace dialtone::test {
namespace {

const std::string kSecret = "deploy-test-secret-deploy-test-secret-xx";

std::string token(const std::string& user) {
  return issuer_token(kSecret, user);
}

// The shipped configuration with loopback addresses for its frontend and servers, no TLS
// (the certificate is the operator's), no syslog.
std::string loopback_config(int listen, const std::vector<int>& nodes) {
  std::ifstream in(std::string(dialtone::build_paths::source_dir) + "/deploy/haproxy.cfg");
  std::stringstream text;
  text << in.rdbuf();
  std::string out, line;
  std::istringstream lines(text.str());
  std::size_t server = 0;
  while (std::getline(lines, line)) {
    if (line.find("bind :443") != std::string::npos ||
        line.find("redirect scheme") != std::string::npos ||
        line.find("log ") != std::string::npos || line.find("option httplog") != std::string::npos)
      continue;
    if (line.find("bind :80") != std::string::npos)
      line = "    bind 127.0.0.1:" + std::to_string(listen);
    if (std::regex_search(line, std::regex("^\\s*server node"))) {
      if (server >= nodes.size()) continue;
      line = std::regex_replace(line, std::regex("10\\.0\\.0\\.\\d+:8080"),
                                "127.0.0.1:" + std::to_string(nodes[server++]));
    }
    out += line + "\n";
  }
  return out;
}

TEST(Deploy, HaproxyMovesAClientOffAKilledNodeAndTheCallGoesOn) {
  NatsServer nats;
  std::string db = PostgresServer::shared().new_database();
  std::vector<std::string> flags{"--store", db, "--bus", nats.url(), "--jwt-hs256-secret", kSecret};
  auto n0 = std::make_unique<ServerProcess>(flags);
  ServerProcess n1(flags);
  int lb = free_tcp_port();
  std::string dir = n1.data_dir();
  std::string cfg = dir + "/haproxy.cfg";
  std::ofstream(cfg) << loopback_config(lb, {n0->port(), n1.port()});
  ASSERT_EQ(std::system(("/usr/sbin/haproxy -c -q -f " + cfg).c_str()), 0)
      << loopback_config(lb, {});
  pid_t haproxy = fork();
  if (haproxy == 0) {
    execl("/usr/sbin/haproxy", "haproxy", "-db", "-f", cfg.c_str(), nullptr);
    _exit(127);
  }
  struct Stop {
    pid_t pid;
    ~Stop() {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
  } stop{haproxy};
  // Both nodes healthy behind it (its checks: GET /readyz).
  auto ready = [&] {
    try {
      return http(lb, "GET", "/readyz").status == 200;
    } catch (const std::exception&) {
      return false;  // not listening yet
    }
  };
  auto until = std::chrono::steady_clock::now() + 10s;
  while (!ready() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(ready());

  // Fewest connections: the two clients land on the two nodes.
  auto ann = std::make_unique<WsClient>(lb, token("ann"), "ann-phone");
  auto bob = std::make_unique<WsClient>(lb, token("bob"), "bob-phone");
  std::string id = call_id(ann->request({{"op", "create"}, {"receiverId", "bob"}}));
  bob->wait_call(id, "calling");
  ASSERT_EQ(bob->request(op("accept", id)).at("ok"), true);
  ASSERT_EQ(ann->request(op("ready", id)).at("ok"), true);
  ASSERT_EQ(bob->request(op("ready", id)).at("ok"), true);
  ann->wait_call(id, "connected");

  n0->kill9();
  // One of them was on the killed node: it loses its connection and comes back through the
  // same address, to the other node, where the call is.
  bool annLost = ann->wait_closed(5s);
  bool bobLost = !annLost && bob->wait_closed(5s);
  ASSERT_TRUE(annLost || bobLost) << "one client was on the killed node";
  auto& lost = annLost ? ann : bob;
  auto& kept = annLost ? bob : ann;
  lost = std::make_unique<WsClient>(lb, token(annLost ? "ann" : "bob"),
                                    annLost ? "ann-phone" : "bob-phone");
  EXPECT_EQ(lost->wait_call(id, "connected").at("state"), "connected");
  ASSERT_EQ(lost->request(op("end", id)).at("ok"), true);
  kept->wait_call(id, "ended");
}

}  // namespace
}  // namespace dialtone::test
