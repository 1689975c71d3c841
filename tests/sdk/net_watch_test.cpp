// SPDX-License-Identifier: Apache-2.0
// What counts as a network change in the kernel's routing messages.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include <cstring>
#include <vector>

#include "sdk/net_watch.hpp"

namespace dialtone::sdk {
namespace {

std::vector<std::uint8_t> addr_message(std::uint16_t type, unsigned char scope, const char* ip) {
  std::vector<std::uint8_t> b(NLMSG_SPACE(sizeof(ifaddrmsg) + RTA_SPACE(4)));
  auto* h = reinterpret_cast<nlmsghdr*>(b.data());
  h->nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg) + RTA_SPACE(4));
  h->nlmsg_type = type;
  auto* a = static_cast<ifaddrmsg*>(NLMSG_DATA(h));
  a->ifa_family = AF_INET;
  a->ifa_prefixlen = 24;
  a->ifa_scope = scope;
  auto* rta = IFA_RTA(a);
  rta->rta_type = IFA_ADDRESS;
  rta->rta_len = RTA_LENGTH(4);
  inet_pton(AF_INET, ip, RTA_DATA(rta));
  return b;
}

std::vector<std::uint8_t> route_message(std::uint16_t type, unsigned char dstLen,
                                        unsigned char table = RT_TABLE_MAIN) {
  std::vector<std::uint8_t> b(NLMSG_SPACE(sizeof(rtmsg)));
  auto* h = reinterpret_cast<nlmsghdr*>(b.data());
  h->nlmsg_len = NLMSG_LENGTH(sizeof(rtmsg));
  h->nlmsg_type = type;
  auto* r = static_cast<rtmsg*>(NLMSG_DATA(h));
  r->rtm_family = AF_INET;
  r->rtm_dst_len = dstLen;
  r->rtm_table = table;
  r->rtm_type = RTN_UNICAST;
  return b;
}

std::optional<std::string> change(const std::vector<std::uint8_t>& b) {
  return network_change(b.data(), b.size());
}

TEST(NetworkChange, AddressesAndTheDefaultRouteCount) {
  EXPECT_EQ(change(addr_message(RTM_NEWADDR, RT_SCOPE_UNIVERSE, "10.0.1.3")),
            "address 10.0.1.3 added");
  EXPECT_EQ(change(addr_message(RTM_DELADDR, RT_SCOPE_UNIVERSE, "10.0.1.2")),
            "address 10.0.1.2 removed");
  EXPECT_EQ(change(route_message(RTM_DELROUTE, 0)), "default route removed");
  // Two messages in one batch: the last one that counts is named.
  auto both = addr_message(RTM_DELADDR, RT_SCOPE_UNIVERSE, "10.0.1.2");
  auto route = route_message(RTM_NEWROUTE, 0);
  both.insert(both.end(), route.begin(), route.end());
  EXPECT_EQ(change(both), "default route added");
}

TEST(NetworkChange, LoopbackLinkLocalOtherRoutesAndGarbageDoNot) {
  EXPECT_FALSE(change(addr_message(RTM_NEWADDR, RT_SCOPE_HOST, "127.0.0.1")));
  EXPECT_FALSE(change(addr_message(RTM_NEWADDR, RT_SCOPE_LINK, "169.254.1.1")));
  EXPECT_FALSE(change(route_message(RTM_NEWROUTE, 24)));                 // a subnet route
  EXPECT_FALSE(change(route_message(RTM_NEWROUTE, 0, RT_TABLE_LOCAL)));  // not the main table
  auto cut = addr_message(RTM_NEWADDR, RT_SCOPE_UNIVERSE, "10.0.1.3");
  cut.resize(10);
  EXPECT_FALSE(change(cut));
  std::vector<std::uint8_t> lies(64, 0xff);  // lengths that point past the end
  EXPECT_FALSE(change(lies));
  EXPECT_FALSE(network_change(nullptr, 0));
}

}  // namespace
}  // namespace dialtone::sdk
