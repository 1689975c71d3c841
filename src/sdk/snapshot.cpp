// SPDX-License-Identifier: Apache-2.0
#include "sdk/snapshot.hpp"

#include <algorithm>

#include "core/errors.hpp"

namespace dialtone::sdk {

namespace json = boost::json;

namespace {

std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

}  // namespace

std::pair<ErrorCode, std::string> parse_error(const json::object& body) {
  std::pair<ErrorCode, std::string> out{ErrorCode::internal, ""};
  auto* err = body.if_contains("error");
  if (!err || !err->is_object()) return out;
  if (auto* c = err->get_object().if_contains("code"); c && c->is_string())
    out.first = parse_error_name(c->get_string()).value_or(ErrorCode::internal);
  out.second = str(err->get_object(), "message");
  return out;
}

void ClockOffset::add(TimeMs sentAt, TimeMs receivedAt, TimeMs serverTime) {
  if (receivedAt < sentAt) return;
  samples_.push_back({receivedAt - sentAt, serverTime - (sentAt + receivedAt) / 2});
  if (samples_.size() > 16) samples_.pop_front();
  best_ = std::min_element(samples_.begin(), samples_.end(), [](auto& a, auto& b) {
            return a.rtt < b.rtt;
          })->offset;
}

}  // namespace dialtone::sdk
