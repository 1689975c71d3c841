// SPDX-License-Identifier: Apache-2.0
// The bus between dialtoned nodes: fire-and-forget messages on subjects. Nodes use it to hand
// each other committed call snapshots, signals for sessions they hold, and presence. Delivery is
// at most once, in order per publisher; everything sent on it is also recoverable from the store
// (clients resync), so a lost message delays a client, it never corrupts a call.
// One file per back end: nats_bus.cpp.
#pragma once

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dialtone {

class BusError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Bus {
 public:
  // Runs on a thread of the bus, one message of a subscription at a time, in arrival order
  // (each subscription has its own thread: subscribe once to a wildcard to keep one order).
  using Handler = std::function<void(std::string_view subject, std::string_view payload)>;
  // Runs on the bus's own thread when the connection to the bus is lost or back.
  using StateHandler = std::function<void(bool connected)>;

  virtual ~Bus() = default;
  // Subscribes to `subject` (NATS wildcards allowed). Call before traffic starts.
  virtual void subscribe(const std::string& subject, Handler h) = 0;
  // Returns false when the message could not even be queued (disconnected too long).
  virtual bool publish(const std::string& subject, std::string_view payload) = 0;
  virtual bool connected() const = 0;
  virtual void on_state(StateHandler h) = 0;
  // Waits until the bus server has seen everything sent so far (subscriptions included).
  virtual void flush(int timeoutMs) = 0;
  // Disconnects; when it returns no handler is running or will run again. Idempotent.
  virtual void close() = 0;
};

struct NatsOptions {
  std::string urls;  // nats://host:port or tls://host:port, several separated by commas
  std::string name;  // this connection's name, as the NATS server shows it
  // TLS: on with a tls:// URL or any of these; the server's certificate is checked against
  // caFile (empty: the system's trust store), certFile/keyFile are this node's own.
  std::string caFile, certFile, keyFile;
  std::string credsFile;  // a .creds file (user JWT and NKey seed): decentralized auth
};

// Connects to NATS. A node's own messages are not delivered back to it. Throws BusError when no
// server answers (or accepts this node) within a few seconds.
std::unique_ptr<Bus> open_nats_bus(const NatsOptions& options);

}  // namespace dialtone
