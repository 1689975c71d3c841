// SPDX-License-Identifier: Apache-2.0
// TURN REST credentials (coturn `use-auth-secret`, draft-uberti-behave-turn-rest-00) and the
// RTCConfiguration-shaped answer of GET /v1/turn-credentials. The secret never leaves here.
#pragma once

#include <boost/json/object.hpp>

#include <string>
#include <string_view>

#include "core/time.hpp"
#include "server/config.hpp"

namespace dialtone {

// "<expiry seconds>:<userId>", the userId's ':' and '%' percent-encoded so that coturn, which
// splits at the first ':', always reads the expiry.
std::string turn_username(long long expiry_s, std::string_view user_id);
// base64(HMAC-SHA1(secret, username)), standard alphabet with padding.
std::string turn_password(std::string_view secret, std::string_view username);

// {"iceServers":[{"urls":[stun...]},{"urls":[turn...],"username","credential"}],"ttlSeconds"},
// the TURN credential minted from `secret` (the current turn secret).
boost::json::object ice_servers_for(const Config& c, std::string_view secret,
                                    std::string_view user_id, TimeMs now);

}  // namespace dialtone
