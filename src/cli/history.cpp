// SPDX-License-Identifier: Apache-2.0
#include "cli/history.hpp"

#include <fmt/format.h>
#include <boost/json/serialize.hpp>

#include "core/time.hpp"
#include "util/text.hpp"

namespace dialtone::cli {

namespace json = boost::json;

namespace {

std::string str(const json::value& v) {
  return v.is_string() ? std::string(v.get_string()) : std::string();
}
std::string str(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  return v ? str(*v) : std::string();
}
std::optional<double> num(const json::object& o, const char* k) {
  const auto* v = o.if_contains(k);
  if (!v || !v->is_number()) return std::nullopt;
  return v->to_number<double>();
}

std::string duration(std::int64_t s) {
  if (s < 60) return fmt::format("{} s", s);
  if (s < 3600) return fmt::format("{}m {:02}s", s / 60, s % 60);
  return fmt::format("{}h {:02}m", s / 3600, (s % 3600) / 60);
}

std::string ms_words(double ms) {
  return ms < 1000 ? fmt::format("{:.0f} ms", ms) : fmt::format("{:.1f} s", ms / 1000);
}

// "p50 / p95" of one quality figure.
std::string spread(const json::object& q, const char* k, const char* unit) {
  const auto* v = q.if_contains(k);
  if (!v || !v->is_object()) return "";
  const auto& o = v->get_object();
  return fmt::format("{} {:.1f}/{:.1f} {} (p50/p95)", k, num(o, "p50").value_or(0),
                     num(o, "p95").value_or(0), unit);
}

void print_side(std::ostream& out, const json::object& s, const std::string& who) {
  std::string line = who + ": ";
  if (!s.contains("reported") || !s.at("reported").as_bool()) {
    out << "  " << display_text(line + "no media report") << "\n";
    return;
  }
  if (const auto* p = s.if_contains("path"); p && p->is_object())
    line += str(p->get_object(), "words");
  else
    line += "no media path";
  if (auto fa = num(s, "firstAudioMs")) line += ", first audio " + ms_words(*fa) + " after answer";
  out << "  " << display_text(line) << "\n";
  if (const auto* q = s.if_contains("quality"); q && q->is_object()) {
    const auto& o = q->get_object();
    std::string figures;
    for (auto part :
         {spread(o, "lossPercent", "%"), spread(o, "jitterMs", "ms"), spread(o, "rttMs", "ms")})
      if (!part.empty()) figures += "; " + part;
    out << "    "
        << display_text(fmt::format("quality {}: MOS {:.1f}{}", str(o, "level"),
                                    num(o, "mos").value_or(0), figures))
        << "\n";
  }
  if (const auto* r = s.if_contains("recoveries"); r && r->is_array())
    for (const auto& v : r->get_array())
      if (v.is_object())
        out << "    "
            << display_text(fmt::format("recovery: {} → {} after {}", str(v.get_object(), "cause"),
                                        str(v.get_object(), "outcome"),
                                        ms_words(num(v.get_object(), "durationMs").value_or(0))))
            << "\n";
}

}  // namespace

void print_history(std::ostream& out, const std::vector<CallSnapshot>& calls,
                   const std::string& me) {
  if (calls.empty()) out << "no calls yet\n";
  for (const auto& c : calls) {
    bool outgoing = c.callerId == me;
    std::string when = format_iso(c.timestamp).substr(0, 16);
    when[10] = ' ';
    std::string outcome(state_name(c.state));
    if (c.state == CallState::ended && !c.connectedAt) outcome = outgoing ? "cancelled" : "missed";
    if (c.state == CallState::timeout) outcome = outgoing ? "no answer" : "missed";
    std::string took = c.durationSeconds && c.connectedAt ? duration(*c.durationSeconds) : "";
    // Only the name is someone else's text; the rest is ours (aligned columns).
    out << fmt::format("{}  {:8}  {:20}  {:10}  {:8}  {}\n", when,
                       outgoing ? "outgoing" : "incoming", display_text(c.other_name(me), 20),
                       outcome, took, c.callId);
  }
}

void print_summary(std::ostream& out, const json::object& summary, const CallSnapshot& call,
                   const std::string& me) {
  std::string head = "call " + str(summary, "state");
  if (auto r = str(summary, "reason"); !r.empty()) head += " (" + r + ")";
  if (auto s = num(summary, "setupMs")) head += ", set up in " + ms_words(*s);
  if (auto d = num(summary, "durationSeconds"); d && call.connectedAt)
    head += ", lasted " + duration(static_cast<std::int64_t>(*d));
  out << display_text(head) << "\n";
  bool caller = call.callerId == me;
  for (const char* side : {"caller", "receiver"}) {
    const auto* s = summary.if_contains(side);
    if (!s || !s->is_object()) continue;
    bool mine = (side == std::string_view("caller")) == caller;
    std::string name = side == std::string_view("caller") ? call.callerName : call.receiverName;
    print_side(out, s->get_object(), mine ? "you" : name);
  }
  if (const auto* p = summary.if_contains("pushes"); p && p->is_object()) {
    auto d = num(p->get_object(), "delivered").value_or(0);
    auto f = num(p->get_object(), "failed").value_or(0);
    if (d + f > 0) out << fmt::format("  pushes: {:g} delivered, {:g} failed\n", d, f);
  }
  if (auto cause = str(summary, "likelyCause"); !cause.empty())
    out << "  likely cause: " << display_text(cause) << "\n";
  if (const auto* n = summary.if_contains("notes"); n && n->is_array())
    for (const auto& v : n->get_array()) out << "  note: " << display_text(str(v)) << "\n";
}

void print_timeline(std::ostream& out, const json::array& timeline, TimeMs created) {
  for (const auto& v : timeline) {
    if (!v.is_object()) continue;
    const auto& e = v.get_object();
    auto at = parse_iso(str(e, "at"));
    std::string t = at ? fmt::format("{:+8.3f} s", static_cast<double>(*at - created) / 1000) : "";
    std::string what = str(e, "type");
    std::string rest;
    for (const auto& [k, val] : e) {
      if (k == "at" || k == "type") continue;
      std::string shown = val.is_string()   ? str(val)
                          : val.is_double() ? fmt::format("{:g}", val.get_double())
                                            : json::serialize(val);
      rest += " " + std::string(k) + "=" + shown;
    }
    out << display_text(t + "  " + what + rest) << "\n";
  }
}

}  // namespace dialtone::cli
