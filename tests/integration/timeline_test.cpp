// SPDX-License-Identifier: Apache-2.0
// The call timeline against a real dialtoned (SQLite here; PostgreSQL and a three-node cluster
// through the postgres. and cluster. runs of this binary): participants report their media, read
// the timeline and summary of their calls; bad reports change nothing; reports are rate-limited;
// operators read any call and search calls with the operator token, never with a user's.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "core/time.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

const std::string kAdmin = "0123456789abcdef0123456789abcdef-operator";

// alice calls bob, bob answers, both connected; returns the call id.
std::string connect(WsClient& a, WsClient& b) {
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b.wait_call(id, "calling");
  EXPECT_EQ(b.request(op("ringing", id)).at("ok"), true);
  EXPECT_EQ(b.request(op("accept", id)).at("ok"), true);
  a.wait_call(id, "accepted");
  EXPECT_EQ(a.request(op("ready", id)).at("ok"), true);
  EXPECT_EQ(b.request(op("ready", id)).at("ok"), true);
  a.wait_call(id, "connected");
  b.wait_call(id, "connected");
  return id;
}

json::object report(WsClient& c, const std::string& id, json::array events) {
  return c.request(op("report", id, {{"events", std::move(events)}}));
}

json::array media_up(const std::string& local, const std::string& protocol) {
  return json::array{
      json::object{{"type", "media_connected"},
                   {"local", local},
                   {"remote", "srflx"},
                   {"protocol", protocol},
                   {"ago", 30}},
      json::object{{"type", "path_changed"},
                   {"local", local},
                   {"remote", "srflx"},
                   {"protocol", protocol},
                   {"ago", 20}},
      json::object{{"type", "first_audio_sent"}, {"ago", 10}},
      json::object{{"type", "first_audio_received"}},
      json::object{{"type", "quality"},
                   {"lossPercent", 0.5},
                   {"jitterMs", 8},
                   {"rttMs", 40},
                   {"bitrateKbps", 32},
                   {"audioLevel", 0.2}},
  };
}

// The timeline as `token` sees it (status and body).
HttpResult timeline(int port, const std::string& token, const std::string& id) {
  return http(port, "GET", "/v1/calls/" + id + "/timeline", "", token);
}

std::size_t count_type(const json::value& body, std::string_view type) {
  std::size_t n = 0;
  for (const auto& e : body.at("timeline").as_array())
    if (e.at("type").as_string() == type) ++n;
  return n;
}

// Polls the timeline until `pred` holds (the server's own events arrive by a job of their own).
HttpResult timeline_until(int port, const std::string& token, const std::string& id,
                          const std::function<bool(const json::value&)>& pred) {
  auto until = std::chrono::steady_clock::now() + 5s;
  HttpResult r;
  do {
    r = timeline(port, token, id);
    if (r.status == 200 && pred(r.body)) return r;
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < until);
  return r;
}

TEST(Timeline, ParticipantsReportAndReadTheirCallsTimeline) {
  ServerProcess server;
  int port = server.port();
  std::string alice = dev_token(port, "alice"), bob = dev_token(port, "bob"),
              eve = dev_token(port, "eve");
  WsClient a(port, alice, "alice-laptop"), b(port, bob, "bob-phone");
  std::string id = connect(a, b);
  // Signals both ways (counted by the server, not stored).
  a.request(op("signal", id, {{"data", {{"type", "offer"}, {"sdp", "v=0\r\n"}}}}));
  b.request(op("signal", id, {{"data", {{"type", "answer"}, {"sdp", "v=0\r\n"}}}}));
  for (int i = 0; i < 3; ++i)
    b.request(op("signal", id, {{"data", {{"type", "candidate"}, {"candidate", ""}}}}));

  EXPECT_EQ(report(a, id, media_up("host", "udp")).at("ok"), true);
  auto r = report(b, id, media_up("relay", "tcp"));
  EXPECT_EQ(r.at("ok"), true) << json::serialize(r);
  // Over HTTP too, from another of bob's devices.
  auto h = http(port, "POST", "/v1/calls/" + id + "/report",
                R"({"events":[{"type":"device_changed","kind":"output","change":"changed"}]})", bob,
                {{"X-Device-Id", "bob-tablet"}});
  EXPECT_EQ(h.status, 200) << h.raw;

  // Not a participant: as if the call did not exist, and nothing is stored.
  WsClient e(port, eve);
  auto refused = report(e, id, media_up("host", "udp"));
  EXPECT_EQ(refused.at("error").at("code"), "not_found");
  EXPECT_EQ(timeline(port, eve, id).status, 404);
  EXPECT_EQ(timeline(port, "", id).status, 401);

  EXPECT_EQ(a.request(op("end", id)).at("ok"), true);
  b.wait_call(id, "ended");

  auto t = timeline_until(port, alice, id,
                          [](const json::value& v) { return count_type(v, "signals") > 0; });
  ASSERT_EQ(t.status, 200) << t.raw;
  const auto& tl = t.body.at("timeline").as_array();
  std::vector<std::string> states;
  for (const auto& e : tl)
    if (e.at("type") == "state") states.emplace_back(e.at("state").as_string());
  EXPECT_EQ(states, (std::vector<std::string>{"calling", "ringing", "accepted", "connecting",
                                              "connected", "ended"}));
  EXPECT_EQ(count_type(t.body, "media_connected"), 2u);
  EXPECT_EQ(count_type(t.body, "quality"), 2u);
  EXPECT_EQ(count_type(t.body, "device_changed"), 1u);
  for (const auto& e : tl) {
    if (e.at("type") == "device_changed") {
      EXPECT_EQ(e.at("side"), "receiver");
      EXPECT_EQ(e.at("device"), "bob-tablet");
    }
    if (e.at("type") == "state" && e.at("state") == "accepted") {
      EXPECT_EQ(e.at("by"), "receiver");
    }
  }
  // Times are in order.
  for (std::size_t i = 1; i < tl.size(); ++i)
    EXPECT_LE(tl[i - 1].at("at").as_string(), tl[i].at("at").as_string());

  const auto& s = t.body.at("summary").as_object();
  EXPECT_EQ(s.at("state"), "ended");
  EXPECT_TRUE(s.at("setupMs").is_int64()) << json::serialize(s);
  EXPECT_EQ(s.at("signals").at("offer"), 1);
  EXPECT_EQ(s.at("signals").at("answer"), 1);
  EXPECT_EQ(s.at("signals").at("candidate"), 3);
  EXPECT_EQ(s.at("caller").at("path").at("local"), "host") << json::serialize(s);
  EXPECT_EQ(s.at("receiver").at("path").at("protocol"), "tcp") << json::serialize(s);
  // Both participants see the same timeline.
  auto tb = timeline(port, bob, id);
  ASSERT_EQ(tb.status, 200);
  EXPECT_EQ(tb.body.at("timeline").as_array().size(), tl.size());
  // No address and no SDP anywhere in it.
  EXPECT_EQ(t.raw.find("127.0.0.1"), std::string::npos);
  EXPECT_EQ(t.raw.find("v=0"), std::string::npos);
}

TEST(Timeline, AReportThatArrivesLateIsPlacedByItsAtAndOneSentAgainIsStoredOnce) {
  ServerProcess server;
  int port = server.port();
  std::string alice = dev_token(port, "alice"), bob = dev_token(port, "bob");
  WsClient a(port, alice, "alice-laptop"), b(port, bob, "bob-phone");
  std::string id = connect(a, b);
  std::optional<TimeMs> accepted;
  auto before = timeline(port, alice, id);
  for (const auto& e : before.body.at("timeline").as_array())
    if (e.at("type") == "state" && e.at("state") == "accepted")
      accepted = parse_iso(e.at("at").as_string());
  ASSERT_TRUE(accepted);
  // Held up in a stalled connection: `ago` counts from the sending, `at` is the truth.
  std::string at = format_iso(*accepted + 1);
  json::array events{json::object{{"type", "first_audio_sent"}, {"ago", 0}, {"at", at}},
                     json::object{{"type", "first_audio_received"}, {"ago", 0}}};
  EXPECT_EQ(report(a, id, events).at("ok"), true);
  // The same report again (its answer was lost): the event with its `at` is stored once.
  EXPECT_EQ(report(a, id, events).at("ok"), true);
  auto t = timeline(port, alice, id);
  ASSERT_EQ(t.status, 200) << t.raw;
  std::size_t sent = 0;
  for (const auto& e : t.body.at("timeline").as_array()) {
    if (e.at("type") != "first_audio_sent") continue;
    ++sent;
    EXPECT_EQ(e.at("at").as_string(), at);
  }
  EXPECT_EQ(sent, 1u);
  EXPECT_EQ(t.body.at("summary").at("caller").at("firstAudioSentMs"), 1);
}

TEST(Timeline, BadReportsAreRefusedAndChangeNothing) {
  ServerProcess server;
  int port = server.port();
  std::string alice = dev_token(port, "alice"), bob = dev_token(port, "bob");
  WsClient a(port, alice), b(port, bob);
  std::string id = connect(a, b);
  ASSERT_EQ(report(a, id, media_up("host", "udp")).at("ok"), true);
  auto before = timeline(port, alice, id);
  ASSERT_EQ(before.status, 200);
  std::size_t n = before.body.at("timeline").as_array().size();

  auto expect_refused = [&](json::array events, std::string_view code, std::string_view words) {
    auto r = report(a, id, std::move(events));
    ASSERT_TRUE(r.contains("error")) << json::serialize(r);
    EXPECT_EQ(r.at("error").at("code").as_string(), code);
    EXPECT_NE(std::string(r.at("error").at("message").as_string()).find(words), std::string::npos)
        << json::serialize(r);
  };
  expect_refused({json::object{{"type", "ice_candidate"}}}, "bad_request", "unknown type");
  expect_refused({json::object{{"type", "media_connected"}, {"ip", "192.0.2.1"}}}, "bad_request",
                 "unknown field 'ip'");
  expect_refused({json::object{{"type", "quality"}, {"lossPercent", 140}, {"jitterMs", 1}}},
                 "bad_request", "lossPercent");
  expect_refused(
      {json::object{
          {"type", "path_changed"}, {"local", "host"}, {"remote", "host"}, {"protocol", "sctp"}}},
      "bad_request", "protocol");
  json::array many;
  for (int i = 0; i < 33; ++i) many.push_back(json::object{{"type", "first_audio_sent"}});
  expect_refused(many, "bad_request", "32");
  // One valid event among bad ones: the whole report is refused.
  expect_refused({json::object{{"type", "first_audio_sent"}}, json::object{{"type", 7}}},
                 "bad_request", "type");
  // Over 8 KiB: refused before it is parsed.
  json::array big;
  for (int i = 0; i < 30; ++i)
    big.push_back(json::object{{"type", "recovery_started"}, {"cause", std::string(400, 'x')}});
  auto r = report(a, id, big);
  EXPECT_EQ(r.at("error").at("code"), "payload_too_large") << json::serialize(r);
  auto h = http(port, "POST", "/v1/calls/" + id + "/report", "{", alice);
  EXPECT_EQ(h.status, 400);
  EXPECT_EQ(http(port, "POST", "/v1/calls/no-such-call/report",
                 R"({"events":[{"type":"first_audio_sent"}]})", alice)
                .status,
            404);

  auto after = timeline(port, alice, id);
  ASSERT_EQ(after.status, 200);
  EXPECT_EQ(after.body.at("timeline").as_array().size(), n) << "a refused report stored nothing";
  EXPECT_EQ(after.raw.find("192.0.2.1"), std::string::npos);
  // The session survives all of it.
  EXPECT_EQ(a.request(op("mute", id, {{"muted", true}})).at("ok"), true);
}

TEST(Timeline, ReportsAreRateLimitedPerDevice) {
  ServerProcess server({"--limit-reports-per-min", "3"});
  int port = server.port();
  std::string alice = dev_token(port, "alice"), bob = dev_token(port, "bob");
  WsClient a(port, alice), b(port, bob);
  std::string id = connect(a, b);
  // Each a moment apart (an event equal to a stored one in time and all else is stored once).
  auto one = [n = 0]() mutable {
    return json::array{json::object{{"type", "first_audio_sent"}, {"ago", 100 * ++n}}};
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(report(a, id, one()).at("ok"), true);
  auto r = report(a, id, one());
  ASSERT_TRUE(r.contains("error")) << json::serialize(r);
  EXPECT_EQ(r.at("error").at("code"), "rate_limited");
  EXPECT_GE(r.at("error").at("retryAfterSeconds").as_int64(), 1);
  // Another device has its own budget.
  EXPECT_EQ(report(b, id, one()).at("ok"), true);
  auto t = timeline(port, alice, id);
  EXPECT_EQ(count_type(t.body, "first_audio_sent"), 4u);
}

TEST(Timeline, OperatorsReadAnyCallAndSearchWithTheirOwnToken) {
  setenv("DIALTONED_ADMIN_TOKEN", kAdmin.c_str(), 1);  // the child inherits it
  ServerProcess server;
  unsetenv("DIALTONED_ADMIN_TOKEN");
  int port = server.port();
  std::string alice = dev_token(port, "alice"), bob = dev_token(port, "bob"),
              carol = dev_token(port, "carol");
  WsClient a(port, alice), b(port, bob);
  std::string first = connect(a, b);
  ASSERT_EQ(report(b, first, media_up("relay", "udp")).at("ok"), true);
  a.request(op("end", first));
  b.wait_call(first, "ended");
  auto mid = std::chrono::system_clock::now();
  std::this_thread::sleep_for(5ms);
  std::string second = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b.wait_call(second, "calling");
  EXPECT_EQ(b.request(op("reject", second)).at("ok"), true);

  auto admin = [&](const std::string& target, const std::string& token = kAdmin) {
    return http(port, "GET", target, "", token);
  };
  auto t = admin("/v1/admin/calls/" + first + "/timeline");
  ASSERT_EQ(t.status, 200) << t.raw;
  EXPECT_EQ(t.body.at("call").at("callId"), first.c_str());
  EXPECT_EQ(count_type(t.body, "path_changed"), 1u);
  EXPECT_EQ(t.body.at("summary").at("state"), "ended");

  auto all = admin("/v1/admin/calls?user=bob");
  ASSERT_EQ(all.status, 200) << all.raw;
  const auto& calls = all.body.at("calls").as_array();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].at("callId"), second.c_str()) << "newest first";
  EXPECT_EQ(calls[1].at("summary").at("state"), "ended");
  EXPECT_EQ(calls[0].at("summary").at("state"), "rejected");
  EXPECT_EQ(admin("/v1/admin/calls?user=carol").body.at("calls").as_array().size(), 0u);
  auto iso = [](std::chrono::system_clock::time_point t) {
    return format_iso(
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count());
  };
  auto later = admin("/v1/admin/calls?from=" + iso(mid));
  ASSERT_EQ(later.status, 200);
  ASSERT_EQ(later.body.at("calls").as_array().size(), 1u);
  EXPECT_EQ(later.body.at("calls").as_array()[0].at("callId"), second.c_str());
  EXPECT_EQ(admin("/v1/admin/calls?to=" + iso(mid)).body.at("calls").as_array().size(), 1u);
  EXPECT_EQ(admin("/v1/admin/calls?limit=1").body.at("calls").as_array().size(), 1u);

  // Bad parameters: a clear 400.
  EXPECT_EQ(admin("/v1/admin/calls?limit=0").status, 400);
  EXPECT_EQ(admin("/v1/admin/calls?limit=5x").status, 400);
  EXPECT_EQ(admin("/v1/admin/calls?from=yesterday").status, 400);
  EXPECT_EQ(admin("/v1/admin/calls?user=a%20b").status, 400);
  EXPECT_EQ(admin("/v1/admin/calls?from=" + iso(mid) + "&to=" + iso(mid)).status, 400);
  EXPECT_EQ(admin("/v1/admin/calls/no-such-call/timeline").status, 404);
  EXPECT_EQ(admin("/v1/admin/nothing").status, 404);

  // A user's token, a wrong one, or none: never an operator.
  for (const std::string& token : {alice, carol, kAdmin + "x", kAdmin.substr(1), std::string()}) {
    auto r = admin("/v1/admin/calls/" + first + "/timeline", token);
    EXPECT_EQ(r.status, 401) << token;
    EXPECT_EQ(admin("/v1/admin/calls", token).status, 401);
  }
  // A participant's own view is not an operator's: carol cannot see it.
  EXPECT_EQ(timeline(port, carol, first).status, 404);
  EXPECT_EQ(server.log().find(kAdmin), std::string::npos) << "the token is never logged";
}

TEST(Timeline, WithoutAnOperatorTokenTheOperatorApiIsOff) {
  ServerProcess server;
  int port = server.port();
  std::string alice = dev_token(port, "alice");
  for (const std::string& token : {kAdmin, alice}) {
    auto r = http(port, "GET", "/v1/admin/calls", "", token);
    EXPECT_EQ(r.status, 403) << r.raw;
    EXPECT_NE(r.raw.find("admin_token"), std::string::npos) << r.raw;
  }
}

}  // namespace
}  // namespace dialtone::test
