// SPDX-License-Identifier: Apache-2.0
// Text from other people (display names, reasons) made safe to store and to show: no control
// characters (which drive terminals and forge log lines), no bidirectional overrides (which
// make "Alice" read as someone else), valid UTF-8, bounded length.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace dialtone {

// `in` with every C0/C1 control character, DEL, bidirectional control (U+061C, U+200E/F,
// U+202A–E, U+2066–9), invisible separator (U+200B, U+2060, U+FEFF) and invalid UTF-8 removed,
// line breaks and tabs turned into spaces, runs of spaces collapsed, the ends trimmed, and
// at most `maxBytes` bytes (cut between characters).
std::string display_text(std::string_view in, std::size_t maxBytes = std::string::npos);

// A value for a key=value log line: as it is when it is a plain token ([A-Za-z0-9._:@/+-]),
// else in double quotes with '"', '\\' and control characters escaped — so that text a client
// chose ("bye callId=FORGED user=admin") stays one value and cannot forge other fields.
std::string log_value(std::string_view v);

}  // namespace dialtone
