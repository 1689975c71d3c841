// SPDX-License-Identifier: Apache-2.0
// STUN and TURN URLs (RFC 7064, RFC 7065) as RTCIceServer carries them, and what they tell
// about a relayed path.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace dialtone::media {

struct IceUrl {
  std::string scheme;     // "stun", "stuns", "turn", "turns"
  std::string host;       // without brackets for IPv6
  int port = 0;           // the scheme's default when the URL has none (3478, or 5349 for TLS)
  std::string transport;  // TURN: "udp", "tcp" or "tls" (turns: is always TLS); STUN: "udp"
};

// nullopt when `url` is not a STUN or TURN URL.
std::optional<IceUrl> parse_ice_url(std::string_view url);

// What libnice (0.1.21) makes of a TURN URL: a turns: URL is TURN over plain TCP to that port
// (its TLS exists only for the Google and Microsoft dialects, not RFC 5245 mode), so it is given
// as the turn:…?transport=tcp URL it really is; other URLs are returned as they are.
std::string as_libnice_sees_it(const std::string& url);

// How a relayed path reaches its TURN server: "udp", "tcp" or "tls". `serverHost`/`serverPort`
// are the server the relay candidate came from; `overUdp` is what the candidate's priority says
// (libnice ranks relays over UDP above those over TCP/TLS), which decides between a UDP and a
// TCP URL of the same server and port, and when no URL names the server by that address.
std::string relay_protocol(const std::vector<std::string>& urls, const std::string& serverHost,
                           int serverPort, bool overUdp);

}  // namespace dialtone::media
