// SPDX-License-Identifier: Apache-2.0
// `dialtone history`, `dialtone call-info ID`, and the summary printed when a call ends: the
// server's call timeline (docs/protocol.md, "Call timeline") in words. Printing only: every
// string that others chose goes through display_text.
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <ostream>
#include <string>
#include <vector>

#include <dialtone/client.hpp>

#include "core/time.hpp"

namespace dialtone::cli {

// One line per call, newest first: when, direction, the other person, outcome, duration, id.
void print_history(std::ostream& out, const std::vector<CallSnapshot>& calls,
                   const std::string& me);
// The summary in a few lines: outcome, setup, each side's path and quality, recoveries, and the
// likely cause when the call went wrong.
void print_summary(std::ostream& out, const boost::json::object& summary, const CallSnapshot& call,
                   const std::string& me);
// The whole timeline, one event per line, with the time since the call was created.
void print_timeline(std::ostream& out, const boost::json::array& timeline, TimeMs created);

}  // namespace dialtone::cli
