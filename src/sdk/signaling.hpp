// SPDX-License-Identifier: Apache-2.0
// The SDK's connection to dialtoned: one WebSocket (/v1/ws), kept alive and reconnected with
// backoff and jitter; requests with ids, timeouts and retries. Given several servers (the nodes
// of a cluster), a connection that fails or drops moves on to the next one at once; only when
// every server has failed in a row does it back off. Runs on the SDK's io_context and
// nowhere else (single thread: no locks).
//
// Tokens: the connection carries the current token. token_expiring from the server asks the
// provider for a fresher one and renews in band ({"op":"auth"}); a close for an expired token
// (4001) reconnects at once with the provider's token; a refused upgrade (401) asks the provider
// once, and otherwise (or when that token is refused too) the state is `unauthorized` and
// nothing is retried until set_token.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <chrono>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <dialtone/client.hpp>

#include "core/time.hpp"

namespace dialtone::sdk {

// http(s)://host[:port][/prefix] split into what Asio and Beast need.
struct ServerUrl {
  std::string host, port, prefix;
  bool tls = false;  // https: TLS with the certificate verified for `host`
};
// Throws std::invalid_argument on anything but an http:// or https:// URL with a host.
ServerUrl parse_server_url(const std::string& url);

// Several base URLs separated by commas (the nodes of a cluster), each as parse_server_url.
std::vector<ServerUrl> parse_server_urls(const std::string& urls);

struct Reply {
  ErrorCode code = ErrorCode::ok;  // network when no reply came in time
  std::string message;
  boost::json::object body;  // the whole reply (ok:true with "call", or the error with "call")
  TimeMs sentAt = 0, receivedAt = 0;  // local clock, for the clock offset
};

class Signaling {
 public:
  struct Handlers {
    std::function<void(const boost::json::object& hello, TimeMs receivedAt)> hello;
    std::function<void(const boost::json::object& msg)> message;  // "call", "signal"
    std::function<void(ConnectionState)> state;
    // Before state(unauthorized), and when a renewal is refused: the server's reason.
    std::function<void(const std::string& reason)> refused;
  };
  Signaling(boost::asio::io_context& ioc, const ClientConfig& cfg, Handlers h);
  ~Signaling();

  void start();
  void stop();
  // Sends `op` (an id is added). `done` runs exactly once: with the reply, or with
  // ErrorCode::network after the request timeout. Sent again after a reconnect while pending:
  // the protocol makes a repeated op answer with the current document and change nothing.
  // `once`: never sent again — a connection lost while it is pending ends it with
  // ErrorCode::network at once (a report, whose times are relative to its sending).
  void request(boost::json::object op, std::function<void(Reply)> done, bool once = false);
  bool online() const { return online_; }
  // The device id for the next connections (the server's choice, kept after the first hello
  // so that a reconnect is the same device: the calls it is in stay its calls).
  void set_device(std::string id) { cfg_.deviceId = std::move(id); }
  const std::string& device() const { return cfg_.deviceId; }
  // The network changed: the connection is dropped (it may be bound to an address that is
  // gone) and a new one made at once, without backoff.
  void reconnect_now();
  // The connection may be stalled (a call's media path just went quiet: the network under both
  // may be gone). A WebSocket ping goes out; unless its own pong is back within `within`, the
  // connection is dropped and a new one made at once. A stalled TCP connection would otherwise
  // hold what is sent on it (a restart's offer, the call's reports) for as long as its
  // retransmission backoff lasts — seconds after the network is back — while the idle timeout
  // (20 s) notices nothing, the other direction being able to deliver.
  // The default: far above a round trip, even a mobile one.
  void probe(std::chrono::milliseconds within = std::chrono::seconds(2));
  // A new token: renews the open connection in band, or is used by the next one.
  void set_token(std::string token);
  // The token in use (for HTTP requests to the same servers).
  const std::string& token() const { return token_; }
  // The server in use: the one connected to, or the next one to try.
  const ServerUrl& server() const { return urls_[current_]; }
  // For HTTP requests to the same servers.
  boost::asio::ssl::context& tls_context() { return *tls_; }

 private:
  struct Pending {
    std::string text;
    std::function<void(Reply)> done;
    TimeMs sentAt = 0;
    std::chrono::steady_clock::time_point deadline;
    bool once = false;
  };
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<void> session(ServerUrl url);
  boost::asio::awaitable<void> write_loop();
  void enqueue(std::string text);
  void sweep();
  void on_text(const std::string& text);
  // The provider's token when it has one that differs from the current one.
  std::optional<std::string> fresh_token();
  void renew(std::string token);

  boost::asio::io_context& ioc_;
  ClientConfig cfg_;
  std::vector<ServerUrl> urls_;
  std::size_t current_ = 0;
  std::shared_ptr<boost::asio::ssl::context> tls_;
  Handlers h_;
  struct Conn;
  std::shared_ptr<Conn> conn_;
  std::deque<std::string> outbox_;
  bool writing_ = false;
  bool online_ = false;
  bool stopped_ = false;
  std::string token_;
  std::string refusal_;             // the last session's refused upgrade (401): the server's reason
  bool expiredClose_ = false;       // the last session was closed for its token's expiry (4001)
  bool reconnectNow_ = false;       // reconnect_now(): the next attempt without waiting
  bool askedAfterRefusal_ = false;  // the provider was asked once since the last refusal
  std::int64_t nextId_ = 1;
  std::map<std::int64_t, Pending> pending_;
  boost::asio::steady_timer sweepTimer_;
  boost::asio::steady_timer retryTimer_;
  boost::asio::steady_timer probeTimer_;  // probe()'s wait for its pong
  std::uint64_t probes_ = 0;              // probe()'s pings, numbered in their payload
  std::mt19937 rng_{std::random_device{}()};
};

}  // namespace dialtone::sdk
