// SPDX-License-Identifier: Apache-2.0
#include "sdk/report_buffer.hpp"

#include <algorithm>

namespace dialtone::sdk {

namespace json = boost::json;

void ReportBuffer::add(json::object event, Clock::time_point at) {
  held_.emplace_back(std::move(event), at);
  if (held_.size() <= kMaxHeld) return;
  // Too many while the server is out of reach: a quality sample is the least to lose.
  auto q = std::find_if(held_.begin(), held_.end(), [](const auto& e) {
    const auto* t = e.first.if_contains("type");
    return t && t->is_string() && t->get_string() == "quality";
  });
  held_.erase(q != held_.end() ? q : held_.begin());
}

json::array ReportBuffer::take(Clock::time_point now, std::optional<TimeMs> serverNow) {
  json::array out;
  while (!held_.empty() && out.size() < kPerReport) {
    auto [event, at] = std::move(held_.front());
    held_.pop_front();
    auto ago = std::chrono::duration_cast<std::chrono::milliseconds>(now - at).count();
    if (ago > 600'000) continue;
    ago = std::max<std::int64_t>(0, ago);
    event["ago"] = ago;
    // Sent again (its answer was lost), an event keeps the `at` it first had: the server then
    // recognizes it and stores it once.
    if (serverNow && !event.contains("at")) event["at"] = format_iso(*serverNow - ago);
    out.push_back(std::move(event));
  }
  return out;
}

}  // namespace dialtone::sdk
