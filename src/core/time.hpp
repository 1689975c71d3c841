// SPDX-License-Identifier: Apache-2.0
// Server time: milliseconds since the Unix epoch, formatted as ISO-8601 UTC with milliseconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dialtone {

using TimeMs = std::int64_t;

TimeMs now_ms();
std::string format_iso(TimeMs t);
// Accepts "YYYY-MM-DDTHH:MM:SS[.fraction]Z" (and a +00:00 offset); nullopt on anything else.
std::optional<TimeMs> parse_iso(std::string_view s);

}  // namespace dialtone
