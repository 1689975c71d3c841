// SPDX-License-Identifier: Apache-2.0
#include "sdk/ice_credentials.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace dialtone::sdk {

namespace json = boost::json;

IceCredentials parse_ice_credentials(const json::value& body) {
  IceCredentials out;
  if (!body.is_object()) return out;
  const auto& o = body.as_object();
  if (auto* list = o.if_contains("iceServers"); list && list->is_array())
    for (const auto& e : list->as_array()) {
      if (!e.is_object()) continue;
      media::IceServer s;
      const auto& eo = e.as_object();
      if (auto* u = eo.if_contains("urls")) {
        if (u->is_string()) s.urls.emplace_back(u->get_string());
        if (u->is_array())
          for (const auto& x : u->as_array())
            if (x.is_string()) s.urls.emplace_back(x.get_string());
      }
      if (auto* v = eo.if_contains("username"); v && v->is_string()) s.username = v->get_string();
      if (auto* v = eo.if_contains("credential"); v && v->is_string())
        s.credential = v->get_string();
      out.servers.push_back(std::move(s));
    }
  if (auto* t = o.if_contains("ttlSeconds"); t && t->is_int64())
    out.ttl = std::chrono::seconds(std::max<std::int64_t>(t->get_int64(), 120));
  return out;
}

}  // namespace dialtone::sdk
