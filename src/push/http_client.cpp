// SPDX-License-Identifier: Apache-2.0
#include "push/http_client.hpp"

#include <curl/curl.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <mutex>
#include <stdexcept>
#include <unordered_map>

namespace dialtone {

namespace {

constexpr std::size_t kMaxBody = 64 * 1024;  // replies are small JSON documents

std::once_flag g_curl_init;

struct Transfer {
  CURL* easy = nullptr;
  curl_slist* headers = nullptr;
  HttpCall call;
  HttpReply reply;
  HttpClient::Done done;
  std::chrono::steady_clock::time_point started;
  char error[CURL_ERROR_SIZE] = {};
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  size_t len = size * n;
  size_t room = kMaxBody - std::min(kMaxBody, t->reply.body.size());
  t->reply.body.append(data, std::min(len, room));
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto* t = static_cast<Transfer*>(user);
  std::string_view line(data, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos && t->reply.headers.size() < 64) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    while (!value.empty() && (value.back() == '\r' || value.back() == '\n')) value.remove_suffix(1);
    t->reply.headers.emplace_back(std::move(name), std::string(value));
  } else if (line.rfind("HTTP/", 0) == 0) {
    t->reply.headers.clear();  // a new response (after 100 Continue)
  }
  return size * n;
}

}  // namespace

struct HttpClient::Impl {
  HttpClientOptions opts;
  CURLM* multi = nullptr;
  std::unordered_map<CURL*, std::unique_ptr<Transfer>> transfers;

  // Hands every completed transfer to its callback; returns how many there were.
  std::size_t finish_completed() {
    std::size_t n = 0;
    int left = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi, &left)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* e = msg->easy_handle;
      auto it = transfers.find(e);
      if (it == transfers.end()) continue;
      ++n;
      std::unique_ptr<Transfer> t = std::move(it->second);
      transfers.erase(it);
      if (msg->data.result == CURLE_OK) {
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &t->reply.status);
      } else {
        t->reply.status = 0;
        t->reply.transportError =
            t->error[0] ? std::string(t->error) : curl_easy_strerror(msg->data.result);
      }
      curl_multi_remove_handle(multi, e);
      curl_easy_cleanup(e);
      curl_slist_free_all(t->headers);
      auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - t->started);
      if (!t->done) continue;
      try {
        t->done(std::move(t->reply), elapsed);
      } catch (const std::exception& x) {  // a bug, but never the end of the push thread
        spdlog::error("PUSH_INTERNAL_ERROR error=\"{}\"", x.what());
      }
    }
    return n;
  }
};

HttpClient::HttpClient(HttpClientOptions opts) : impl_(std::make_unique<Impl>()) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  impl_->opts = std::move(opts);
  impl_->multi = curl_multi_init();
  if (!impl_->multi) throw std::runtime_error("curl_multi_init failed");
  curl_multi_setopt(impl_->multi, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
}

HttpClient::~HttpClient() {
  for (auto& [easy, t] : impl_->transfers) {
    curl_multi_remove_handle(impl_->multi, easy);
    curl_easy_cleanup(easy);
    curl_slist_free_all(t->headers);
  }
  curl_multi_cleanup(impl_->multi);
}

void HttpClient::post(HttpCall call, std::chrono::milliseconds timeout, Done done) {
  auto t = std::make_unique<Transfer>();
  t->call = std::move(call);
  t->done = std::move(done);
  t->easy = curl_easy_init();
  if (!t->easy) throw std::runtime_error("curl_easy_init failed");
  CURL* e = t->easy;
  for (const auto& [k, v] : t->call.headers)
    t->headers = curl_slist_append(t->headers, (k + ": " + v).c_str());
  t->headers = curl_slist_append(t->headers, "Expect:");  // no 100-continue round trip
  curl_easy_setopt(e, CURLOPT_URL, t->call.url.c_str());
  curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https,http");
  curl_easy_setopt(e, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(e, CURLOPT_PIPEWAIT, 1L);  // wait to multiplex rather than open another
  curl_easy_setopt(e, CURLOPT_POST, 1L);
  curl_easy_setopt(e, CURLOPT_POSTFIELDS, t->call.body.data());
  curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(t->call.body.size()));
  curl_easy_setopt(e, CURLOPT_HTTPHEADER, t->headers);
  curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout.count()));
  curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, impl_->opts.connectTimeoutMs);
  curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(e, CURLOPT_WRITEDATA, t.get());
  curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(e, CURLOPT_HEADERDATA, t.get());
  curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->error);
  curl_easy_setopt(e, CURLOPT_PRIVATE, t.get());
  if (!impl_->opts.caFile.empty()) curl_easy_setopt(e, CURLOPT_CAINFO, impl_->opts.caFile.c_str());
  t->started = std::chrono::steady_clock::now();
  if (curl_multi_add_handle(impl_->multi, e) != CURLM_OK) {
    curl_easy_cleanup(e);
    curl_slist_free_all(t->headers);
    throw std::runtime_error("curl_multi_add_handle failed");
  }
  impl_->transfers.emplace(e, std::move(t));
}

void HttpClient::run_once(std::chrono::milliseconds timeout) {
  int running = 0;
  curl_multi_perform(impl_->multi, &running);
  // What that perform completed is acted on before waiting: a freed slot is used at once, and
  // answers already read are not left for after a poll that nothing on the socket would end
  // (pushes used to leave, and answers to count, up to a second late).
  if (impl_->finish_completed() > 0) return;
  curl_multi_poll(impl_->multi, nullptr, 0, static_cast<int>(std::max<long>(0, timeout.count())),
                  nullptr);
  curl_multi_perform(impl_->multi, &running);
  impl_->finish_completed();
}

void HttpClient::wakeup() {
  curl_multi_wakeup(impl_->multi);
}

std::size_t HttpClient::in_flight() const {
  return impl_->transfers.size();
}

}  // namespace dialtone
