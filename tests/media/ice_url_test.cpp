// SPDX-License-Identifier: Apache-2.0
// STUN/TURN URLs as RTCIceServer carries them, and the protocol of a relayed path.
#include <gtest/gtest.h>

#include "media/ice_url.hpp"

namespace dialtone::media {
namespace {

TEST(IceUrl, SchemesHostsPortsAndTransports) {
  auto u = parse_ice_url("turn:198.51.100.1:3478?transport=tcp");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->scheme, "turn");
  EXPECT_EQ(u->host, "198.51.100.1");
  EXPECT_EQ(u->port, 3478);
  EXPECT_EQ(u->transport, "tcp");
  u = parse_ice_url("turns:turn.example.com:443?transport=tcp");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "turn.example.com");
  EXPECT_EQ(u->port, 443);
  EXPECT_EQ(u->transport, "tls");
  u = parse_ice_url("turn:[2001:db8::1]");  // IPv6, the default port, UDP
  ASSERT_TRUE(u);
  EXPECT_EQ(u->host, "2001:db8::1");
  EXPECT_EQ(u->port, 3478);
  EXPECT_EQ(u->transport, "udp");
  EXPECT_EQ(parse_ice_url("turns:example.com")->port, 5349);
  EXPECT_EQ(parse_ice_url("stun:stun.example.com:19302")->transport, "udp");
}

TEST(IceUrl, WhatIsNotAnIceUrlIsRefused) {
  for (const char* bad :
       {"", "http://example.com", "turn:", "turn:host:99999", "turn:host:x", "turn:[::1",
        "turn:host?transport=sctp", "turn:[::1]x", "turn:a:b:3478", "turn:user@host",
        "turn:host:", "turn:ho%20st", "turns:4c:\177=fings]57;aut\232(:2"})
    EXPECT_FALSE(parse_ice_url(bad)) << bad;
}

TEST(IceUrl, ARelaysProtocolComesFromItsServerAndPriority) {
  const std::vector<std::string> urls = {"turn:198.51.100.1:3478?transport=udp",
                                         "turn:198.51.100.1:3478?transport=tcp",
                                         "turns:198.51.100.1:443?transport=tcp"};
  // The same server and port over UDP and TCP: the priority decides.
  EXPECT_EQ(relay_protocol(urls, "198.51.100.1", 3478, true), "udp");
  EXPECT_EQ(relay_protocol(urls, "198.51.100.1", 3478, false), "tcp");
  EXPECT_EQ(relay_protocol(urls, "198.51.100.1", 443, false), "tls");
  // A server no URL names by that address (a host name resolved): TCP unless over UDP.
  EXPECT_EQ(relay_protocol(urls, "203.0.113.9", 443, false), "tcp");
  EXPECT_EQ(relay_protocol(urls, "203.0.113.9", 443, true), "udp");
}

}  // namespace
}  // namespace dialtone::media
