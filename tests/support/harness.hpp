// SPDX-License-Identifier: Apache-2.0
// Test harness: a real dialtoned process (temporary data dir, loopback, port 0) and small
// synchronous HTTP and WebSocket clients written against the contract.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace dialtone::test {

namespace json = boost::json;
using namespace std::chrono_literals;

// dialtoned for a test. DIALTONE_TEST_STORE=postgres puts it on a fresh PostgreSQL database;
// DIALTONE_TEST_CLUSTER=N makes it N nodes on one PostgreSQL database and NATS, sharing a data
// dir (their development-token key), and port() hands out the nodes in turn, so that the
// clients of a test are spread over the nodes.
class ServerProcess {
 public:
  // Extra flags are appended to: --listen 127.0.0.1:0 --data-dir <tmp> --log-level info.
  explicit ServerProcess(std::vector<std::string> flags = {});
  ~ServerProcess();
  ServerProcess(const ServerProcess&) = delete;

  void start();     // again after terminate() or kill9(): same data dir, same port(s)
  int terminate();  // SIGTERM, wait; returns the exit status (the first node's)
  void kill9();
  int port() const;  // a node's port (the next node at each call)
  const std::string& data_dir() const { return dir_; }
  // The key the server signs development tokens with (read from its store).
  std::string dev_key() const;
  std::string log() const;  // everything the server (every node) wrote to stderr
  pid_t pid() const { return nodes_.front().pid; }
  std::size_t node_count() const { return nodes_.size(); }
  // GET /metrics of every node, one after the other (metrics are per node).
  std::string metrics() const;

 private:
  struct Node {
    pid_t pid = -1;
    int port = 0;
  };
  void start_node(std::size_t i);
  std::string log_path(std::size_t node) const;
  std::vector<std::string> flags_;
  std::string listen_host_ = "127.0.0.1";
  std::string data_path_;
  std::string dir_;
  std::vector<Node> nodes_;
  mutable std::atomic<unsigned> next_{0};
};

struct HttpResult {
  int status = 0;
  json::value body;
  std::string raw;
  std::string header(const std::string& name) const;
  std::vector<std::pair<std::string, std::string>> headers;
};

HttpResult http(int port, const std::string& method, const std::string& target,
                const std::string& body = "", const std::string& token = "",
                std::vector<std::pair<std::string, std::string>> headers = {});
// Records every HTTP answer and WebSocket message this process receives into `dir` (one .jsonl
// per process), for the contract check (tests/contract/validate.mjs). DIALTONE_CONTRACT_DIR in
// the environment overrides it ("" turns it off). Set by the integration tests.
void record_contract_to(const std::string& dir);
// The same to a test fake's control endpoint: not recorded for the contract check (which
// validates what dialtoned answers, tests/contract/validate.mjs).
HttpResult control_http(int port, const std::string& method, const std::string& target,
                        const std::string& body = "");
// Sends raw bytes and returns the raw response (for malformed requests).
std::string raw_http(int port, const std::string& bytes);
// Sends raw bytes, keeps its side open, and returns all it received until the server closed
// the connection (or `limit` passed).
std::string raw_http_keep_open(int port, const std::string& bytes, std::chrono::milliseconds limit);

// POST /v1/dev/token for `user` (name = capitalised user) and return the token.
std::string dev_token(int port, const std::string& user, const std::string& photo = "");
// A token from "the app's identity provider": HS256 with `secret` (a cluster's nodes are given
// the same --jwt-hs256-secret), for `user`, valid for `ttl` (whole seconds: exp is in seconds).
std::string issuer_token(const std::string& secret, const std::string& user,
                         std::chrono::seconds ttl = std::chrono::hours(1));
// A loopback TCP port free right now (for servers whose address must be known before they
// start).
int free_tcp_port();

class WsClient {
 public:
  // Connects to /v1/ws with ?access_token=...&deviceId=... and waits for `hello`.
  WsClient(int port, const std::string& token, const std::string& deviceId = "",
           const std::string& host = "127.0.0.1");
  ~WsClient();
  WsClient(const WsClient&) = delete;

  json::object hello;
  const std::string& device() const { return device_; }

  // Sends `msg` with a fresh numeric id and returns the reply with that id.
  json::object request(json::object msg, std::chrono::milliseconds timeout = 5s);
  void send_raw(std::string text);
  // Shrinks the socket's send buffer (SO_SNDBUF), so that a big message is still being sent
  // while the server reads it.
  void limit_send_buffer(int bytes);
  // Waits for (and removes) the first message matching `pred`.
  std::optional<json::object> next(const std::function<bool(const json::object&)>& pred,
                                   std::chrono::milliseconds timeout = 5s);
  // Waits for a call snapshot of `callId` in `state`.
  json::object wait_call(const std::string& callId, const std::string& state,
                         std::chrono::milliseconds timeout = 5s);
  // Every message received so far (not removed).
  std::vector<json::object> snapshot() const;
  bool wait_closed(std::chrono::milliseconds timeout = 5s);
  int close_code() const;
  std::string close_reason() const;
  void close();  // a clean close handshake
  void abort();  // drop the TCP connection without a close frame

 private:
  void read_loop();
  boost::asio::io_context ioc_;
  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  std::thread thread_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<json::object> inbox_;
  bool closed_ = false;
  int close_code_ = 0;
  std::string close_reason_;
  std::string device_;
  int next_id_ = 1;
};

// Helpers over the contract.
json::object op(const std::string& name, const std::string& callId, json::object extra = {});
std::string call_id(const json::object& reply);
std::string state_of(const json::object& reply);
std::optional<std::chrono::system_clock::time_point> parse_iso_for_test(const std::string& iso);
// Runs dialtoned with `args` to completion; returns {exit status, stderr}.
std::pair<int, std::string> run_dialtoned(std::vector<std::string> args);

}  // namespace dialtone::test
