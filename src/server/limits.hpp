// Abuse limits: token buckets per key (a caller's call attempts, a user's requests) and a count
// of open connections per client address. Thread-safe; idle keys are swept, so the memory
// they take stays bounded by the keys active in the last minute. A limit of 0 is off.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

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
  std::size_t size() const;

 private:
  void sweep(TimeMs now);  // under mu_
  double perSecond_, burst_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, TokenBucket> buckets_;
  TimeMs lastSweep_ = 0;
};

class ConnectionCounter {
 public:
  explicit ConnectionCounter(int max) : max_(max) {}
  // False when `address` already has max connections open.
  bool acquire(const std::string& address);
  void release(const std::string& address);
  int open(const std::string& address) const;

 private:
  int max_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, int> open_;
};

struct Limits {
  explicit Limits(const Config& c);
  KeyedLimiter calls;     // call attempts per caller: limit_calls_per_min, burst the same
  KeyedLimiter requests;  // HTTP requests per user or address: limit_requests_per_s, burst 2×
  ConnectionCounter connections;
  int messagesPerS;     // WebSocket messages per session (a TokenBucket in each), burst 2×
  int sessionsPerUser;  // 0: unlimited
};

// Retry-After: whole seconds, at least 1.
inline int retry_seconds(TimeMs ms) {
  return static_cast<int>((ms + 999) / 1000);
}

}  // namespace dialtone
