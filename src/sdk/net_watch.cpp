// SPDX-License-Identifier: Apache-2.0
#include "sdk/net_watch.hpp"

#include <boost/asio/generic/raw_protocol.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <cstring>

#ifdef __linux__
#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>
#endif

namespace dialtone::sdk {

namespace asio = boost::asio;

#ifdef __linux__

std::optional<std::string> network_change(const std::uint8_t* data, std::size_t size) {
  std::optional<std::string> found;
  if (!data || size == 0) return found;
  // The NLMSG_* macros walk the batch with the kernel's alignment and bounds rules.
  int left = static_cast<int>(std::min<std::size_t>(size, 1 << 20));
  alignas(nlmsghdr) static thread_local std::array<std::uint8_t, 1 << 16> aligned;
  if (size > aligned.size()) return std::nullopt;
  std::memcpy(aligned.data(), data, size);
  for (auto* h = reinterpret_cast<const nlmsghdr*>(aligned.data()); NLMSG_OK(h, left);
       h = NLMSG_NEXT(h, left)) {
    if (h->nlmsg_type == RTM_NEWADDR || h->nlmsg_type == RTM_DELADDR) {
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(ifaddrmsg))) continue;
      const auto* a = static_cast<const ifaddrmsg*>(NLMSG_DATA(h));
      if (a->ifa_scope == RT_SCOPE_HOST || a->ifa_scope == RT_SCOPE_LINK) continue;
      std::string address;
      int attrLen = static_cast<int>(IFA_PAYLOAD(h));
      for (const rtattr* rta = IFA_RTA(a); RTA_OK(rta, attrLen); rta = RTA_NEXT(rta, attrLen)) {
        if (rta->rta_type != IFA_ADDRESS && rta->rta_type != IFA_LOCAL) continue;
        std::size_t n = RTA_PAYLOAD(rta);
        char text[INET6_ADDRSTRLEN] = {};
        if ((a->ifa_family == AF_INET && n == 4) || (a->ifa_family == AF_INET6 && n == 16))
          inet_ntop(a->ifa_family, RTA_DATA(rta), text, sizeof text);
        address = text;
      }
      found = "address " + (address.empty() ? std::string("?") : address) +
              (h->nlmsg_type == RTM_NEWADDR ? " added" : " removed");
    } else if (h->nlmsg_type == RTM_NEWROUTE || h->nlmsg_type == RTM_DELROUTE) {
      if (h->nlmsg_len < NLMSG_LENGTH(sizeof(rtmsg))) continue;
      const auto* r = static_cast<const rtmsg*>(NLMSG_DATA(h));
      if (r->rtm_table != RT_TABLE_MAIN || r->rtm_dst_len != 0 || r->rtm_type != RTN_UNICAST)
        continue;
      found = std::string("default route ") + (h->nlmsg_type == RTM_NEWROUTE ? "added" : "removed");
    }
  }
  return found;
}

struct NetworkWatch::State : std::enable_shared_from_this<State> {
  State(asio::io_context& ioc, std::function<void(const std::string&)> f,
        std::chrono::milliseconds settle)
      : socket(ioc), timer(ioc), changed(std::move(f)), settle(settle) {}
  asio::generic::raw_protocol::socket socket;
  asio::steady_timer timer;
  std::function<void(const std::string&)> changed;
  std::chrono::milliseconds settle;
  std::array<std::uint8_t, 1 << 16> buffer;
  std::string why;
  bool closed = false;

  void start() {
    boost::system::error_code ec;
    socket.open(asio::generic::raw_protocol(AF_NETLINK, NETLINK_ROUTE), ec);
    sockaddr_nl local{};
    local.nl_family = AF_NETLINK;
    local.nl_groups =
        RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR | RTMGRP_IPV4_ROUTE | RTMGRP_IPV6_ROUTE;
    if (!ec) socket.bind(asio::generic::raw_protocol::endpoint(&local, sizeof local), ec);
    if (ec) {
      spdlog::warn("NETWORK_WATCH_UNAVAILABLE {} (call Client::network_changed() instead)",
                   ec.message());
      return;
    }
    receive();
  }
  void receive() {
    socket.async_receive(asio::buffer(buffer),
                         [self = shared_from_this()](boost::system::error_code ec, std::size_t n) {
                           if (self->closed || ec == asio::error::operation_aborted) return;
                           if (!ec)
                             if (auto why = network_change(self->buffer.data(), n))
                               self->burst(*why);
                           // ENOBUFS (the kernel dropped messages): something changed, we cannot say what.
                           if (ec == boost::system::errc::no_buffer_space)
                             self->burst("changes lost (ENOBUFS)");
                           self->receive();
                         });
  }
  void burst(const std::string& what) {
    why = what;
    timer.expires_after(settle);
    timer.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (!ec && !self->closed) self->changed(self->why);
    });
  }
};

NetworkWatch::NetworkWatch(asio::io_context& ioc, std::function<void(const std::string&)> changed,
                           std::chrono::milliseconds settle)
    : s_(std::make_shared<State>(ioc, std::move(changed), settle)) {
  s_->start();
}

NetworkWatch::~NetworkWatch() {
  s_->closed = true;
  boost::system::error_code ec;
  s_->socket.close(ec);
  s_->timer.cancel();
}

#else

std::optional<std::string> network_change(const std::uint8_t*, std::size_t) {
  return std::nullopt;
}
struct NetworkWatch::State {};
NetworkWatch::NetworkWatch(asio::io_context&, std::function<void(const std::string&)>,
                           std::chrono::milliseconds) {}
NetworkWatch::~NetworkWatch() = default;

#endif

}  // namespace dialtone::sdk
