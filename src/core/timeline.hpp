// SPDX-License-Identifier: Apache-2.0
// A call's timeline and what it says: the events clients report about their media (`report`),
// the server's own (push attempts, relayed-signal counts), and — from those, the call's trail
// and its document — a summary per side with the likely cause of a call that went wrong.
// Pure: no I/O, no clock (the caller passes `now`).
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <vector>

#include "core/call.hpp"

namespace dialtone {

inline constexpr std::size_t kMaxReportEvents = 32;     // per report
inline constexpr std::size_t kMaxReportBytes = 8192;    // one report message
inline constexpr std::size_t kMaxTimelineEvents = 600;  // per call, all sides together
// A side's quality samples are kept at least this far apart, and further apart the longer the
// call has lasted (elapsed / kQualitySamplesTarget), so a long call stays bounded too.
inline constexpr TimeMs kMinQualitySpacingMs = 4'000;
inline constexpr TimeMs kQualitySamplesTarget = 240;
// How long after its end a call still takes reports (a side that gave up reports when back).
inline constexpr TimeMs kReportWindowAfterEndMs = 10 * 60'000;

struct TimelineEvent {
  TimeMs at = 0;
  std::string side;    // caller | receiver | server
  std::string device;  // the reporting device (for a push: the device pushed)
  std::string type;    // see docs/protocol.md, "Timeline"
  boost::json::object data;
};

// The events of a `report` op, checked: at most kMaxReportEvents, each a known type with only
// its own fields in range (so nothing else — no address, no SDP — can be stored). Returns them
// normalized ({"type", fields…, "ago", "at" as ms}); throws Error(bad_request) naming the first
// problem.
boost::json::array check_report_events(const boost::json::value& events);
// The checked events as timeline events: at their `at` when it falls within the call's lifetime
// (`notBefore`, its creation, to `now`), else at `now - ago`.
std::vector<TimelineEvent> report_events(const boost::json::array& checked, std::string side,
                                         std::string device, TimeMs now, TimeMs notBefore);

// Storage: the event's data as a JSON text, and back.
std::string event_data_string(const TimelineEvent& e);

// The timeline as the API shows it: the trail's steps and the events, by time.
boost::json::array timeline_json(const Call& call, const std::vector<TimelineEvent>& events);

// The summary: per side (setup, first audio, path, quality, recoveries) and for the call (its
// outcome in words and the likely cause when it went wrong). `presenceGraceMs` and
// `mediaTimeoutMs` name the server's limits in the words.
struct SummaryLimits {
  TimeMs ringTimeoutMs = 45'000;
  TimeMs mediaTimeoutMs = 30'000;
  TimeMs presenceGraceMs = 20'000;
};
boost::json::object summarize(const Call& call, const std::vector<TimelineEvent>& events,
                              const SummaryLimits& limits);

// p-th percentile (0..100) by nearest rank of `v` (sorted here); 0 when empty.
double percentile(std::vector<double> v, double p);

}  // namespace dialtone
