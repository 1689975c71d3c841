// SPDX-License-Identifier: Apache-2.0
#include "server/server.hpp"

#include <spdlog/spdlog.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <filesystem>
#include <iostream>
#include <thread>

#include "bus/bus.hpp"
#include "server/cluster.hpp"
#include "server/listener.hpp"
#include "server/metrics_listener.hpp"
#include "server/push_takeover.hpp"
#include "server/retention.hpp"
#include "server/service_notify.hpp"
#include "store/store.hpp"
#include "util/version.hpp"

namespace dialtone {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

// HOST:PORT (validated by the config: an IP address, [IPv6] or localhost) as an endpoint.
tcp::endpoint endpoint_of(const std::string& hostport) {
  std::string host = host_of(hostport);
  auto port = static_cast<unsigned short>(std::stoi(hostport.substr(hostport.rfind(':') + 1)));
  return {asio::ip::make_address(host == "localhost" ? "127.0.0.1" : host), port};
}

void listen_on(tcp::acceptor& acceptor, const tcp::endpoint& ep) {
  acceptor.open(ep.protocol());
  acceptor.set_option(asio::socket_base::reuse_address(true));
  acceptor.bind(ep);
  acceptor.listen(asio::socket_base::max_listen_connections);
}

// The store's URL without its password, for the banner and logs.
std::string redacted(const std::string& url) {
  auto at = url.rfind('@');
  auto scheme = url.find("://");
  if (at == std::string::npos || scheme == std::string::npos) return url;
  std::string user = url.substr(scheme + 3, at - scheme - 3);
  if (auto colon = user.find(':'); colon != std::string::npos)
    user = user.substr(0, colon) + ":***";
  return url.substr(0, scheme + 3) + user + url.substr(at);
}

void print_banner(const Config& c, const tcp::endpoint& ep, bool dev, const Cluster* cluster,
                  const TlsCertificates* tls) {
  std::string host =
      ep.address().is_v6() ? "[" + ep.address().to_string() + "]" : ep.address().to_string();
  std::string base = (tls ? "https://" : "http://") + host + ":" + std::to_string(ep.port());
  std::cout << "dialtoned " << version() << " listening on " << base << "\n"
            << "  store: "
            << (c.store.empty()
                    ? "sqlite at " + (std::filesystem::path(c.data_dir) / "dialtone.db").string()
                    : "postgres at " + redacted(c.store))
            << "\n";
  if (tls) std::cout << "  tls: " << tls->describe() << " (SIGHUP reloads it)\n";
  if (cluster)
    std::cout << "  bus: nats at " << redacted(c.bus) << ", node " << cluster->node_id() << "\n";
  std::cout << "  ring timeout " << c.ring_timeout_s << " s, media timeout " << c.media_timeout_s
            << " s, presence grace " << c.presence_grace_s << " s\n";
  if (dev && !c.loopback_only())
    std::cout << "  WARNING: development tokens ON beyond loopback (dev_tokens_public = true): "
                 "anyone who reaches "
              << base << " can sign in as anyone\n";
  if (dev)
    std::cout << "  development tokens ON (no identity provider configured). Get one with:\n"
              << "    curl -s -X POST " << base
              << "/v1/dev/token -d '{\"userId\":\"alice\",\"name\":\"Alice\"}'\n";
  else
    std::cout << "  development tokens OFF: send a JWT from your identity provider as "
                 "'Authorization: Bearer <jwt>'\n";
  std::cout << "LISTENING " << host << ":" << ep.port() << std::endl;
}

// The data dir and what dialtoned keeps in it are owner-only (main() sets umask 077 for what
// it creates). Files left by an older version, created under another umask, are tightened; a
// data dir someone else made readable is left as it is, with a warning.
void secure_data_dir(const std::string& dir) {
  namespace fs = std::filesystem;
  if (!fs::exists(dir)) {
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace);
  }
  auto mode = fs::status(dir).permissions();
  if ((mode & (fs::perms::group_all | fs::perms::others_all)) != fs::perms::none)
    spdlog::warn("DATA_DIR_OPEN path=\"{}\" hint=\"chmod 700 {}\"", dir, dir);
  for (const char* name :
       {"dialtone.db", "dialtone.db-wal", "dialtone.db-shm", "dev-token.key", "vapid.pem"}) {
    fs::path p = fs::path(dir) / name;
    std::error_code ec;
    if (fs::is_regular_file(p, ec))
      fs::permissions(p, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace,
                      ec);
  }
}

}  // namespace

int run_server(const Config& config) {
  secure_data_dir(config.data_dir);
  auto store =
      config.store.empty()
          ? open_sqlite_store((std::filesystem::path(config.data_dir) / "dialtone.db").string(),
                              config.sqlite_synchronous)
          : open_postgres_store(config.store);
  // Development tokens: one key for every node of the store.
  Authenticator auth(config, now_ms(),
                     config.dev_tokens() ? shared_dev_key(*store, config.data_dir) : std::string());
  SigningSecrets secrets(config);
  Limits limits(config);
  std::unique_ptr<TlsCertificates> tls;
  if (config.tls())
    tls = std::make_unique<TlsCertificates>(config.tls_cert_file, config.tls_key_file);
  Metrics metrics;
  if (config.store.empty()) metrics.store_memory = sqlite_memory_bytes;
  // jwks_url: fetched before the port opens (up to 5 s; a cached set serves meanwhile).
  std::unique_ptr<JwksSource> jwks;
  if (!config.jwks_url.empty()) {
    JwksSourceOptions o;
    o.url = config.jwks_url;
    o.caFile = config.jwks_ca_file;
    o.cacheFile = (std::filesystem::path(config.data_dir) / "jwks-cache.json").string();
    o.minRefreshS = config.jwks_min_refresh_s;
    jwks = std::make_unique<JwksSource>(
        o,
        [&auth](std::vector<TrustedKey> keys) { auth.set_remote_keys(std::move(keys), now_ms()); },
        &metrics);
    if (!jwks->start(std::chrono::seconds(5)))
      spdlog::error(
          "JWKS_UNAVAILABLE url=\"{}\": no keys yet, so every token is refused until a fetch "
          "succeeds (retried, and on each token with an unknown kid)",
          config.jwks_url);
  }
  Hub hub;
  CallOptions opts{config.ring_timeout_s * 1000LL, config.media_timeout_s * 1000LL,
                   config.presence_grace_s * 1000LL};
  opts.cacheAcrossBatches = config.store.empty();  // only SQLite has a single writer
  // Several nodes: the others are reached over the bus (subscribed before the call path seeds its
  // routes from the store, so no change committed meanwhile can be missed).
  std::unique_ptr<Bus> bus;
  std::unique_ptr<Cluster> cluster;
  if (!config.bus.empty()) {
    std::string node = make_node_id();
    bus = open_nats_bus({config.bus, "dialtoned-" + node, config.nats_ca_file,
                         config.nats_cert_file, config.nats_key_file, config.nats_creds_file});
    cluster = std::make_unique<Cluster>(*bus, hub, node);
    hub.set_peers(cluster.get());
    cluster->start();
  }
  opts.pushOwner = cluster ? cluster->node_id() : make_node_id();
  opts.pushLeaseMs = config.push_lease_s * 1000LL;
  Calls calls(*store, hub, metrics, opts);
  PushSetup push = make_push(config, metrics, calls);
  calls.set_push(push.service.get());
  if (cluster)
    // A ring that ended on another node: this node's incoming-call pushes for it not yet sent
    // are dropped too (no device is woken for a call that is gone).
    cluster->set_change_listener([&push](const Call& c) {
      if (!is_unanswered(c.state) && c.ringDeadline > now_ms())
        push.service->cancel_incoming(c.callId, c.ringDeadline);
    });
  hub.set_signals_listener(
      [&calls](const Call& call, const Hub::SignalCounts& n) { calls.on_signals(call, n); });
  hub.set_presence_listener(
      [&calls](const std::string& user, const std::string& device, bool online, TimeMs when) {
        calls.on_presence(user, device, online, when);
      });
  asio::io_context ioc(config.threads);
  auto work = asio::make_work_guard(ioc);
  auto publisher = asio::make_strand(ioc);
  calls.set_publisher(
      [publisher](std::function<void()> fn) { asio::post(publisher, std::move(fn)); });
  // However this function is left — a listen address already taken throws below — the store
  // thread stops and lets go of the strand before the io_context that owns it is destroyed
  // (ASan saw the strand freed after its service: heap-use-after-free on a failed start).
  struct StopBeforeIoContext {
    Calls& calls;
    ~StopBeforeIoContext() {
      calls.stop();
      calls.set_publisher(nullptr);
    }
  } stopBeforeIoContext{calls};
  push.service->start();
  calls.start();

  ServerContext ctx{config, auth, calls, hub, metrics, push, secrets, limits};
  ctx.cluster = cluster.get();
  ctx.tls = tls.get();
  ctx.jwks = jwks.get();
  tcp::acceptor acceptor(ioc);
  listen_on(acceptor, endpoint_of(config.listen));
  // metrics_listen: /metrics on its own address.
  tcp::acceptor metricsAcceptor(ioc);
  if (!config.metrics_listen.empty()) {
    listen_on(metricsAcceptor, endpoint_of(config.metrics_listen));
    auto bound = metricsAcceptor.local_endpoint();
    // Before the banner's last line (LISTENING), after which stdout may be gone.
    std::cout << "  metrics: http://" << bound.address().to_string() << ":" << bound.port()
              << "/metrics (only there)" << std::endl;
    spdlog::info("METRICS_LISTENING address={}:{}", bound.address().to_string(), bound.port());
    asio::co_spawn(ioc, metrics_accept_loop(metrics, metricsAcceptor), asio::detached);
  }
  print_banner(config, acceptor.local_endpoint(), auth.dev_mode(), cluster.get(), tls.get());
  if (auth.dev_mode() && !config.loopback_only())
    spdlog::warn(
        "DEV_TOKENS_PUBLIC listen={}: anyone who reaches this address can sign in as "
        "anyone (dev_tokens_public = true)",
        config.listen);
  asio::co_spawn(ioc, accept_loop(ctx, acceptor), asio::detached);
  RetentionOptions retention;
  retention.days = config.history_retention_days;
  asio::co_spawn(ioc, retention_loop(calls, metrics, retention), asio::detached);
  asio::co_spawn(ioc, push_outbox_loop(calls, std::chrono::seconds(config.push_lease_s), !cluster),
                 asio::detached);
  std::string listening =
      "listening on " + config.host() + ":" + std::to_string(acceptor.local_endpoint().port());
  notify_ready(listening);

  // SIGHUP: the certificate, the JWT keys and the signing secrets are read again from their
  // files, and jwks_url is fetched again. Connections, sessions and calls go on; what fails to
  // load keeps the old value.
  asio::signal_set hup(ioc, SIGHUP);
  auto reloader = [&]() -> asio::awaitable<void> {
    for (;;) {
      auto [ec, sig] = co_await hup.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      notify_reloading();
      int failed = 0;
      auto attempt = [&](const char* what, auto&& fn) {
        try {
          fn();
        } catch (const std::exception& e) {
          ++failed;
          spdlog::error("RELOAD_FAILED what={} error=\"{}\"", what, e.what());
        }
      };
      if (tls)
        attempt("tls", [&] {
          if (auto err = tls->reload()) throw std::runtime_error(*err);
          spdlog::info("RELOAD tls certificate=\"{}\"", tls->describe());
        });
      attempt("jwt_keys", [&] {
        std::size_t n = auth.reload(now_ms());
        if (!auth.dev_mode()) spdlog::info("RELOAD jwt_keys trusted={}", n);
      });
      attempt("secrets", [&] { secrets.reload(); });
      if (jwks) jwks->refresh_now();
      spdlog::info("RELOAD_DONE failed={}", failed);
      notify_ready(listening);
    }
  };
  asio::co_spawn(ioc, reloader(), asio::detached);

  // Two-phase shutdown: stop accepting and say goodbye to every session; once they are gone
  // (or after 3 s), drain the committer, and stop after whatever it still had to publish.
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  auto shutdown = [&]() -> asio::awaitable<void> {
    int sig = co_await signals.async_wait(asio::use_awaitable);
    spdlog::info("SHUTDOWN signal={} sessions={}", sig, hub.session_count());
    notify_stopping();
    ctx.draining = true;
    boost::system::error_code ignored;
    acceptor.close(ignored);
    hup.cancel(ignored);
    hub.shutdown_all();
    asio::steady_timer poll(ioc);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (hub.session_count() > 0 && std::chrono::steady_clock::now() < deadline) {
      poll.expires_after(std::chrono::milliseconds(20));
      co_await poll.async_wait(asio::use_awaitable);
    }
    calls.stop();
    work.reset();
    asio::post(publisher, [&ioc] { ioc.stop(); });
  };
  asio::co_spawn(ioc, shutdown(), asio::detached);

  std::vector<std::thread> threads;
  for (int i = 1; i < config.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  calls.stop();
  if (cluster) cluster->stop();  // after the sessions' goodbyes: the others learn it at once
  push.service->stop();
  if (jwks) jwks->stop();
  calls.set_publisher(nullptr);  // it holds a strand of `ioc`, which must not outlive it
  spdlog::info("SHUTDOWN_COMPLETE");
  return 0;
}

}  // namespace dialtone
