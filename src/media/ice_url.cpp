// SPDX-License-Identifier: Apache-2.0
#include "media/ice_url.hpp"

#include <boost/url/authority_view.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/parse_query.hpp>

#include <cctype>
#include <charconv>

namespace dialtone::media {

std::optional<IceUrl> parse_ice_url(std::string_view text) {
  // scheme ":" host [":" port] ["?transport=" transport]. An RFC 7064 URL has no "//", so a
  // generic URI parser sees host and port as a path: the parts go to Boost.URL one by one.
  IceUrl out;
  auto colon = text.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  out.scheme = std::string(text.substr(0, colon));
  if (out.scheme != "stun" && out.scheme != "stuns" && out.scheme != "turn" &&
      out.scheme != "turns")
    return std::nullopt;
  std::string_view hp = text.substr(colon + 1), query = "";
  if (auto q = hp.find('?'); q != std::string_view::npos) {
    query = hp.substr(q + 1);
    hp = hp.substr(0, q);
  }
  auto params = boost::urls::parse_query(boost::core::string_view(query.data(), query.size()));
  if (!params) return std::nullopt;
  // host [":" port] by RFC 3986's authority grammar (Boost.URL): an IPv4 address, an IPv6
  // address in brackets, or a DNS name; no user info, no IPvFuture, no percent-encoding.
  auto authority = boost::urls::parse_authority(boost::core::string_view(hp.data(), hp.size()));
  if (!authority || authority->has_userinfo()) return std::nullopt;
  std::string_view port;
  switch (authority->host_type()) {
    case boost::urls::host_type::ipv4:
      out.host = authority->host_ipv4_address().to_string();
      break;
    case boost::urls::host_type::ipv6:
      out.host = authority->host_ipv6_address().to_string();
      break;
    case boost::urls::host_type::name: {
      auto name = authority->encoded_host();
      for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_')
          return std::nullopt;
      out.host = std::string(name);
      break;
    }
    default:
      return std::nullopt;
  }
  if (authority->has_port()) {
    auto p = authority->port();
    port = std::string_view(p.data(), p.size());
    if (port.empty()) return std::nullopt;
  }
  if (out.host.empty()) return std::nullopt;
  const bool tls = out.scheme == "turns" || out.scheme == "stuns";
  out.port = tls ? 5349 : 3478;
  if (!port.empty()) {
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), out.port);
    if (ec != std::errc() || end != port.data() + port.size() || out.port <= 0 || out.port > 65535)
      return std::nullopt;
  }
  out.transport = tls ? "tls" : "udp";
  for (auto param : *params)
    if (param.key == "transport" && out.scheme == "turn") {
      if (param.value == "tcp" || param.value == "udp")
        out.transport = param.value;
      else
        return std::nullopt;
    }
  return out;
}

std::string as_libnice_sees_it(const std::string& url) {
  auto u = parse_ice_url(url);
  if (!u || u->scheme != "turns") return url;
  std::string host = u->host.find(':') != std::string::npos ? "[" + u->host + "]" : u->host;
  return "turn:" + host + ":" + std::to_string(u->port) + "?transport=tcp";
}

std::string relay_protocol(const std::vector<std::string>& urls, const std::string& serverHost,
                           int serverPort, bool overUdp) {
  bool tcp = false, tls = false;
  for (const auto& text : urls) {
    auto u = parse_ice_url(text);
    if (!u || u->scheme.rfind("turn", 0) != 0 || u->host != serverHost || u->port != serverPort)
      continue;
    tcp = tcp || u->transport == "tcp";
    tls = tls || u->transport == "tls";
  }
  if (overUdp) return "udp";
  if (tls && !tcp) return "tls";
  return "tcp";
}

}  // namespace dialtone::media
