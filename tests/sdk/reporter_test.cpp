// SPDX-License-Identifier: Apache-2.0
// The SDK's reporter: what it sends and when, held while offline, put back when a report is
// lost with its connection, and a flush that waits for the answers — no longer than its bound.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include "sdk/reporter.hpp"

namespace dialtone::sdk {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

struct Sent {
  json::object msg;
  std::function<void(ErrorCode, const std::string&)> answer;
};

struct Fixture {
  asio::io_context ioc;
  bool online = true;
  std::optional<TimeMs> serverNow;
  std::vector<Sent> sent;
  Reporter reporter{ioc, hooks()};

  Reporter::Hooks hooks() {
    Reporter::Hooks h;
    h.send = [this](json::object msg, auto answer) {
      sent.push_back({std::move(msg), std::move(answer)});
    };
    h.online = [this] { return online; };
    h.serverNow = [this] { return serverNow; };
    h.every = 300ms;
    h.flushWait = 200ms;
    return h;
  }
  const json::array& events(std::size_t i) { return sent.at(i).msg.at("events").as_array(); }
};

json::object ev(const char* type) {
  return json::object{{"type", type}};
}

TEST(Reporter, OfflineTheEventsWaitAndLeaveWithTheirOwnTimesOnceOnline) {
  Fixture f;
  f.online = false;
  f.reporter.add("c1", ev("media_connected"));
  bool done = false;
  f.reporter.flush("", [&] { done = true; });
  EXPECT_TRUE(done) << "nothing can be sent: the flush is over at once";
  EXPECT_TRUE(f.sent.empty());
  std::this_thread::sleep_for(30ms);
  f.online = true;
  f.serverNow = 1'700'000'000'000;
  f.reporter.flush();
  ASSERT_EQ(f.sent.size(), 1u);
  EXPECT_EQ(f.sent[0].msg.at("op"), "report");
  EXPECT_EQ(f.sent[0].msg.at("callId"), "c1");
  ASSERT_EQ(f.events(0).size(), 1u);
  const auto& e = f.events(0)[0].as_object();
  EXPECT_GE(e.at("ago").as_int64(), 30);
  EXPECT_EQ(parse_iso(e.at("at").as_string()), *f.serverNow - e.at("ago").as_int64());
}

TEST(Reporter, AReportLostWithItsConnectionComesBackAtItsOwnTimes) {
  Fixture f;
  f.serverNow = 1'700'000'000'000;
  f.reporter.add("c1", ev("first_audio_sent"));
  f.reporter.flush();
  ASSERT_EQ(f.sent.size(), 1u);
  f.serverNow = *f.serverNow + 7;  // a better estimate meanwhile
  auto firstAgo = f.events(0)[0].at("ago").as_int64();
  std::this_thread::sleep_for(50ms);
  f.sent[0].answer(ErrorCode::network, "");
  f.reporter.flush();
  ASSERT_EQ(f.sent.size(), 2u) << "sent again on the next flush";
  EXPECT_GE(f.events(1)[0].at("ago").as_int64(), firstAgo + 50) << "still counted from the event";
  EXPECT_EQ(f.events(1)[0].at("at"), f.events(0)[0].at("at"))
      << "the same `at`: the server recognizes it and stores it once";
  f.sent[1].answer(ErrorCode::ok, "");
  f.reporter.flush();
  EXPECT_EQ(f.sent.size(), 2u) << "answered: gone";
  // The server could not store it this time (its store unavailable): sent again.
  f.reporter.add("c1", ev("media_connected"));
  f.reporter.flush();
  f.sent[2].answer(ErrorCode::unavailable, "the store is unavailable; nothing changed");
  f.reporter.flush();
  ASSERT_EQ(f.sent.size(), 4u);
  EXPECT_EQ(f.events(3)[0].at("at"), f.events(2)[0].at("at"));
  f.sent[3].answer(ErrorCode::ok, "");
  // Refused (e.g. rate-limited): not sent again — it would be refused again.
  f.reporter.add("c1", ev("first_audio_received"));
  f.reporter.flush();
  f.sent[4].answer(ErrorCode::rate_limited, "slow down");
  f.reporter.flush();
  EXPECT_EQ(f.sent.size(), 5u);
}

TEST(Reporter, AFlushForOneCallSendsItsEventsAllOfThemAndWaitsForTheAnswers) {
  Fixture f;
  f.reporter.add("c2", ev("first_audio_sent"));
  for (int i = 0; i < 40; ++i) f.reporter.add("c1", ev("quality"));
  bool done = false;
  f.reporter.flush("c1", [&] { done = true; });
  ASSERT_EQ(f.sent.size(), 2u) << "40 events: two reports, both now";
  EXPECT_EQ(f.events(0).size() + f.events(1).size(), 40u);
  EXPECT_EQ(f.sent[1].msg.at("callId"), "c1");
  f.sent[0].answer(ErrorCode::ok, "");
  f.ioc.poll();
  EXPECT_FALSE(done) << "one answer still missing";
  f.sent[1].answer(ErrorCode::ok, "");
  EXPECT_TRUE(done);
  f.reporter.flush();
  ASSERT_EQ(f.sent.size(), 3u);
  EXPECT_EQ(f.sent[2].msg.at("callId"), "c2") << "the other call's events were left for later";
}

TEST(Reporter, AFlushAlsoWaitsForTheCallsReportsAlreadyOnTheirWay) {
  // The call ended after a blackout: its reports went out during it and are still unanswered.
  Fixture f;
  f.reporter.add("c1", ev("recovery_started"));
  f.reporter.flush();
  bool done = false;
  f.reporter.flush("c2", [&] { done = true; });
  EXPECT_TRUE(done) << "nothing of c2 in flight";
  done = false;
  f.reporter.flush("c1", [&] { done = true; });
  EXPECT_EQ(f.sent.size(), 1u) << "nothing new to send";
  EXPECT_FALSE(done);
  f.sent[0].answer(ErrorCode::ok, "");
  EXPECT_TRUE(done);
}

TEST(Reporter, AFlushWaitsNoLongerThanItsBoundForAnAnswerThatNeverComes) {
  Fixture f;
  f.reporter.add("c1", ev("first_audio_sent"));
  bool done = false;
  auto start = std::chrono::steady_clock::now();
  f.reporter.flush("c1", [&] { done = true; });
  while (!done && f.ioc.run_one_for(2s)) {
  }
  EXPECT_TRUE(done);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 200ms);
  f.sent[0].answer(ErrorCode::ok, "");  // late: nothing happens twice
}

TEST(Reporter, HeldEventsAreSentEveryFewSecondsByThemselves) {
  Fixture f;
  f.reporter.add("c1", ev("first_audio_sent"));
  while (f.sent.empty() && f.ioc.run_one_for(2s)) {
  }
  ASSERT_EQ(f.sent.size(), 1u);
  f.sent[0].answer(ErrorCode::ok, "");
  f.reporter.stop();
  f.ioc.restart();
  f.ioc.run_for(100ms);
}

}  // namespace
}  // namespace dialtone::sdk
