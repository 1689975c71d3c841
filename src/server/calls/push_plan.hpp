// SPDX-License-Identifier: Apache-2.0
// Which push notifications a committed change sends, to which of the receiver's devices. Pure:
// the engine reads the devices inside the change's transaction and hands the plan to the push
// service after the commit.
//
//   created (calling)            incoming_call          to every device
//   created busy                 missed_call (busy)     to every device
//   ringing → accepted           call_cancelled answered_elsewhere   to all but the answering one
//   ringing → rejected           call_cancelled declined_elsewhere   to all but the declining one
//   ringing → ended by caller    call_cancelled cancelled + missed_call   to every device
//   ringing → timeout            call_cancelled timeout   + missed_call   to every device
//   ringing → any other end      call_cancelled missed    + missed_call   to every device
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "core/call.hpp"
#include "push/provider.hpp"

namespace dialtone {

struct PushPlan {
  std::shared_ptr<const Notice> notice;
  std::vector<PushDevice> devices;
  std::vector<std::string> pushIds;  // each device's row in the store's push outbox
};

inline constexpr TimeMs kCancelPushTtlMs = 60'000;         // a late "stop ringing" is useless
inline constexpr TimeMs kMissedPushTtlMs = 24 * 3600'000;  // a phone offline all day still learns

// `from`: the state before the change (nullopt: the call was created by it); `actorDevice`: the
// device whose op made the change, if any.
std::vector<PushPlan> plan_pushes(const Call& c, std::optional<CallState> from,
                                  const std::string& actorDevice,
                                  const std::vector<PushDevice>& devices, TimeMs now);

// Whether a change can need the receiver's devices (so the engine reads them only then).
bool may_push(const Call& c, std::optional<CallState> from);

}  // namespace dialtone
