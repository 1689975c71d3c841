// SPDX-License-Identifier: Apache-2.0
// The answer of GET /v1/turn-credentials (docs/protocol.md, "TURN credentials") as the media
// layer's ICE servers, with how long to keep them. Pure: the server's JSON in, what of it has the
// expected shape out (an entry or field of another shape is skipped, never an error).
#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <vector>

#include "media/transport.hpp"

namespace dialtone::sdk {

struct IceCredentials {
  std::vector<media::IceServer> servers;
  // `ttlSeconds`, at least 120 s; 30 s when the answer has none (asked again soon).
  std::chrono::seconds ttl{30};
};

IceCredentials parse_ice_credentials(const boost::json::value& body);

}  // namespace dialtone::sdk
