// SPDX-License-Identifier: Apache-2.0
#include "server/turn_credentials.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <stdexcept>

#include "util/encoding.hpp"

namespace dialtone {

namespace json = boost::json;

std::string turn_username(long long expiry_s, std::string_view user_id) {
  std::string u = std::to_string(expiry_s) + ":";
  for (char ch : user_id) {
    if (ch == ':')
      u += "%3A";
    else if (ch == '%')
      u += "%25";
    else
      u += ch;
  }
  return u;
}

std::string turn_password(std::string_view secret, std::string_view username) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac, &len))
    throw std::runtime_error("HMAC-SHA1 failed");
  return base64_encode(std::string_view(reinterpret_cast<const char*>(mac), len));
}

json::object ice_servers_for(const Config& c, std::string_view secret, std::string_view user_id,
                             TimeMs now) {
  json::array servers;
  if (!c.stun_urls.empty()) {
    json::array urls(c.stun_urls.begin(), c.stun_urls.end());
    servers.push_back(json::object{{"urls", std::move(urls)}});
  }
  if (!c.turn_urls.empty()) {
    std::string username = turn_username(now / 1000 + c.turn_ttl_s, user_id);
    json::array urls(c.turn_urls.begin(), c.turn_urls.end());
    servers.push_back(json::object{{"urls", std::move(urls)},
                                   {"username", username},
                                   {"credential", turn_password(secret, username)}});
  }
  return json::object{{"iceServers", std::move(servers)}, {"ttlSeconds", c.turn_ttl_s}};
}

}  // namespace dialtone
