// SPDX-License-Identifier: Apache-2.0
// A participant's `report` events, untrusted: checked, stored as the server would, and then
// everything the server computes from them (the timeline, the per-side summary with its
// percentiles and E-model, the likely cause). Input: the caller's events array, a newline, the
// receiver's; the first byte picks how the call ended. Any input may be refused with Error;
// nothing may crash, leak or trip a sanitizer.
#include <boost/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "core/errors.hpp"
#include "core/state_machine.hpp"
#include "core/timeline.hpp"

namespace json = boost::json;
using namespace dialtone;

namespace {

constexpr TimeMs T0 = 1'700'000'000'000;

Call driven(std::uint8_t how) {
  CreateInput in;
  in.caller = {"alice", "dev-a"};
  in.callerProfile = {"alice", "Alice", ""};
  in.receiverId = "bob";
  in.receiver = Profile{"bob", "Bob", ""};
  in.newCallId = "c1";
  in.now = T0;
  Call c = *decide_create(in).call;
  auto go = [&](Event e, const char* user, const char* dev, TimeMs at,
                std::optional<std::string> reason = std::nullopt) {
    Transition t = apply(c, Intent{e, reason}, Actor{user, dev}, at);
    if (t.error == ErrorCode::ok) c = t.call;
  };
  if (how % 4 == 0) {
    go(Event::ring_timeout, "", "", T0 + 45'000);
    return c;
  }
  go(Event::ringing, "bob", "dev-b", T0 + 300);
  go(Event::accept, "bob", "dev-b", T0 + 3'000);
  go(Event::ready, "alice", "dev-a", T0 + 3'300);
  go(Event::ready, "bob", "dev-b", T0 + 3'400);
  if (how % 4 == 1) go(Event::end, "alice", "dev-a", T0 + 60'000);
  if (how % 4 == 2) go(Event::fail, "bob", "dev-b", T0 + 20'000, "network");
  return c;  // 3: still connected
}

void add(std::string_view text, const char* side, TimeMs now, std::vector<TimelineEvent>& out) {
  boost::system::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return;
  try {
    json::array checked = check_report_events(v);
    auto evs = report_events(checked, side, "dev", now, T0);
    for (auto& e : evs) {
      // The store's round trip: the data as text and back.
      auto back = json::parse(event_data_string(e));
      e.data = back.as_object();
      out.push_back(std::move(e));
    }
  } catch (const Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1 || size > 2 * kMaxReportBytes) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  Call c = driven(data[0]);
  std::vector<TimelineEvent> events;
  auto nl = text.find('\n');
  add(text.substr(0, nl), "caller", T0 + 10'000 + data[0] * 97, events);
  if (nl != std::string_view::npos) add(text.substr(nl + 1), "receiver", T0 + 30'000, events);
  (void)json::serialize(timeline_json(c, events));
  (void)json::serialize(summarize(c, events, SummaryLimits{}));
  return 0;
}
