// SPDX-License-Identifier: Apache-2.0
#include "support/harness.hpp"

#include <algorithm>
#include "support/nats.hpp"
#include "support/postgres.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "auth/jwt.hpp"
#include "core/time.hpp"
#include "store/store.hpp"
#include "support/build_paths.hpp"
#include "util/encoding.hpp"

namespace dialtone::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace websocket = beast::websocket;
using asio::ip::tcp;

namespace {
std::string temp_dir() {
  std::random_device rd;
  auto p = std::filesystem::temp_directory_path() /
           ("dialtoned-test-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(p);
  return p.string();
}
}  // namespace

std::string ServerProcess::dev_key() const {
  auto it = std::find(flags_.begin(), flags_.end(), "--store");
  auto store = it != flags_.end() && std::next(it) != flags_.end()
                   ? open_postgres_store(it[1])
                   : open_sqlite_store(data_path_ + "/dialtone.db", "normal");
  store->begin();
  std::string key = store->shared_secret("dev_token_key", "");
  store->commit();
  auto raw = base64url_decode(key);
  if (!raw || raw->empty()) throw std::runtime_error("no development key in the store");
  return *raw;
}

ServerProcess::ServerProcess(std::vector<std::string> flags)
    : flags_(std::move(flags)), dir_(temp_dir()) {
  // DIALTONE_TEST_STORE=postgres runs every server of the test on a fresh PostgreSQL database
  // (one PostgreSQL per test process) instead of SQLite: the same tests, the other back end.
  // DIALTONE_TEST_CLUSTER=N: N nodes on it, with one NATS per test process.
  const char* store = std::getenv("DIALTONE_TEST_STORE");
  const char* cluster = std::getenv("DIALTONE_TEST_CLUSTER");
  std::size_t n = cluster ? static_cast<std::size_t>(std::max(1, std::atoi(cluster))) : 1;
  bool has_store = std::find(flags_.begin(), flags_.end(), "--store") != flags_.end();
  if (((store && std::string_view(store) == "postgres") || n > 1) && !has_store) {
    flags_.insert(flags_.begin(), PostgresServer::shared().new_database());
    flags_.insert(flags_.begin(), "--store");
  }
  if (n > 1) {
    flags_.insert(flags_.begin(), NatsServer::shared().url());
    flags_.insert(flags_.begin(), "--bus");
  }
  // A test may choose the address to listen on (e.g. 0.0.0.0 inside a network namespace of its
  // own); the port stays the one the server picks, kept across restarts.
  if (auto it = std::find(flags_.begin(), flags_.end(), "--listen");
      it != flags_.end() && std::next(it) != flags_.end()) {
    listen_host_ = it[1].substr(0, it[1].rfind(':'));
    flags_.erase(it, it + 2);
  }
  // Or where the data lives (e.g. on a small filesystem of its own).
  data_path_ = dir_ + "/data";
  if (auto it = std::find(flags_.begin(), flags_.end(), "--data-dir");
      it != flags_.end() && std::next(it) != flags_.end()) {
    data_path_ = it[1];
    flags_.erase(it, it + 2);
  }
  nodes_.resize(n);
  try {
    start();
  } catch (...) {
    // A constructor that throws runs no destructor: the nodes already started (and the one
    // that did not start in time) would outlive the test process.
    kill9();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    throw;
  }
  if (n > 1) {
    // Every node has heard of every other before the test begins.
    auto until = std::chrono::steady_clock::now() + 10s;
    auto seen = [&] {
      std::string text = log();
      std::size_t count = 0;
      for (auto p = text.find("NODE_SEEN"); p != std::string::npos;
           p = text.find("NODE_SEEN", p + 1))
        ++count;
      return count >= n * (n - 1);
    };
    while (!seen() && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(10ms);
  }
}

ServerProcess::~ServerProcess() {
  terminate();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::string ServerProcess::log_path(std::size_t node) const {
  std::string path = dir_ + "/stderr";
  if (node > 0) path += "-" + std::to_string(node);
  return path + ".log";
}

std::string ServerProcess::metrics() const {
  std::string all;
  for (const auto& node : nodes_) all += http(node.port, "GET", "/metrics").raw;
  return all;
}

int ServerProcess::port() const {
  return nodes_[next_++ % nodes_.size()].port;
}

void ServerProcess::start() {
  // The first node makes the shared keys in the data dir; the others find them there.
  for (std::size_t i = 0; i < nodes_.size(); ++i) start_node(i);
}

void ServerProcess::start_node(std::size_t i) {
  Node& node = nodes_[i];
  int out[2];
  if (pipe(out) != 0) throw std::runtime_error("pipe failed");
  // A restart keeps the port it had, so that clients can reconnect.
  std::string listen = listen_host_ + ":" + std::to_string(node.port);
  std::vector<std::string> args = {
      build_paths::dialtoned, "--listen", listen, "--data-dir", data_path_, "--log-level", "debug"};
  args.insert(args.end(), flags_.begin(), flags_.end());
  std::string errlog = log_path(i);
  node.pid = fork();
  if (node.pid == 0) {
    dup2(out[1], 1);
    int err = open(errlog.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(err, 2);
    close(out[0]);
    // Tests drive many calls and requests a second from one user: no such limits unless a test
    // sets one (flags win over the environment). The others keep their defaults.
    setenv("DIALTONED_LIMIT_CALLS_PER_MIN", "0", 0);
    setenv("DIALTONED_LIMIT_REQUESTS_PER_S", "0", 0);
    setenv("DIALTONED_LIMIT_MESSAGES_PER_S", "0", 0);
    setenv("DIALTONED_LIMIT_AUTH_FAILURES_PER_MIN", "0", 0);  // the matrix fails on purpose
    setenv("DIALTONED_LIMIT_SESSION_OPENS_PER_MIN", "0", 0);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(out[1]);
  std::string text;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (text.find("LISTENING ") == std::string::npos ||
         text.find('\n', text.find("LISTENING ")) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) {
      close(out[0]);
      throw std::runtime_error("dialtoned did not start: " + log());
    }
    char buf[4096];
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) {
      close(out[0]);
      throw std::runtime_error("dialtoned exited at start: " + log());
    }
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);  // nothing more is written to stdout
  auto line = text.substr(text.find("LISTENING "));
  line = line.substr(0, line.find('\n'));
  node.port = std::stoi(line.substr(line.rfind(':') + 1));
}

int ServerProcess::terminate() {
  int first = -1;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    Node& node = nodes_[i];
    if (node.pid <= 0) continue;
    ::kill(node.pid, SIGTERM);
    int status = 0;
    waitpid(node.pid, &status, 0);
    node.pid = -1;
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (i == 0) first = code;
  }
  return first;
}

void ServerProcess::kill9() {
  for (auto& node : nodes_) {
    if (node.pid <= 0) continue;
    ::kill(node.pid, SIGKILL);
    waitpid(node.pid, nullptr, 0);
    node.pid = -1;
  }
}

std::string ServerProcess::log() const {
  std::string all;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    std::ifstream in(log_path(i));
    std::stringstream s;
    s << in.rdbuf();
    all += s.str();
  }
  return all;
}

std::string issuer_token(const std::string& secret, const std::string& user,
                         std::chrono::seconds ttl) {
  TrustedKey k;
  k.alg = JwtAlg::HS256;
  k.secret = secret;
  std::string name = user;
  if (!name.empty()) name[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(name[0])));
  return sign_jwt(
      JwtAlg::HS256, k,
      json::object{{"sub", user}, {"name", name}, {"exp", now_ms() / 1000 + ttl.count()}});
}

int free_tcp_port() {
  asio::io_context ioc;
  tcp::acceptor a(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  return a.local_endpoint().port();
}

namespace {

// With DIALTONE_CONTRACT_DIR set (CTest sets it for the integration tests), every HTTP answer
// and WebSocket message this process receives from a server is appended to <dir>/<pid>.jsonl;
// tests/contract/validate.mjs checks them all against docs/openapi.yaml and docs/asyncapi.yaml.
std::string& contract_dir() {
  static std::string dir;
  return dir;
}

void contract_record(const json::object& rec) {
  static const std::string dir = [] {
    const char* env = std::getenv("DIALTONE_CONTRACT_DIR");
    std::string d = env ? env : contract_dir();
    if (!d.empty()) std::filesystem::create_directories(d);
    return d;
  }();
  if (dir.empty()) return;
  static std::mutex mu;
  static std::ofstream out(dir + "/" + std::to_string(getpid()) + ".jsonl", std::ios::app);
  std::string line = json::serialize(rec);
  std::lock_guard lk(mu);
  out << line << '\n';
  out.flush();
}

}  // namespace

void record_contract_to(const std::string& dir) {
  contract_dir() = dir;
}

std::string HttpResult::header(const std::string& name) const {
  for (auto& [k, v] : headers)
    if (beast::iequals(k, name)) return v;
  return {};
}

namespace {

HttpResult http_request(int port, const std::string& method, const std::string& target,
                        const std::string& body, const std::string& token,
                        std::vector<std::pair<std::string, std::string>> headers, bool record) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  stream.connect(
      tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  bhttp::request<bhttp::string_body> req{bhttp::string_to_verb(method), target, 11};
  req.set(bhttp::field::host, "127.0.0.1");
  if (!token.empty()) req.set(bhttp::field::authorization, "Bearer " + token);
  for (auto& [k, v] : headers) req.set(k, v);
  if (!body.empty()) req.set(bhttp::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  bhttp::write(stream, req);
  beast::flat_buffer buf;
  bhttp::response_parser<bhttp::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  bhttp::read(stream, buf, parser);
  auto res = parser.release();
  HttpResult r;
  r.status = res.result_int();
  r.raw = res.body();
  for (auto& f : res) r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  boost::system::error_code ec;
  r.body = json::parse(r.raw, ec);
  if (ec) r.body = nullptr;
  json::object rec{{"kind", "http"},
                   {"method", method},
                   {"target", target},
                   {"status", r.status},
                   {"contentType", r.header("content-type")},
                   {"body", r.body}};
  if (ec && !r.raw.empty()) rec["raw"] = r.raw.substr(0, 200);
  if (record) contract_record(rec);
  beast::error_code sec;
  stream.socket().shutdown(tcp::socket::shutdown_both, sec);
  return r;
}

}  // namespace

HttpResult http(int port, const std::string& method, const std::string& target,
                const std::string& body, const std::string& token,
                std::vector<std::pair<std::string, std::string>> headers) {
  return http_request(port, method, target, body, token, std::move(headers), true);
}

HttpResult control_http(int port, const std::string& method, const std::string& target,
                        const std::string& body) {
  return http_request(port, method, target, body, "", {}, false);
}

std::string raw_http(int port, const std::string& bytes) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  asio::write(s, asio::buffer(bytes));
  s.shutdown(tcp::socket::shutdown_send);
  std::string out;
  char buf[4096];
  boost::system::error_code ec;
  for (;;) {
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

std::string raw_http_keep_open(int port, const std::string& bytes,
                               std::chrono::milliseconds limit) {
  asio::io_context ioc;
  tcp::socket s(ioc);
  s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  asio::write(s, asio::buffer(bytes));
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{s.native_handle(), POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    boost::system::error_code ec;
    size_t n = s.read_some(asio::buffer(buf), ec);
    if (ec) break;
    out.append(buf, n);
  }
  return out;
}

std::string dev_token(int port, const std::string& user, const std::string& photo) {
  std::string name = user;
  if (!name.empty()) name[0] = static_cast<char>(std::toupper(name[0]));
  auto r = http(port, "POST", "/v1/dev/token",
                json::serialize(json::object{{"userId", user}, {"name", name}, {"photo", photo}}));
  if (r.status != 200) throw std::runtime_error("dev token failed: " + r.raw);
  return std::string(r.body.at("token").as_string());
}

WsClient::WsClient(int port, const std::string& token, const std::string& deviceId,
                   const std::string& host)
    : ws_(ioc_), device_(deviceId) {
  beast::get_lowest_layer(ws_).connect(
      tcp::endpoint(asio::ip::make_address(host), static_cast<unsigned short>(port)));
  std::string target = "/v1/ws?access_token=" + token;
  if (!deviceId.empty()) target += "&deviceId=" + deviceId;
  ws_.read_message_max(64 * 1024 * 1024);
  ws_.handshake("127.0.0.1", target);
  thread_ = std::thread([this] { read_loop(); });
  auto h = next([](const json::object& m) { return m.at("type") == "hello"; });
  if (!h) throw std::runtime_error("no hello");
  hello = *h;
  device_ = std::string(hello.at("deviceId").as_string());
}

WsClient::~WsClient() {
  abort();
  if (thread_.joinable()) thread_.join();
}

void WsClient::read_loop() {
  auto buf = std::make_shared<beast::flat_buffer>();
  std::function<void()> step = [this, buf, &step] {
    ws_.async_read(*buf, [this, buf, &step](beast::error_code ec, size_t) {
      if (ec) {
        std::lock_guard lk(mu_);
        closed_ = true;
        close_code_ = ws_.reason().code;
        close_reason_ = std::string(ws_.reason().reason.data(), ws_.reason().reason.size());
        cv_.notify_all();
        return;
      }
      boost::system::error_code pec;
      std::string text = beast::buffers_to_string(buf->data());
      json::value v = json::parse(text, pec);
      buf->consume(buf->size());
      if (pec)
        contract_record({{"kind", "ws"}, {"raw", text.substr(0, 200)}});
      else
        contract_record({{"kind", "ws"}, {"message", v}});
      if (!pec && v.is_object()) {
        std::lock_guard lk(mu_);
        inbox_.push_back(v.get_object());
        cv_.notify_all();
      }
      step();
    });
  };
  step();
  ioc_.run();
}

void WsClient::limit_send_buffer(int bytes) {
  asio::post(ioc_, [this, bytes] {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().set_option(asio::socket_base::send_buffer_size(bytes),
                                                     ec);
  });
}

void WsClient::send_raw(std::string text) {
  auto msg = std::make_shared<std::string>(std::move(text));
  std::promise<void> done;
  auto fut = done.get_future();
  asio::post(ioc_, [this, msg, &done] {
    beast::error_code ec;
    ws_.text(true);
    ws_.write(asio::buffer(*msg), ec);  // on the I/O thread, between reads' completions
    done.set_value();
  });
  fut.wait_for(5s);
}

json::object WsClient::request(json::object msg, std::chrono::milliseconds timeout) {
  int id = next_id_++;
  msg["id"] = id;
  send_raw(json::serialize(msg));
  auto r = next(
      [id](const json::object& m) {
        return m.at("type") == "reply" && m.if_contains("id") && m.at("id") == id;
      },
      timeout);
  if (!r) throw std::runtime_error("no reply to " + json::serialize(msg));
  return *r;
}

std::optional<json::object> WsClient::next(const std::function<bool(const json::object&)>& pred,
                                           std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    for (auto it = inbox_.begin(); it != inbox_.end(); ++it)
      if (pred(*it)) {
        json::object m = std::move(*it);
        inbox_.erase(it);
        return m;
      }
    if (cv_.wait_until(lk, deadline) == std::cv_status::timeout) {
      for (auto it = inbox_.begin(); it != inbox_.end(); ++it)
        if (pred(*it)) {
          json::object m = std::move(*it);
          inbox_.erase(it);
          return m;
        }
      return std::nullopt;
    }
  }
}

json::object WsClient::wait_call(const std::string& callId, const std::string& state,
                                 std::chrono::milliseconds timeout) {
  auto m = next(
      [&](const json::object& o) {
        return o.at("type") == "call" && o.at("call").at("callId") == callId.c_str() &&
               o.at("call").at("state") == state.c_str();
      },
      timeout);
  if (!m) throw std::runtime_error("no '" + state + "' snapshot for " + callId);
  return m->at("call").as_object();
}

std::vector<json::object> WsClient::snapshot() const {
  std::lock_guard lk(mu_);
  return {inbox_.begin(), inbox_.end()};
}

bool WsClient::wait_closed(std::chrono::milliseconds timeout) {
  std::unique_lock lk(mu_);
  return cv_.wait_for(lk, timeout, [this] { return closed_; });
}

int WsClient::close_code() const {
  std::lock_guard lk(mu_);
  return close_code_;
}

std::string WsClient::close_reason() const {
  std::lock_guard lk(mu_);
  return close_reason_;
}

void WsClient::close() {
  asio::post(ioc_,
             [this] { ws_.async_close(websocket::close_code::normal, [](beast::error_code) {}); });
  wait_closed(5s);
}

void WsClient::abort() {
  asio::post(ioc_, [this] {
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).socket().close(ec);
  });
  wait_closed(5s);
  ioc_.stop();
}

json::object op(const std::string& name, const std::string& callId, json::object extra) {
  extra["op"] = name;
  if (!callId.empty()) extra["callId"] = callId;
  return extra;
}

std::string call_id(const json::object& reply) {
  return std::string(reply.at("call").at("callId").as_string());
}

std::string state_of(const json::object& reply) {
  return std::string(reply.at("call").at("state").as_string());
}

std::optional<std::chrono::system_clock::time_point> parse_iso_for_test(const std::string& iso) {
  auto t = dialtone::parse_iso(iso);
  if (!t) return std::nullopt;
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(*t));
}

std::pair<int, std::string> run_dialtoned(std::vector<std::string> args) {
  std::string dir = temp_dir();
  std::string errlog = dir + "/stderr.log";
  args.insert(args.begin(), build_paths::dialtoned);
  pid_t pid = fork();
  if (pid == 0) {
    int err = open(errlog.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(err, 2);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 1);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(errlog);
  std::stringstream s;
  s << in.rdbuf();
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), s.str()};
}

}  // namespace dialtone::test
