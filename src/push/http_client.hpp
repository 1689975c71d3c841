// SPDX-License-Identifier: Apache-2.0
// An HTTP/2-capable client for push services: libcurl's multi interface, driven by one thread
// (the push thread). Requests to one host share a connection, multiplexed over HTTP/2 when the
// server offers it (ALPN); APNs requires it.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "push/provider.hpp"

namespace dialtone {

struct HttpClientOptions {
  std::string caFile;  // empty: the system's trust store
  long connectTimeoutMs = 5000;
};

class HttpClient {
 public:
  using Done = std::function<void(HttpReply, std::chrono::microseconds elapsed)>;

  explicit HttpClient(HttpClientOptions opts);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts a POST; `done` runs inside a later run_once() on this thread.
  void post(HttpCall call, std::chrono::milliseconds timeout, Done done);
  // Waits up to `timeout` for network activity or wakeup(), then finishes what completed.
  void run_once(std::chrono::milliseconds timeout);
  // From any thread: ends the current wait in run_once() early.
  void wakeup();
  std::size_t in_flight() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dialtone
