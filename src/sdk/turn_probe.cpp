// SPDX-License-Identifier: Apache-2.0
#include "sdk/turn_probe.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/udp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stun/stunagent.h>
#include <stun/usages/bind.h>

#include <spdlog/spdlog.h>

#include <algorithm>

#include "media/ice_url.hpp"

namespace dialtone::sdk {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::use_awaitable;

namespace {

int rank(const std::string& transport) {
  return transport == "udp" ? 0 : transport == "tcp" ? 1 : 2;
}

// Races `op` against a timer; false when the timer won or `op` failed.
template <class Op>
asio::awaitable<bool> within(std::chrono::milliseconds limit, Op op) {
  asio::steady_timer timer(co_await asio::this_coro::executor, limit);
  auto r = co_await (op() || timer.async_wait(asio::as_tuple(use_awaitable)));
  co_return r.index() == 0 && std::get<0>(r);
}

// A STUN Binding request (RFC 5389, built and checked by libnice's STUN code) answered by the
// server over UDP: UDP gets through from here.
asio::awaitable<bool> udp_answers(const std::string& host, int port,
                                  std::chrono::milliseconds wait) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::udp::resolver resolver(ex);
  auto [ec, found] =
      co_await resolver.async_resolve(host, std::to_string(port), asio::as_tuple(use_awaitable));
  if (ec || found.empty()) co_return false;
  auto target = found.begin()->endpoint();
  asio::ip::udp::socket socket(ex);
  socket.open(target.protocol(), ec);
  if (ec) co_return false;
  StunAgent agent;
  stun_agent_init(&agent, STUN_ALL_KNOWN_ATTRIBUTES, STUN_COMPATIBILITY_RFC5389,
                  StunAgentUsageFlags(0));
  StunMessage request;
  uint8_t out[STUN_MAX_MESSAGE_SIZE];
  size_t len = stun_usage_bind_create(&agent, &request, out, sizeof out);
  if (len == 0) co_return false;
  auto exchange = [&]() -> asio::awaitable<bool> {
    uint8_t in[STUN_MAX_MESSAGE_SIZE];
    // Sent three times within the wait (a single lost datagram is not "UDP blocked").
    for (int attempt = 0; attempt < 3; ++attempt) {
      co_await socket.async_send_to(asio::buffer(out, len), target, asio::as_tuple(use_awaitable));
      asio::steady_timer gap(ex, wait / 3);
      auto r = co_await (socket.async_receive(asio::buffer(in), asio::as_tuple(use_awaitable)) ||
                         gap.async_wait(asio::as_tuple(use_awaitable)));
      if (r.index() != 0) continue;
      auto [rec, n] = std::get<0>(r);
      if (rec) co_return false;  // e.g. ICMP port unreachable
      StunMessage response;
      if (stun_agent_validate(&agent, &response, in, n, nullptr, nullptr) ==
              STUN_VALIDATION_SUCCESS &&
          stun_message_get_class(&response) == STUN_RESPONSE)
        co_return true;
    }
    co_return false;
  };
  socket.connect(target, ec);  // so that ICMP errors are reported to this socket
  if (ec) co_return false;
  co_return co_await exchange();
}

asio::awaitable<bool> tcp_connects(const std::string& host, int port,
                                   std::chrono::milliseconds wait) {
  auto ex = co_await asio::this_coro::executor;
  asio::ip::tcp::resolver resolver(ex);
  asio::ip::tcp::socket socket(ex);
  co_return co_await within(wait, [&]() -> asio::awaitable<bool> {
    auto [ec, found] =
        co_await resolver.async_resolve(host, std::to_string(port), asio::as_tuple(use_awaitable));
    if (ec) co_return false;
    auto [cec, ep] = co_await asio::async_connect(socket, found, asio::as_tuple(use_awaitable));
    co_return !cec;
  });
}

}  // namespace

std::vector<TurnChoice> turn_choices(const std::vector<media::IceServer>& servers) {
  std::vector<TurnChoice> out;
  for (const auto& s : servers)
    for (const auto& url : s.urls) {
      auto u = media::parse_ice_url(url);
      if (!u || u->scheme.rfind("turn", 0) != 0) continue;
      auto it = std::find_if(out.begin(), out.end(), [&](const TurnChoice& c) {
        return c.host == u->host && c.username == s.username && c.credential == s.credential;
      });
      if (it == out.end()) it = out.insert(out.end(), {u->host, {}, s.username, s.credential});
      it->urls.push_back(url);
    }
  for (auto& c : out)
    std::stable_sort(c.urls.begin(), c.urls.end(), [](const std::string& a, const std::string& b) {
      return rank(media::parse_ice_url(a)->transport) < rank(media::parse_ice_url(b)->transport);
    });
  return out;
}

asio::awaitable<std::vector<media::IceServer>> probe_turn_servers(
    std::vector<media::IceServer> servers, std::chrono::milliseconds udpWait,
    std::chrono::milliseconds tcpWait) {
  std::vector<media::IceServer> out;
  for (auto& s : servers) {  // STUN URLs stay where they are
    media::IceServer stun = s;
    std::erase_if(stun.urls, [](const std::string& u) { return u.rfind("turn", 0) == 0; });
    if (!stun.urls.empty()) out.push_back(std::move(stun));
  }
  for (auto& choice : turn_choices(servers)) {
    std::string chosen;
    for (const auto& url : choice.urls) {
      auto u = media::parse_ice_url(url);
      bool ok = u->transport == "udp" ? co_await udp_answers(u->host, u->port, udpWait)
                                      : co_await tcp_connects(u->host, u->port, tcpWait);
      if (ok) {
        chosen = url;
        break;
      }
    }
    spdlog::info("TURN_PROBE host={} chosen={}", choice.host, chosen.empty() ? "(none)" : chosen);
    media::IceServer turn{{}, choice.username, choice.credential};
    if (chosen.empty())
      turn.urls = choice.urls;
    else
      turn.urls = {chosen};
    out.push_back(std::move(turn));
  }
  co_return out;
}

}  // namespace dialtone::sdk
