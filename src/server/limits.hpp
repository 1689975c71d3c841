// SPDX-License-Identifier: Apache-2.0
// Abuse limits: token buckets per key (a caller's call attempts, a user's requests) and a count
// of open connections per client address. Thread-safe; idle keys are swept, so the memory
// they take stays bounded by the keys active in the last minute. A limit of 0 is off.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

#include "core/time.hpp"
#include "server/config.hpp"

namespace dialtone {

// `burst` tokens at most, refilled at `perSecond`.
class TokenBucket {
 public:
  TokenBucket() = default;
  TokenBucket(double perSecond, double burst, TimeMs now)
      : perMs_(perSecond / 1000.0), burst_(burst), tokens_(burst), at_(now) {}
  // 0 when a token was taken; else the ms until one will be there (nothing is taken).
  TimeMs take(TimeMs now);
  bool full(TimeMs now) const;

 private:
  double perMs_ = 0, burst_ = 0, tokens_ = 0;
  TimeMs at_ = 0;
};

class KeyedLimiter {
 public:
  KeyedLimiter(double perSecond, double burst) : perSecond_(perSecond), burst_(burst) {}
  bool enabled() const { return perSecond_ > 0; }
  // 0: go ahead; else the ms to wait (Retry-After).
  TimeMs take(const std::string& key, TimeMs now);
  // The same, without taking anything: what take() would say.
  TimeMs wait(const std::string& key, TimeMs now);
  std::size_t size() const;

 private:
  void sweep(TimeMs now);  // under mu_
  double perSecond_, burst_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TokenBucket> buckets_;
  TimeMs lastSweep_ = 0;
};

// How many of something are open at once per key (connections per address, WebSockets per
// user). acquire() counts and checks under one lock, so racing openers cannot overshoot.
class OpenCounter {
 public:
  explicit OpenCounter(int max) : max_(max) {}
  // False (and nothing counted) when `key` already has max open.
  bool acquire(const std::string& key);
  void release(const std::string& key);
  int open(const std::string& key) const;

 private:
  int max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> open_;
};

// Holds one slot of an OpenCounter while it lives.
class OpenSlot {
 public:
  OpenSlot(OpenCounter& counter, std::string key) : counter_(counter), key_(std::move(key)) {}
  ~OpenSlot() { counter_.release(key_); }
  OpenSlot(const OpenSlot&) = delete;
  OpenSlot& operator=(const OpenSlot&) = delete;

 private:
  OpenCounter& counter_;
  std::string key_;
};

struct Limits {
  explicit Limits(const Config& c);
  KeyedLimiter calls;         // call attempts per caller: limit_calls_per_min, burst the same
  KeyedLimiter reports;       // report ops per user's device: limit_reports_per_min, burst the same
  KeyedLimiter requests;      // HTTP requests per user or address: limit_requests_per_s, burst 2×
  KeyedLimiter authFailures;  // per address: limit_auth_failures_per_min, burst the same
  KeyedLimiter sessionOpens;  // per user: limit_session_opens_per_min, burst the same
  OpenCounter connections;    // per address: limit_connections_per_ip
  OpenCounter sessions;       // per user: limit_sessions_per_user
  int messagesPerS;           // WebSocket messages per session (a TokenBucket in each), burst 2×
};

// A client's address as the per-address limits count it: an IPv4 address (also when mapped
// into IPv6) as it is, an IPv6 address by its /64 — one customer's network, from which an
// attacker can use 2^64 addresses.
std::string address_key(const boost::asio::ip::address& a);

// Retry-After: whole seconds, at least 1.
inline int retry_seconds(TimeMs ms) {
  return static_cast<int>((ms + 999) / 1000);
}

}  // namespace dialtone
