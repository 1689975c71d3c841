// SPDX-License-Identifier: Apache-2.0
// Notices when the device's network changes — an address added or removed, the default route
// replaced — from the kernel's routing messages (rtnetlink, Linux), so that the client moves its
// connection and its calls' media to the new network at once instead of waiting for timeouts.
// Elsewhere it watches nothing and the app calls Client::network_changed() itself.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace dialtone::sdk {

// Pure: what in one batch of rtnetlink messages counts as a network change ("address 10.0.1.3
// added", "default route removed"); nullopt when nothing does (loopback and link-local
// addresses, other routes, links, malformed messages).
std::optional<std::string> network_change(const std::uint8_t* data, std::size_t size);

class NetworkWatch {
 public:
  // `changed` runs on `ioc`, once per burst of changes (they come in bursts: an address, its
  // routes, the default route), `settle` after the last one.
  NetworkWatch(boost::asio::io_context& ioc, std::function<void(const std::string&)> changed,
               std::chrono::milliseconds settle = std::chrono::milliseconds(150));
  ~NetworkWatch();
  NetworkWatch(const NetworkWatch&) = delete;

 private:
  struct State;
  std::shared_ptr<State> s_;
};

}  // namespace dialtone::sdk
