// SPDX-License-Identifier: Apache-2.0
// jwks_url: the identity provider's signing keys, fetched by dialtoned itself (one thread,
// libcurl). A fetched set is kept as long as the provider's Cache-Control says (between the
// configured minimum and a day), fetched again — at most once per minimum — when a token names
// a key id no trusted key has (the provider rotated), and kept when the provider cannot be
// reached or answers nonsense: the last good set also survives a restart in the data dir.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "auth/jwt.hpp"

namespace dialtone {

class Metrics;

struct JwksSourceOptions {
  std::string url;
  std::string caFile;     // empty: the system's trust store
  std::string cacheFile;  // the last good set, kept across restarts; empty: none
  int minRefreshS = 60;
  int maxRefreshS = 24 * 3600;
  int fallbackRefreshS = 3600;     // no usable Cache-Control
  long timeoutMs = 10'000;         // one fetch
  std::size_t maxBytes = 1 << 20;  // a JWKS is a few KiB
};

class JwksSource {
 public:
  static constexpr std::chrono::seconds kWorthWaiting{2};
  // Called on the fetch thread with every good set (and the cached one at start).
  using Apply = std::function<void(std::vector<TrustedKey>)>;

  JwksSource(JwksSourceOptions opts, Apply apply, Metrics* metrics);
  ~JwksSource();
  JwksSource(const JwksSource&) = delete;
  JwksSource& operator=(const JwksSource&) = delete;

  // Applies the cached set, if there is one, and starts fetching; waits up to `firstWait` for
  // the first fetch. Returns whether any set is in use.
  bool start(std::chrono::milliseconds firstWait);
  void stop();

  // A token named a key id no trusted key has: fetch again, as soon as minRefreshS has passed
  // since the last fetch began. Returns the fetch to wait for (see when_done), or nullopt when
  // it is further off than kWorthWaiting.
  std::optional<std::uint64_t> refetch_for_unknown_kid();
  // SIGHUP: fetch now.
  void refresh_now();
  // Runs `fn` (on the fetch thread, or here when it already has) once fetch `attempt` ended,
  // successfully or not.
  void when_done(std::uint64_t attempt, std::function<void()> fn);

 private:
  void run();
  bool fetch_once();  // true: a good set was applied
  bool load_cache();
  void store_cache(const std::string& text);

  JwksSourceOptions opts_;
  Apply apply_;
  Metrics* metrics_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool requested_ = false;
  bool have_keys_ = false;
  std::uint64_t started_ = 0, finished_ = 0;  // fetches begun and ended
  std::chrono::steady_clock::time_point next_{}, last_start_{};
  std::vector<std::pair<std::uint64_t, std::function<void()>>> waiters_;
  std::thread thread_;
};

}  // namespace dialtone
