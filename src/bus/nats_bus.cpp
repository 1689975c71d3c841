// SPDX-License-Identifier: Apache-2.0
// The bus on NATS (the C client, libnats, from Debian). Core NATS: at-most-once, ordered per
// connection; the client reconnects by itself and buffers what is published meanwhile.
#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <mutex>
#include <vector>

#include "bus/bus.hpp"

namespace dialtone {

namespace {

void check(natsStatus s, const char* what) {
  if (s != NATS_OK) throw BusError(std::string(what) + ": " + natsStatus_GetText(s));
}

class NatsBus final : public Bus {
 public:
  explicit NatsBus(const NatsOptions& o) {
    const std::string& urls = o.urls;
    natsOptions* opts = nullptr;
    check(natsOptions_Create(&opts), "nats options");
    std::unique_ptr<natsOptions, decltype(&natsOptions_Destroy)> guard(opts, natsOptions_Destroy);
    std::vector<std::string> list;
    for (std::size_t start = 0; start <= urls.size();) {
      auto comma = urls.find(',', start);
      if (comma == std::string::npos) comma = urls.size();
      if (comma > start) list.push_back(urls.substr(start, comma - start));
      start = comma + 1;
    }
    std::vector<const char*> servers;
    for (auto& u : list) servers.push_back(u.c_str());
    check(natsOptions_SetServers(opts, servers.data(), static_cast<int>(servers.size())),
          "servers");
    check(natsOptions_SetName(opts, o.name.c_str()), "name");
    bool tls = !o.caFile.empty() || !o.certFile.empty() || urls.find("tls://") != std::string::npos;
    if (tls) {
      check(natsOptions_SetSecure(opts, true), "tls");
      if (!o.caFile.empty())
        check(natsOptions_LoadCATrustedCertificates(opts, o.caFile.c_str()), "nats_ca_file");
      if (!o.certFile.empty())
        check(natsOptions_LoadCertificatesChain(opts, o.certFile.c_str(), o.keyFile.c_str()),
              "nats_cert_file / nats_key_file");
    }
    if (!o.credsFile.empty())
      check(natsOptions_SetUserCredentialsFromFiles(opts, o.credsFile.c_str(), nullptr),
            "nats_creds_file");
    check(natsOptions_SetNoEcho(opts, true), "no echo");
    check(natsOptions_SetTimeout(opts, 3000), "timeout");
    check(natsOptions_SetMaxReconnect(opts, -1), "reconnect");  // forever
    check(natsOptions_SetReconnectWait(opts, 250), "reconnect wait");
    check(natsOptions_SetPingInterval(opts, 2000), "ping");
    check(natsOptions_SetMaxPingsOut(opts, 2), "pings out");
    check(natsOptions_SetDisconnectedCB(opts, &NatsBus::on_disconnected, this), "callbacks");
    check(natsOptions_SetReconnectedCB(opts, &NatsBus::on_reconnected, this), "callbacks");
    check(natsOptions_SetErrorHandler(opts, &NatsBus::on_error, this), "callbacks");
    natsStatus s = natsConnection_Connect(&nc_, opts);
    if (s != NATS_OK)
      throw BusError("cannot connect to NATS at " + urls + ": " + natsStatus_GetText(s));
    connected_ = true;
  }

  ~NatsBus() override { close(); }

  void close() override {
    if (closed_.exchange(true)) return;
    natsConnection_Close(nc_);  // nothing new is delivered
    for (auto* sub : subs_) natsSubscription_Destroy(sub);
    natsConnection_Destroy(nc_);
    // Every thread of the library (message delivery, connection callbacks) has returned, so no
    // handler runs after this. One NATS bus per process: this closes the library for it.
    nats_CloseAndWait(3000);
  }

  void subscribe(const std::string& subject, Handler h) override {
    auto holder = std::make_unique<Handler>(std::move(h));
    natsSubscription* sub = nullptr;
    check(natsConnection_Subscribe(&sub, nc_, subject.c_str(), &NatsBus::on_message, holder.get()),
          "subscribe");
    // A slow node must not make NATS drop it: allow a large backlog before messages are lost.
    natsSubscription_SetPendingLimits(sub, 1'000'000, 512 * 1024 * 1024);
    std::lock_guard lk(mu_);
    subs_.push_back(sub);
    handlers_.push_back(std::move(holder));
  }

  bool publish(const std::string& subject, std::string_view payload) override {
    if (closed_) return false;
    natsStatus s = natsConnection_Publish(nc_, subject.c_str(), payload.data(),
                                          static_cast<int>(payload.size()));
    if (s != NATS_OK) {
      spdlog::warn("BUS_PUBLISH_FAILED subject={} error=\"{}\"", subject, natsStatus_GetText(s));
      return false;
    }
    return true;
  }

  bool connected() const override { return connected_.load(); }

  void on_state(StateHandler h) override {
    std::lock_guard lk(mu_);
    state_ = std::move(h);
  }

  void flush(int timeoutMs) override {
    if (closed_) return;
    check(natsConnection_FlushTimeout(nc_, timeoutMs), "flush");
  }

 private:
  static void on_message(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    auto& h = *static_cast<Handler*>(closure);
    std::string_view subject = natsMsg_GetSubject(msg);
    std::string_view data(natsMsg_GetData(msg),
                          static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    try {
      h(subject, data);
    } catch (const std::exception& e) {
      spdlog::warn("BUS_MESSAGE_DROPPED subject={} error=\"{}\"", subject, e.what());
    }
    natsMsg_Destroy(msg);
  }
  void set_state(bool up) {
    if (closed_) return;
    connected_ = up;
    spdlog::log(up ? spdlog::level::info : spdlog::level::warn,
                up ? "BUS_RECONNECTED" : "BUS_DISCONNECTED");
    StateHandler h;
    {
      std::lock_guard lk(mu_);
      h = state_;
    }
    if (h) h(up);
  }
  static void on_disconnected(natsConnection*, void* self) {
    static_cast<NatsBus*>(self)->set_state(false);
  }
  static void on_reconnected(natsConnection*, void* self) {
    static_cast<NatsBus*>(self)->set_state(true);
  }
  static void on_error(natsConnection*, natsSubscription*, natsStatus err, void*) {
    spdlog::warn("BUS_ERROR error=\"{}\"", natsStatus_GetText(err));
  }

  natsConnection* nc_ = nullptr;
  std::atomic<bool> connected_{false};
  std::mutex mu_;
  std::vector<natsSubscription*> subs_;
  std::vector<std::unique_ptr<Handler>> handlers_;
  StateHandler state_;
  std::atomic<bool> closed_{false};
};

}  // namespace

std::unique_ptr<Bus> open_nats_bus(const NatsOptions& options) {
  return std::make_unique<NatsBus>(options);
}

}  // namespace dialtone
