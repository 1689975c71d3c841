// SPDX-License-Identifier: Apache-2.0
#include "server/jwks_source.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>
#include <strings.h>
#include <sys/stat.h>

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "server/metrics.hpp"
#include "util/version.hpp"

namespace dialtone {

namespace json = boost::json;
using Clock = std::chrono::steady_clock;

namespace {

struct Fetched {
  long status = 0;
  std::string body;
  std::string cacheControl;
  bool tooBig = false;
  std::size_t maxBytes = 0;
};

std::size_t on_body(char* data, std::size_t size, std::size_t n, void* user) {
  auto* f = static_cast<Fetched*>(user);
  if (f->body.size() + size * n > f->maxBytes) {
    f->tooBig = true;
    return 0;  // ends the transfer
  }
  f->body.append(data, size * n);
  return size * n;
}

std::size_t on_header(char* data, std::size_t size, std::size_t n, void* user) {
  auto* f = static_cast<Fetched*>(user);
  std::string_view line(data, size * n);
  if (line.substr(0, 5) == "HTTP/") f->cacheControl.clear();  // a new response (after 100)
  constexpr std::string_view kName = "cache-control:";
  if (line.size() > kName.size() && strncasecmp(line.data(), kName.data(), kName.size()) == 0) {
    std::string_view value = line.substr(kName.size());
    while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back())))
      value.remove_suffix(1);
    if (!f->cacheControl.empty()) f->cacheControl += ", ";
    f->cacheControl += value;  // jwks_refresh_after trims each directive
  }
  return size * n;
}

}  // namespace

JwksSource::JwksSource(JwksSourceOptions opts, Apply apply, Metrics* metrics)
    : opts_(std::move(opts)), apply_(std::move(apply)), metrics_(metrics) {
  static std::once_flag curlInit;
  std::call_once(curlInit, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

JwksSource::~JwksSource() {
  stop();
}

bool JwksSource::start(std::chrono::milliseconds firstWait) {
  bool cached = load_cache();
  std::unique_lock lk(mu_);
  have_keys_ = cached;
  thread_ = std::thread([this] { run(); });
  cv_.wait_for(lk, firstWait, [&] { return finished_ >= 1; });
  return have_keys_;
}

void JwksSource::stop() {
  std::vector<std::pair<std::uint64_t, std::function<void()>>> waiters;
  {
    std::lock_guard lk(mu_);
    stopping_ = true;
    waiters.swap(waiters_);
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
  for (auto& w : waiters) w.second();
}

std::optional<std::uint64_t> JwksSource::refetch_for_unknown_kid() {
  std::lock_guard lk(mu_);
  if (stopping_) return std::nullopt;
  if (requested_) return started_ + 1;
  if (started_ > finished_) return started_;  // one is under way
  auto now = Clock::now();
  auto earliest = last_start_ + std::chrono::seconds(opts_.minRefreshS);
  if (started_ == 0 || now >= earliest) {
    requested_ = true;
    cv_.notify_all();
    return started_ + 1;
  }
  // Too soon after the last: the next fetch is brought forward to the earliest allowed, and
  // worth waiting for when that is close.
  if (next_ > earliest) {
    next_ = earliest;
    cv_.notify_all();
  }
  if (earliest - now <= kWorthWaiting) return started_ + 1;
  return std::nullopt;
}

void JwksSource::refresh_now() {
  {
    std::lock_guard lk(mu_);
    requested_ = true;
  }
  cv_.notify_all();
}

void JwksSource::when_done(std::uint64_t attempt, std::function<void()> fn) {
  {
    std::lock_guard lk(mu_);
    if (finished_ < attempt && !stopping_) {
      waiters_.emplace_back(attempt, std::move(fn));
      return;
    }
  }
  fn();
}

void JwksSource::run() {
  std::unique_lock lk(mu_);
  while (!stopping_) {
    // next_ may be brought forward meanwhile.
    while (!stopping_ && !requested_ && Clock::now() < next_) cv_.wait_until(lk, next_);
    if (stopping_) break;
    requested_ = false;
    last_start_ = Clock::now();
    std::uint64_t attempt = ++started_;
    lk.unlock();
    bool ok = fetch_once();
    lk.lock();
    if (ok) have_keys_ = true;
    finished_ = attempt;
    std::vector<std::function<void()>> ready;
    auto keep = std::partition(waiters_.begin(), waiters_.end(),
                               [&](const auto& w) { return w.first > attempt; });
    for (auto it = keep; it != waiters_.end(); ++it) ready.push_back(std::move(it->second));
    waiters_.erase(keep, waiters_.end());
    lk.unlock();
    cv_.notify_all();  // start() waits for the first
    for (auto& fn : ready) fn();
    lk.lock();
  }
}

bool JwksSource::fetch_once() {
  Fetched f;
  f.maxBytes = opts_.maxBytes;
  CURL* h = curl_easy_init();
  if (!h) return false;
  std::string agent = "dialtoned/" + std::string(version());
  curl_easy_setopt(h, CURLOPT_URL, opts_.url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, opts_.timeoutMs);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, std::min(opts_.timeoutMs, 5000L));
  curl_easy_setopt(h, CURLOPT_USERAGENT, agent.c_str());
  curl_easy_setopt(h, CURLOPT_ACCEPT_ENCODING, "");
  if (!opts_.caFile.empty()) curl_easy_setopt(h, CURLOPT_CAINFO, opts_.caFile.c_str());
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &f);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &f);
  CURLcode rc = curl_easy_perform(h);
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &f.status);
  curl_easy_cleanup(h);

  std::string error;
  std::vector<TrustedKey> keys;
  if (f.tooBig)
    error = "the answer is over " + std::to_string(opts_.maxBytes) + " bytes";
  else if (rc != CURLE_OK)
    error = curl_easy_strerror(rc);
  else if (f.status != 200)
    error = "HTTP " + std::to_string(f.status);
  else
    try {
      keys = parse_jwks(f.body);
    } catch (const std::exception& e) {
      error = e.what();
    }

  std::chrono::seconds after;
  if (error.empty()) {
    after = jwks_refresh_after(f.cacheControl, opts_.minRefreshS, opts_.maxRefreshS,
                               opts_.fallbackRefreshS);
    spdlog::info("JWKS_FETCHED keys={} next_in_s={}", keys.size(), after.count());
    apply_(std::move(keys));
    store_cache(f.body);
    if (metrics_) metrics_->jwks_fetches_ok++;
  } else {
    // Keep what is trusted; try again after the minimum (sooner while nothing is).
    bool kept;
    {
      std::lock_guard lk(mu_);
      kept = have_keys_;
    }
    after = std::chrono::seconds(kept ? opts_.minRefreshS : std::min(opts_.minRefreshS, 5));
    spdlog::error("JWKS_FETCH_FAILED url=\"{}\" error=\"{}\" keeping_last_good={} retry_in_s={}",
                  opts_.url, error, kept, after.count());
    if (metrics_) metrics_->jwks_fetches_failed++;
  }
  std::lock_guard lk(mu_);
  next_ = Clock::now() + after;
  return error.empty();
}

bool JwksSource::load_cache() {
  if (opts_.cacheFile.empty()) return false;
  std::ifstream in(opts_.cacheFile);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    json::value v = json::parse(ss.str());
    const auto& o = v.as_object();
    if (o.at("url").as_string() != opts_.url) return false;  // another provider's
    auto keys = parse_jwks(o.at("jwks").as_string());
    spdlog::info("JWKS_CACHED keys={} file=\"{}\"", keys.size(), opts_.cacheFile);
    apply_(std::move(keys));
    return true;
  } catch (const std::exception& e) {
    spdlog::warn("JWKS_CACHE_UNUSABLE file=\"{}\" error=\"{}\"", opts_.cacheFile, e.what());
    return false;
  }
}

void JwksSource::store_cache(const std::string& text) {
  if (opts_.cacheFile.empty()) return;
  std::string tmp = opts_.cacheFile + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    ::chmod(tmp.c_str(), 0600);
    out << json::serialize(json::object{{"url", opts_.url}, {"jwks", text}});
    if (!out) {
      spdlog::warn("JWKS_CACHE_WRITE_FAILED file=\"{}\"", tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, opts_.cacheFile, ec);
  if (ec)
    spdlog::warn("JWKS_CACHE_WRITE_FAILED file=\"{}\" error=\"{}\"", opts_.cacheFile, ec.message());
}

}  // namespace dialtone
