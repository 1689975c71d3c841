// SPDX-License-Identifier: Apache-2.0
// The timeline: what a report may carry, the trail the state machine leaves, and the summary's
// words for each way a call goes — built from real transitions, not hand-made documents.
#include "core/timeline.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/errors.hpp"
#include "core/state_machine.hpp"

namespace dialtone {
namespace {

namespace json = boost::json;

constexpr TimeMs T0 = 1'700'000'000'000;

json::value parse(std::string_view s) {
  return json::parse(s);
}

std::string refusal(std::string_view events) {
  try {
    check_report_events(parse(events));
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::bad_request);
    return e.what();
  }
  return "";
}

TEST(Report, TakesEachKnownEventWithItsOwnFieldsOnly) {
  auto a = check_report_events(parse(R"([
    {"type":"media_connected","local":"srflx","remote":"relay","protocol":"tcp"},
    {"type":"first_audio_received","ago":120},
    {"type":"quality","lossPercent":1.5,"jitterMs":12,"rttMs":80,"bitrateKbps":32,"audioLevel":0.2},
    {"type":"recovery_started","cause":"network_change"},
    {"type":"recovery_ended","outcome":"recovered","durationMs":350},
    {"type":"device_changed","kind":"output","change":"changed"}])"));
  ASSERT_EQ(a.size(), 6u);
  auto ev = report_events(a, "caller", "dev-a", T0, T0 - 60'000);
  EXPECT_EQ(ev[1].type, "first_audio_received");
  EXPECT_EQ(ev[1].at, T0 - 120);
  EXPECT_TRUE(ev[1].data.empty());  // the type and the age are not data
  EXPECT_EQ(ev[2].data.at("jitterMs").as_double(), 12);
  EXPECT_EQ(ev[0].side, "caller");
}

TEST(Report, RefusesAnythingElseNamingTheProblem) {
  // No address, no SDP: a field the type does not have is refused, whatever it holds.
  EXPECT_NE(
      refusal(
          R"([{"type":"media_connected","local":"host","remote":"host","protocol":"udp","address":"10.0.0.2"}])")
          .find("unknown field 'address'"),
      std::string::npos);
  EXPECT_NE(refusal(R"([{"type":"quality","lossPercent":1,"jitterMs":1,"sdp":"v=0"}])")
                .find("unknown field 'sdp'"),
            std::string::npos);
  EXPECT_NE(
      refusal(R"([{"type":"media_connected","local":"10.0.0.2","remote":"host","protocol":"udp"}])")
          .find("'local' must be one of host, srflx, prflx, relay"),
      std::string::npos);
  EXPECT_NE(refusal(R"([{"type":"quality","lossPercent":140,"jitterMs":1}])")
                .find("'lossPercent' must be a number in 0..100"),
            std::string::npos);
  EXPECT_NE(refusal(R"([{"type":"quality","jitterMs":1}])").find("missing field 'lossPercent'"),
            std::string::npos);
  EXPECT_NE(refusal(R"([{"type":"teleport"}])").find("unknown type 'teleport'"), std::string::npos);
  EXPECT_NE(refusal(R"([{"type":"first_audio_sent","ago":-1}])").find("'ago'"), std::string::npos);
  EXPECT_NE(refusal(R"([])").find("empty"), std::string::npos);
  EXPECT_NE(refusal(R"({"type":"quality"})").find("must be an array"), std::string::npos);
  std::string many = "[";
  for (int i = 0; i < 33; ++i) many += std::string(i ? "," : "") + R"({"type":"first_audio_sent"})";
  EXPECT_NE(refusal(many + "]").find("at most 32"), std::string::npos);
}

TEST(Report, AnEventIsPlacedAtItsAtWhenThatFallsWithinTheCall) {
  // Sent at +5 s, received 13 s later (it sat in a stalled connection): `ago` alone would place
  // the event 13 s late; `at`, the server's clock as the client estimates it, does not.
  const TimeMs created = T0 - 60'000;
  auto a = check_report_events(parse(R"([
    {"type":"first_audio_sent","ago":4800,"at":"2023-11-14T22:12:40.200Z"},
    {"type":"first_audio_received","ago":100,"at":"2023-11-14T22:13:50.000Z"},
    {"type":"media_connected","local":"host","remote":"host","protocol":"udp","ago":300,
     "at":"2023-11-14T22:12:00.000Z"}])"));
  auto ev = report_events(a, "caller", "dev-a", T0, created);
  ASSERT_EQ(ev.size(), 3u);
  EXPECT_EQ(format_iso(T0), "2023-11-14T22:13:20.000Z");
  EXPECT_EQ(ev[0].at, T0 - 40'000 + 200) << "its own time, not T0 - ago";
  EXPECT_EQ(ev[1].at, T0 - 100) << "after the report arrived: the estimate is off, `ago` is used";
  EXPECT_EQ(ev[2].at, T0 - 300) << "before the call existed: `ago` is used";
  EXPECT_TRUE(ev[0].data.empty()) << "`at` is not data";
  // Within the slack of an estimate: held to the call's lifetime.
  auto b = check_report_events(
      parse(R"([{"type":"first_audio_sent","at":"2023-11-14T22:13:21.500Z"}])"));
  EXPECT_EQ(report_events(b, "caller", "dev-a", T0, created)[0].at, T0);
  EXPECT_NE(
      refusal(R"([{"type":"first_audio_sent","at":"yesterday"}])").find("'at' must be an ISO-8601"),
      std::string::npos);
  EXPECT_NE(refusal(R"([{"type":"first_audio_sent","at":12}])").find("'at'"), std::string::npos);
}
// A call driven through the state machine, as the server would.
struct Driven {
  Call c;
  Driven(bool busy = false) {
    CreateInput in;
    in.caller = {"alice", "dev-a"};
    in.callerProfile = {"alice", "Alice", ""};
    in.receiverId = "bob";
    in.receiver = Profile{"bob", "Bob", ""};
    if (busy) in.receiverActive = Call{};
    in.newCallId = "c1";
    in.now = T0;
    c = *decide_create(in).call;
  }
  Driven& go(Event e, const std::string& user, const std::string& device, TimeMs at,
             std::optional<std::string> reason = std::nullopt) {
    Transition t = apply(c, Intent{e, reason}, Actor{user, device}, at);
    EXPECT_EQ(t.error, ErrorCode::ok) << event_name(e);
    c = t.call;
    return *this;
  }
  Driven& connected() {
    return go(Event::ringing, "bob", "dev-b", T0 + 300)
        .go(Event::accept, "bob", "dev-b", T0 + 3000)
        .go(Event::ready, "alice", "dev-a", T0 + 3300)
        .go(Event::ready, "bob", "dev-b", T0 + 3400);
  }
};

TimelineEvent ev(TimeMs at, std::string side, std::string type, std::string_view data = "{}") {
  return TimelineEvent{at, std::move(side), side == "server" ? "" : "dev", std::move(type),
                       json::parse(data).as_object()};
}

TEST(Timeline, TheTrailRecordsEveryStateWithWhoAndWhichDevice) {
  Driven d;
  d.connected().go(Event::end, "alice", "dev-a", T0 + 60'000);
  ASSERT_EQ(d.c.trail.size(), 6u);
  EXPECT_EQ(d.c.trail[0].event, "create");
  EXPECT_EQ(d.c.trail[0].by, "caller");
  EXPECT_EQ(d.c.trail[2].state, CallState::accepted);
  EXPECT_EQ(d.c.trail[2].device, "dev-b");
  EXPECT_EQ(d.c.trail[2].by, "receiver");
  EXPECT_EQ(d.c.trail.back().state, CallState::ended);
  // It survives the store's round trip.
  Call back = call_from_storage_json(to_storage_json(d.c));
  ASSERT_EQ(back.trail.size(), 6u);
  EXPECT_EQ(back.trail[4].at, T0 + 3400);
  EXPECT_EQ(back.trail[4].event, "ready");
  // Mute changes no state and leaves no step.
  Driven m;
  m.connected();
  Transition t =
      apply(m.c, Intent{Event::mute, std::nullopt, true}, Actor{"bob", "dev-b"}, T0 + 5000);
  EXPECT_EQ(t.call.trail.size(), m.c.trail.size());
  // The timeline shows steps and events by time.
  auto tl = timeline_json(d.c, {ev(T0 + 3350, "caller", "media_connected",
                                   R"({"local":"srflx","remote":"srflx","protocol":"udp"})")});
  ASSERT_EQ(tl.size(), 7u);
  EXPECT_EQ(tl[4].at("type").as_string(), "media_connected");
  EXPECT_EQ(tl[5].at("state").as_string(), "connected");
}

TEST(Summary, ADirectCallWithGoodAudio) {
  Driven d;
  d.connected().go(Event::end, "alice", "dev-a", T0 + 63'400);
  std::vector<TimelineEvent> e = {
      ev(T0 + 3350, "caller", "media_connected",
         R"({"local":"srflx","remote":"srflx","protocol":"udp"})"),
      ev(T0 + 3500, "caller", "first_audio_received"),
      ev(T0 + 3600, "receiver", "first_audio_received"),
  };
  for (int i = 0; i < 12; ++i)
    e.push_back(ev(T0 + 8000 + i * 5000, "caller", "quality",
                   R"({"lossPercent":0,"jitterMs":3,"rttMs":20})"));
  auto s = summarize(d.c, e, {});
  EXPECT_EQ(s.at("setupMs").as_int64(), 3400);
  EXPECT_EQ(s.at("ringMs").as_int64(), 3000);
  EXPECT_TRUE(s.at("likelyCause").is_null());
  EXPECT_TRUE(s.at("notes").as_array().empty()) << json::serialize(s);
  const auto& caller = s.at("caller").as_object();
  EXPECT_EQ(caller.at("firstAudioMs").as_int64(), 500);
  EXPECT_EQ(caller.at("path").at("words").as_string(), "direct (srflx to srflx)");
  EXPECT_EQ(caller.at("quality").at("level").as_string(), "good");
  EXPECT_GT(caller.at("quality").at("mos").as_double(), 4.3);
  // 11 spans of 5 s and the last sample's, up to the end: all good.
  EXPECT_EQ(caller.at("quality").at("msInLevel").at("good").as_int64(), 55'000 + 400);
  EXPECT_EQ(s.at("receiver").at("firstAudioMs").as_int64(), 600);
  EXPECT_TRUE(s.at("receiver").at("quality").is_null());
}

TEST(Summary, RelayedOverTcpWithLossySamples) {
  Driven d;
  d.connected().go(Event::end, "bob", "dev-b", T0 + 43'400);
  std::vector<TimelineEvent> e = {ev(T0 + 3350, "receiver", "media_connected",
                                     R"({"local":"relay","remote":"srflx","protocol":"tcp"})")};
  // 20 samples: loss 0..19 % — p50 9 %, p95 18 %.
  for (int i = 0; i < 20; ++i)
    e.push_back(ev(T0 + 4000 + i * 2000, "receiver", "quality",
                   R"({"lossPercent":)" + std::to_string(i) + R"(,"jitterMs":10,"rttMs":60})"));
  auto s = summarize(d.c, e, {});
  const auto& q = s.at("receiver").at("quality").as_object();
  EXPECT_EQ(q.at("lossPercent").at("p50").as_double(), 9);
  EXPECT_EQ(q.at("lossPercent").at("p95").as_double(), 18);
  EXPECT_EQ(q.at("level").as_string(), "poor");
  EXPECT_LT(q.at("mosAtP95").as_double(), q.at("mos").as_double());
  std::string notes = json::serialize(s.at("notes"));
  EXPECT_NE(notes.find("Bob: no UDP: relayed over TCP"), std::string::npos) << notes;
  EXPECT_NE(notes.find("Bob heard poor quality for"), std::string::npos) << notes;
  EXPECT_EQ(s.at("receiver").at("path").at("words").as_string(), "relayed over TCP");
}

TEST(Summary, APathLostAndGivenUp) {
  Driven d;
  d.connected().go(Event::fail, "alice", "dev-a", T0 + 50'000, "network");
  std::vector<TimelineEvent> e = {
      ev(T0 + 3350, "caller", "media_connected",
         R"({"local":"srflx","remote":"srflx","protocol":"udp"})"),
      ev(T0 + 20'000, "caller", "recovery_started", R"({"cause":"stall"})"),
      ev(T0 + 50'000, "caller", "recovery_ended", R"({"outcome":"gave_up","durationMs":30000})"),
      ev(T0 + 21'000, "receiver", "recovery_started", R"({"cause":"network_change"})"),
      ev(T0 + 33'000, "receiver", "recovery_ended", R"({"outcome":"gave_up","durationMs":12000})"),
  };
  auto s = summarize(d.c, e, {});
  EXPECT_EQ(s.at("likelyCause").as_string(), "path lost 30 s, gave up (Alice's side)");
  const auto& rec = s.at("receiver").at("recoveries").as_array();
  ASSERT_EQ(rec.size(), 1u);
  EXPECT_EQ(rec[0].at("cause").as_string(), "network_change");
  EXPECT_EQ(rec[0].at("outcome").as_string(), "gave_up");
}

TEST(Summary, NobodyReachedTheReceiver) {
  Driven never;
  never.go(Event::ring_timeout, "", "", T0 + 45'000);
  EXPECT_EQ(summarize(never.c, {}, {}).at("likelyCause").as_string(),
            "receiver's device never came online: Bob had no app open and no device registered "
            "for push");
  Driven failedPush;
  failedPush.go(Event::ring_timeout, "", "", T0 + 45'000);
  auto s = summarize(failedPush.c,
                     {ev(T0 + 200, "server", "push",
                         R"({"provider":"fcm","outcome":"failed","detail":"HTTP 401"})")},
                     {});
  EXPECT_EQ(s.at("likelyCause").as_string(),
            "Bob's devices could not be woken: push failed (fcm failed (HTTP 401))");
  EXPECT_EQ(s.at("pushes").at("failed").as_int64(), 1);
  Driven rang;
  rang.go(Event::ringing, "bob", "dev-b", T0 + 300).go(Event::ring_timeout, "", "", T0 + 45'000);
  EXPECT_EQ(summarize(rang.c, {}, {}).at("likelyCause").as_string(),
            "rang on 1 of Bob's devices for 45 s; nobody answered");
}

TEST(Summary, TheOtherOutcomesInWords) {
  Driven busy(true);
  EXPECT_EQ(summarize(busy.c, {}, {}).at("likelyCause").as_string(), "Bob was in another call");
  Driven declined;
  declined.go(Event::reject, "bob", "dev-b", T0 + 2000, "media_device");
  EXPECT_EQ(summarize(declined.c, {}, {}).at("likelyCause").as_string(),
            "Bob's microphone could not be opened");
  // A microphone that fails once answered, before and after media connected.
  Driven answered;
  answered.go(Event::accept, "bob", "dev-b", T0 + 2000)
      .go(Event::fail, "bob", "dev-b", T0 + 2500, "media_device");
  EXPECT_EQ(summarize(answered.c, {}, {}).at("likelyCause").as_string(),
            "Bob's microphone could not be opened");
  Driven talking;
  talking.connected().go(Event::fail, "alice", "dev-a", T0 + 9000, "media_device");
  EXPECT_EQ(summarize(talking.c, {}, {}).at("likelyCause").as_string(),
            "Alice's microphone failed during the call");
  Driven media;
  media.go(Event::accept, "bob", "dev-b", T0 + 2000).go(Event::media_timeout, "", "", T0 + 32'000);
  EXPECT_EQ(summarize(media.c,
                      {ev(T0 + 3000, "caller", "media_connected",
                          R"({"local":"host","remote":"relay","protocol":"udp"})")},
                      {})
                .at("likelyCause")
                .as_string(),
            "media never connected within 30 s: Bob's side found no media path (a firewall "
            "without a reachable TURN relay?)");
  Driven lost;
  lost.connected().go(Event::presence_lost, "bob", "dev-b", T0 + 40'000);
  EXPECT_EQ(summarize(lost.c, {}, {}).at("likelyCause").as_string(),
            "Bob's device lost its connection to the server for more than 20 s");
  Driven cancelled;
  cancelled.go(Event::end, "alice", "dev-a", T0 + 4000);
  EXPECT_EQ(summarize(cancelled.c, {}, {}).at("likelyCause").as_string(),
            "Alice hung up before an answer");
}

TEST(Summary, PercentileByNearestRank) {
  EXPECT_EQ(percentile({}, 50), 0);
  EXPECT_EQ(percentile({5}, 95), 5);
  EXPECT_EQ(percentile({4, 1, 3, 2}, 50), 2);
  EXPECT_EQ(percentile({4, 1, 3, 2}, 95), 4);
}

}  // namespace
}  // namespace dialtone
