// SPDX-License-Identifier: Apache-2.0
// Which TURN transport reaches each TURN server from the network this device is on.
//
// libnice (0.1.21) keeps one relay candidate per TURN server address: the first allocation to
// succeed, whatever its transport (agent/discovery.c, "relay cand redundant"), and drops the
// others. Given a server's UDP, TCP and TLS URLs at once, a call may relay over TCP where UDP
// works, and the TCP allocations it drops are closed under the one it keeps. So before the
// URLs go to a transport, each server is probed — a STUN Binding over UDP, else a TCP connect
// to its TCP URL, else to its TLS URL — and keeps the one URL that works from here. Servers
// that answer nothing keep all their URLs (libnice may still get through where a probe did not).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string>
#include <vector>

#include "media/transport.hpp"

namespace dialtone::sdk {

// One TURN server's URLs, best first (UDP, TCP, TLS), with their credentials.
struct TurnChoice {
  std::string host;
  std::vector<std::string> urls;  // in order of preference
  std::string username, credential;
};

// Pure: the TURN servers in `servers` grouped by host, each group's URLs in order of
// preference; STUN URLs are not included.
std::vector<TurnChoice> turn_choices(const std::vector<media::IceServer>& servers);

// `servers` with each TURN server reduced to the first of its URLs that answers from here
// (UDP within `udpWait`, TCP connects within `tcpWait`). STUN URLs are kept as they are.
boost::asio::awaitable<std::vector<media::IceServer>> probe_turn_servers(
    std::vector<media::IceServer> servers,
    std::chrono::milliseconds udpWait = std::chrono::milliseconds(400),
    std::chrono::milliseconds tcpWait = std::chrono::milliseconds(1500));

}  // namespace dialtone::sdk
