// SPDX-License-Identifier: Apache-2.0
#include "core/timeline.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <initializer_list>
#include <optional>

#include "core/emodel.hpp"
#include "core/errors.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

[[noreturn]] void bad(std::string msg) {
  throw Error(ErrorCode::bad_request, std::move(msg));
}

// ---- the report's schema: the one place that says what a client may tell -----------------

struct Field {
  const char* name;
  bool required;
  // A number in [lo, hi], or (values non-empty) one of the values.
  double lo = 0, hi = 0;
  std::initializer_list<const char*> values = {};
};

constexpr std::initializer_list<const char*> kCandidate = {"host", "srflx", "prflx", "relay"};
constexpr std::initializer_list<const char*> kProtocol = {"udp", "tcp", "tls"};

struct Type {
  const char* name;
  std::initializer_list<Field> fields;
};

const Type kTypes[] = {
    {"media_connected",
     {{"local", true, 0, 0, kCandidate},
      {"remote", true, 0, 0, kCandidate},
      {"protocol", true, 0, 0, kProtocol}}},
    {"path_changed",
     {{"local", true, 0, 0, kCandidate},
      {"remote", true, 0, 0, kCandidate},
      {"protocol", true, 0, 0, kProtocol}}},
    {"first_audio_sent", {}},
    {"first_audio_received", {}},
    {"recovery_started",
     {{"cause",
       true,
       0,
       0,
       {"network_change", "stall", "loss", "ice_failed", "ice_disconnected", "signaling",
        "other"}}}},
    {"recovery_ended",
     {{"outcome", true, 0, 0, {"recovered", "gave_up"}}, {"durationMs", true, 0, 86'400'000}}},
    {"device_changed",
     {{"kind", true, 0, 0, {"microphone", "output"}},
      {"change", true, 0, 0, {"changed", "lost", "failed"}}}},
    {"quality",
     {{"lossPercent", true, 0, 100},
      {"jitterMs", true, 0, 60'000},
      {"rttMs", false, 0, 60'000},
      {"bitrateKbps", false, 0, 100'000},
      {"audioLevel", false, 0, 1}}},
};

constexpr double kMaxAgoMs = 600'000;
constexpr TimeMs kClockSlackMs = 2000;  // how far off a client's estimate of our clock may be

std::string plain(double x) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", x);
  return buf;
}

std::optional<double> number(const json::value& v) {
  if (v.is_int64()) return static_cast<double>(v.get_int64());
  if (v.is_uint64()) return static_cast<double>(v.get_uint64());
  if (v.is_double() && std::isfinite(v.get_double())) return v.get_double();
  return std::nullopt;
}

json::object check_event(const json::value& v, std::size_t i) {
  std::string at = "event " + std::to_string(i) + ": ";
  if (!v.is_object()) bad(at + "must be an object");
  const auto& o = v.get_object();
  auto* tv = o.if_contains("type");
  if (!tv || !tv->is_string()) bad(at + "needs a string 'type'");
  const Type* type = nullptr;
  for (const Type& t : kTypes)
    if (tv->get_string() == t.name) type = &t;
  if (!type) bad(at + "unknown type '" + std::string(tv->get_string().subview(0, 32)) + "'");
  at = "event " + std::to_string(i) + " (" + type->name + "): ";
  json::object out{{"type", type->name}};
  for (const auto& kv : o) {
    // Not a structured binding: clang 14 cannot capture one in the lambda below.
    const auto key = kv.key();
    const json::value& val = kv.value();
    if (key == "type") continue;
    if (key == "ago") {
      auto n = number(val);
      if (!n || *n < 0 || *n > kMaxAgoMs) bad(at + "'ago' must be 0..600000 ms");
      out["ago"] = static_cast<std::int64_t>(*n);
      continue;
    }
    if (key == "at") {
      auto t = val.is_string() ? parse_iso(val.get_string()) : std::nullopt;
      if (!t) bad(at + "'at' must be an ISO-8601 time (UTC)");
      out["at"] = *t;
      continue;
    }
    const Field* f = nullptr;
    for (const Field& ff : type->fields)
      if (key == ff.name) f = &ff;
    if (!f) bad(at + "unknown field '" + std::string(key.substr(0, 32)) + "'");
    if (f->values.size()) {
      bool ok =
          val.is_string() && std::any_of(f->values.begin(), f->values.end(),
                                         [&](const char* s) { return val.get_string() == s; });
      if (!ok) {
        std::string list;
        for (const char* s : f->values) list += (list.empty() ? "" : ", ") + std::string(s);
        bad(at + "'" + f->name + "' must be one of " + list);
      }
      out[f->name] = val.get_string();
    } else {
      auto n = number(val);
      if (!n || *n < f->lo || *n > f->hi)
        bad(at + "'" + f->name + "' must be a number in " + plain(f->lo) + ".." + plain(f->hi));
      out[f->name] = *n;
    }
  }
  for (const Field& f : type->fields)
    if (f.required && !out.contains(f.name)) bad(at + "missing field '" + f.name + "'");
  return out;
}

// ---- reading events back -------------------------------------------------------------------

double num(const json::object& o, std::string_view k, double d = 0) {
  auto* v = o.if_contains(k);
  if (!v) return d;
  return number(*v).value_or(d);
}
std::string str(const json::object& o, std::string_view k) {
  auto* v = o.if_contains(k);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<TimeMs> state_at(const Call& c, CallState st) {
  for (const Step& s : c.trail)
    if (s.state == st) return s.at;
  return std::nullopt;
}

std::string seconds(TimeMs ms) {
  double s = static_cast<double>(ms) / 1000;
  char buf[32];
  std::snprintf(buf, sizeof buf, s < 10 ? "%.1f s" : "%.0f s", s);
  return buf;
}

std::string path_words(const json::object& p) {
  std::string local = str(p, "local"), remote = str(p, "remote"), proto = str(p, "protocol");
  if (local == "relay" || remote == "relay")
    return "relayed over " + (proto == "tls" ? std::string("TLS") : proto == "tcp" ? "TCP" : "UDP");
  return "direct (" + local + " to " + remote + ")";
}

struct SideFacts {
  json::object summary;
  std::optional<json::object> path;
  TimeMs lostMs = 0;  // the longest recovery that gave up
  bool gaveUp = false;
  double poorShare = 0;
};

SideFacts side_summary(const Call& c, const std::vector<TimelineEvent>& events,
                       std::string_view side, TimeMs endAt) {
  SideFacts f;
  json::object& s = f.summary;
  std::vector<const TimelineEvent*> mine;
  for (const auto& e : events)
    if (e.side == side) mine.push_back(&e);
  auto accepted = state_at(c, CallState::accepted);
  std::optional<TimeMs> firstAudio, firstSent;
  std::vector<const TimelineEvent*> samples;
  json::array recoveries;
  std::optional<json::object> openRecovery;
  int deviceChanges = 0;
  for (const TimelineEvent* e : mine) {
    if (e->type == "media_connected" || e->type == "path_changed") {
      f.path = e->data;
    } else if (e->type == "first_audio_received") {
      if (!firstAudio) firstAudio = e->at;
    } else if (e->type == "first_audio_sent") {
      if (!firstSent) firstSent = e->at;
    } else if (e->type == "quality") {
      samples.push_back(e);
    } else if (e->type == "recovery_started") {
      openRecovery = json::object{{"cause", str(e->data, "cause")}, {"at", e->at}};
    } else if (e->type == "recovery_ended") {
      json::object r = openRecovery.value_or(json::object{{"cause", "other"}, {"at", e->at}});
      openRecovery.reset();
      std::string outcome = str(e->data, "outcome");
      auto ms = static_cast<TimeMs>(num(e->data, "durationMs"));
      r["outcome"] = outcome;
      r["durationMs"] = ms;
      if (outcome == "gave_up") {
        f.gaveUp = true;
        f.lostMs = std::max(f.lostMs, ms);
      }
      recoveries.push_back(std::move(r));
    } else if (e->type == "device_changed") {
      ++deviceChanges;
    }
  }
  if (openRecovery) {
    (*openRecovery)["outcome"] = "unfinished";
    recoveries.push_back(std::move(*openRecovery));
  }
  s["reported"] = !mine.empty();
  s["path"] = f.path ? json::value(json::object{{"local", str(*f.path, "local")},
                                                {"remote", str(*f.path, "remote")},
                                                {"protocol", str(*f.path, "protocol")},
                                                {"words", path_words(*f.path)}})
                     : json::value(nullptr);
  s["firstAudioMs"] = firstAudio && accepted
                          ? json::value(std::max<TimeMs>(0, *firstAudio - *accepted))
                          : json::value(nullptr);
  s["firstAudioSentMs"] = firstSent && accepted
                              ? json::value(std::max<TimeMs>(0, *firstSent - *accepted))
                              : json::value(nullptr);
  // Quality: each sample stands for the time until the next one (the last: until the end, at
  // most twice the usual spacing).
  json::object inLevel{{"good", 0}, {"fair", 0}, {"poor", 0}};
  std::vector<double> loss, jitter, rtt;
  TimeMs total = 0, poor = 0;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    const auto& d = samples[i]->data;
    loss.push_back(num(d, "lossPercent"));
    jitter.push_back(num(d, "jitterMs"));
    if (d.contains("rttMs")) rtt.push_back(num(d, "rttMs"));
    TimeMs until = i + 1 < samples.size()
                       ? samples[i + 1]->at
                       : std::min(endAt, samples[i]->at + 2 * kMinQualitySpacingMs);
    TimeMs span = std::clamp<TimeMs>(until - samples[i]->at, 0, 60'000);
    double r = emodel::rating_for(num(d, "lossPercent"), num(d, "jitterMs"), num(d, "rttMs"));
    auto level = emodel::level_of(r);
    inLevel[emodel::level_name(level)] = inLevel[emodel::level_name(level)].as_int64() + span;
    total += span;
    if (level == emodel::Level::poor) poor += span;
  }
  f.poorShare = total > 0 ? static_cast<double>(poor) / static_cast<double>(total) : 0;
  if (samples.empty()) {
    s["quality"] = nullptr;
  } else {
    auto pct = [](const std::vector<double>& v) {
      if (v.empty()) return json::value(nullptr);
      return json::value(json::object{{"p50", percentile(v, 50)}, {"p95", percentile(v, 95)}});
    };
    double r = emodel::rating_for(percentile(loss, 50), percentile(jitter, 50),
                                  rtt.empty() ? 0 : percentile(rtt, 50));
    double rWorst = emodel::rating_for(percentile(loss, 95), percentile(jitter, 95),
                                       rtt.empty() ? 0 : percentile(rtt, 95));
    auto round2 = [](double x) { return std::round(x * 100) / 100; };
    s["quality"] = json::object{
        {"samples", static_cast<std::int64_t>(samples.size())},
        {"msInLevel", inLevel},
        {"lossPercent", pct(loss)},
        {"jitterMs", pct(jitter)},
        {"rttMs", pct(rtt)},
        {"rFactor", round2(r)},
        {"mos", round2(emodel::mos(r))},
        {"mosAtP95", round2(emodel::mos(rWorst))},
        {"level", emodel::level_name(emodel::level_of(r))},
    };
  }
  s["recoveries"] = std::move(recoveries);
  s["deviceChanges"] = deviceChanges;
  return f;
}

bool any_event(const std::vector<TimelineEvent>& events, std::string_view side,
               std::string_view type) {
  return std::any_of(events.begin(), events.end(),
                     [&](const auto& e) { return e.side == side && e.type == type; });
}

}  // namespace

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto rank = static_cast<std::size_t>(std::ceil(p / 100 * static_cast<double>(v.size())));
  return v[std::clamp<std::size_t>(rank, 1, v.size()) - 1];
}

json::array check_report_events(const json::value& events) {
  if (!events.is_array()) bad("field 'events' must be an array");
  const auto& a = events.get_array();
  if (a.empty()) bad("field 'events' is empty");
  if (a.size() > kMaxReportEvents) bad("at most 32 events per report");
  json::array out;
  for (std::size_t i = 0; i < a.size(); ++i) out.push_back(check_event(a[i], i));
  return out;
}

std::vector<TimelineEvent> report_events(const json::array& checked, std::string side,
                                         std::string device, TimeMs now, TimeMs notBefore) {
  std::vector<TimelineEvent> out;
  for (const auto& v : checked) {
    json::object o = v.get_object();
    TimelineEvent e;
    e.type = str(o, "type");
    e.at = now - static_cast<TimeMs>(num(o, "ago"));
    // `at` (the server's clock as the client estimates it) is exact however long the report
    // took to arrive; one outside the call's lifetime is a bad estimate, and `ago` is used.
    if (auto* t = o.if_contains("at"); t && t->is_int64()) {
      TimeMs when = t->get_int64();
      if (when >= notBefore - kClockSlackMs && when <= now + kClockSlackMs)
        e.at = std::clamp(when, notBefore, now);
    }
    o.erase("type");
    o.erase("ago");
    o.erase("at");
    e.data = std::move(o);
    e.side = side;
    e.device = device;
    out.push_back(std::move(e));
  }
  return out;
}

std::string event_data_string(const TimelineEvent& e) {
  return json::serialize(e.data);
}

json::array timeline_json(const Call& c, const std::vector<TimelineEvent>& events) {
  struct Row {
    TimeMs at;
    int order;
    json::object o;
  };
  std::vector<Row> rows;
  int n = 0;
  for (const Step& s : c.trail)
    rows.push_back({s.at, n++,
                    json::object{{"at", format_iso(s.at)},
                                 {"type", "state"},
                                 {"state", state_name(s.state)},
                                 {"event", s.event},
                                 {"by", s.by},
                                 {"device", s.device.empty() ? json::value(nullptr)
                                                             : json::value(s.device)}}});
  for (const auto& e : events) {
    json::object o{{"at", format_iso(e.at)}, {"type", e.type}, {"side", e.side}};
    if (!e.device.empty()) o["device"] = e.device;
    for (const auto& [k, v] : e.data) o[k] = v;
    rows.push_back({e.at, n++, std::move(o)});
  }
  std::stable_sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) {
    return a.at != b.at ? a.at < b.at : a.order < b.order;
  });
  json::array out;
  for (auto& r : rows) out.push_back(std::move(r.o));
  return out;
}

json::object summarize(const Call& c, const std::vector<TimelineEvent>& events,
                       const SummaryLimits& limits) {
  TimeMs endAt = c.trail.empty() ? c.lastUpdated : c.trail.back().at;
  if (!is_terminal(c.state)) endAt = std::max(endAt, c.lastUpdated);
  SideFacts caller = side_summary(c, events, "caller", endAt);
  SideFacts receiver = side_summary(c, events, "receiver", endAt);

  // Pushes and relayed signals.
  std::int64_t pushed = 0, pushFailed = 0;
  std::string lastPushFailure;
  json::object signals{{"offer", 0}, {"answer", 0}, {"candidate", 0}, {"restart", 0}};
  for (const auto& e : events) {
    if (e.type == "push") {
      if (str(e.data, "outcome") == "delivered") {
        ++pushed;
      } else {
        ++pushFailed;
        lastPushFailure = str(e.data, "provider") + " " + str(e.data, "outcome");
        if (auto d = str(e.data, "detail"); !d.empty()) lastPushFailure += " (" + d + ")";
      }
    } else if (e.type == "signals") {
      for (auto& [k, v] : signals) v = v.as_int64() + static_cast<std::int64_t>(num(e.data, k));
    }
  }

  auto created = c.trail.empty() ? std::optional<TimeMs>(c.timestamp) : c.trail.front().at;
  auto accepted = state_at(c, CallState::accepted);
  auto connected = state_at(c, CallState::connected);
  json::object out;
  out["state"] = state_name(c.state);
  out["reason"] = c.reason ? json::value(*c.reason) : json::value(nullptr);
  out["setupMs"] = connected ? json::value(*connected - *created) : json::value(nullptr);
  out["ringMs"] = accepted ? json::value(*accepted - *created) : json::value(nullptr);
  out["durationSeconds"] =
      c.durationSeconds ? json::value(*c.durationSeconds) : json::value(nullptr);
  out["pushes"] = json::object{{"delivered", pushed}, {"failed", pushFailed}};
  out["signals"] = signals;
  out["caller"] = caller.summary;
  out["receiver"] = receiver.summary;

  // The likely cause, in words a person who was not there can act on.
  const std::string& callerName = c.callerName.empty() ? c.callerId : c.callerName;
  const std::string& receiverName = c.receiverName.empty() ? c.receiverId : c.receiverName;
  auto who = [&](std::string_view side) { return side == "caller" ? callerName : receiverName; };
  std::string reason = c.reason.value_or("");
  std::optional<std::string> cause;
  json::array notes;
  const Step* last = c.trail.empty() ? nullptr : &c.trail.back();
  switch (c.state) {
    case CallState::busy:
      cause = receiverName + " was in another call";
      break;
    case CallState::rejected:
      cause = reason == "media_device" ? receiverName + "'s microphone could not be opened"
                                       : receiverName + " declined the call";
      break;
    case CallState::timeout:
      if (c.ringingDevices > 0) {
        cause = "rang on " + std::to_string(c.ringingDevices) + " of " + receiverName +
                "'s devices for " + seconds(limits.ringTimeoutMs) + "; nobody answered";
      } else if (pushed == 0 && pushFailed > 0) {
        cause =
            receiverName + "'s devices could not be woken: push failed (" + lastPushFailure + ")";
      } else if (pushed > 0) {
        cause = "push delivered to " + std::to_string(pushed) + " of " + receiverName +
                "'s devices, but none of them rang: the receiver's device never came online";
      } else {
        cause = "receiver's device never came online: " + receiverName +
                " had no app open and no device registered for push";
      }
      break;
    case CallState::failed:
      if (reason == "media_timeout") {
        std::string no;
        if (!caller.path && !receiver.path)
          no = "neither side found a media path";
        else if (!caller.path)
          no = callerName + "'s side found no media path";
        else if (!receiver.path)
          no = receiverName + "'s side found no media path";
        else
          no = "both sides connected but the server was not told";
        cause = "media never connected within " + seconds(limits.mediaTimeoutMs) + ": " + no +
                " (a firewall without a reachable TURN relay?)";
      } else if (reason == "network") {
        const SideFacts& g = caller.gaveUp && (!receiver.gaveUp || caller.lostMs >= receiver.lostMs)
                                 ? caller
                                 : receiver;
        if (caller.gaveUp || receiver.gaveUp)
          cause = "path lost " + seconds(g.lostMs) + ", gave up (" +
                  who(&g == &caller ? "caller" : "receiver") + "'s side)";
        else
          cause = "the media path was lost and did not come back";
      } else if (reason == "media_device") {
        std::string side = last && last->by == "receiver" ? "receiver" : "caller";
        cause = who(side) + (connected ? "'s microphone failed during the call"
                                       : "'s microphone could not be opened");
      } else {
        cause = "a client reported a failure (" + (reason.empty() ? "no reason" : reason) + ")";
      }
      break;
    case CallState::ended:
      if (reason == "network" && last && last->event == "presence_lost") {
        std::string side = last->device == c.callerDeviceId ? "caller" : "receiver";
        cause = who(side) + "'s device lost its connection to the server for more than " +
                seconds(limits.presenceGraceMs);
      } else if (reason == "cancelled") {
        cause = callerName + " hung up before an answer";
      }
      break;
    default:
      break;
  }
  for (const auto* sf : {&caller, &receiver}) {
    std::string side = sf == &caller ? "caller" : "receiver";
    if (sf->path) {
      std::string proto = str(*sf->path, "protocol");
      if (proto == "tcp" || proto == "tls")
        notes.push_back(json::value(who(side) + ": no UDP: relayed over " +
                                    (proto == "tls" ? std::string("TLS") : "TCP")));
    }
    if (sf->poorShare >= 0.2)
      notes.push_back(json::value(
          who(side) + " heard poor quality for " +
          std::to_string(static_cast<int>(std::round(sf->poorShare * 100))) + " % of the call"));
    std::int64_t rec = static_cast<std::int64_t>(sf->summary.at("recoveries").as_array().size());
    if (rec > 0)
      notes.push_back(json::value(who(side) + "'s media path was rebuilt " + std::to_string(rec) +
                                  (rec == 1 ? " time" : " times")));
    if (connected && !any_event(events, side, "first_audio_received") &&
        any_event(events, side, "media_connected"))
      notes.push_back(json::value(who(side) + " received no audio"));
  }
  out["likelyCause"] = cause ? json::value(*cause) : json::value(nullptr);
  out["notes"] = std::move(notes);
  return out;
}

}  // namespace dialtone
