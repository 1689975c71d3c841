// SPDX-License-Identifier: Apache-2.0
#include "server/limits.hpp"

#include <algorithm>
#include <cmath>

namespace dialtone {

TimeMs TokenBucket::take(TimeMs now) {
  if (now > at_) {
    tokens_ = std::min(burst_, tokens_ + static_cast<double>(now - at_) * perMs_);
    at_ = now;
  }
  if (tokens_ >= 1.0) {
    tokens_ -= 1.0;
    return 0;
  }
  return std::max<TimeMs>(1, static_cast<TimeMs>(std::ceil((1.0 - tokens_) / perMs_)));
}

bool TokenBucket::full(TimeMs now) const {
  double t = tokens_ + static_cast<double>(std::max<TimeMs>(0, now - at_)) * perMs_;
  return t >= burst_;
}

TimeMs KeyedLimiter::take(const std::string& key, TimeMs now) {
  if (!enabled()) return 0;
  std::lock_guard lk(mu_);
  if (now - lastSweep_ >= 10'000) sweep(now);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) it = buckets_.emplace(key, TokenBucket(perSecond_, burst_, now)).first;
  return it->second.take(now);
}

TimeMs KeyedLimiter::wait(const std::string& key, TimeMs now) {
  if (!enabled()) return 0;
  std::lock_guard lk(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return 0;
  TokenBucket probe = it->second;
  return probe.take(now);
}

void KeyedLimiter::sweep(TimeMs now) {
  lastSweep_ = now;
  for (auto it = buckets_.begin(); it != buckets_.end();)
    it = it->second.full(now) ? buckets_.erase(it) : std::next(it);
}

std::size_t KeyedLimiter::size() const {
  std::lock_guard lk(mu_);
  return buckets_.size();
}

bool OpenCounter::acquire(const std::string& address) {
  std::lock_guard lk(mu_);
  int& n = open_[address];
  if (max_ > 0 && n >= max_) return false;
  ++n;
  return true;
}

void OpenCounter::release(const std::string& address) {
  std::lock_guard lk(mu_);
  auto it = open_.find(address);
  if (it == open_.end()) return;
  if (--it->second <= 0) open_.erase(it);
}

int OpenCounter::open(const std::string& address) const {
  std::lock_guard lk(mu_);
  auto it = open_.find(address);
  return it == open_.end() ? 0 : it->second;
}

Limits::Limits(const Config& c)
    : calls(c.limit_calls_per_min / 60.0, c.limit_calls_per_min),
      reports(c.limit_reports_per_min / 60.0, c.limit_reports_per_min),
      requests(c.limit_requests_per_s, 2.0 * c.limit_requests_per_s),
      authFailures(c.limit_auth_failures_per_min / 60.0, c.limit_auth_failures_per_min),
      sessionOpens(c.limit_session_opens_per_min / 60.0, c.limit_session_opens_per_min),
      connections(c.limit_connections_per_ip),
      sessions(c.limit_sessions_per_user),
      messagesPerS(c.limit_messages_per_s) {}

std::string address_key(const boost::asio::ip::address& a) {
  if (a.is_v4()) return a.to_string();
  auto v6 = a.to_v6();
  if (v6.is_v4_mapped())
    return boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, v6).to_string();
  auto bytes = v6.to_bytes();
  for (std::size_t i = 8; i < bytes.size(); ++i) bytes[i] = 0;
  return boost::asio::ip::address_v6(bytes).to_string() + "/64";
}

}  // namespace dialtone
