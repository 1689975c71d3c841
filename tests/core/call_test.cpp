// SPDX-License-Identifier: Apache-2.0
// The call document: one struct (CallSnapshot, with the server's own fields in Call), one writer
// and one reader, shared by the server and the SDK.
#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "core/call.hpp"
#include "core/state_machine.hpp"

namespace dialtone {
namespace {

namespace json = boost::json;

TEST(CallDocument, ParsesTheProtocolDocument) {
  auto v = json::parse(R"({"callId":"c1","callerId":"alice","callerName":"Alice","callerPhoto":"",
    "receiverId":"bob","receiverName":"Bob","receiverPhoto":"p","type":"audio",
    "timestamp":"2026-11-30T04:00:00.000Z","channelName":"c1","state":"connected",
    "callerReady":true,"receiverReady":true,"connectedAt":"2026-11-30T04:00:05.250Z",
    "callStartedAt":"2026-11-30T04:00:05.250Z","durationSeconds":null,
    "lastUpdated":"2026-11-30T04:00:05.250Z","ringDeadline":"2026-11-30T04:00:45.000Z",
    "reason":null,"answeredBy":"bob-dev","ringingDevices":2,
    "metadata":{"callerMuted":false,"receiverMuted":true},"version":7})");
  auto s = parse_public_json(v.as_object());
  ASSERT_TRUE(s);
  EXPECT_EQ(s->state, CallState::connected);
  EXPECT_EQ(s->version, 7);
  EXPECT_EQ(*s->connectedAt - s->timestamp, 5250);
  EXPECT_FALSE(s->durationSeconds);
  EXPECT_FALSE(s->reason);
  EXPECT_EQ(s->answeredBy.value_or(""), "bob-dev");
  EXPECT_EQ(s->ringingDevices, 2);
  EXPECT_TRUE(s->receiverMuted);
  EXPECT_EQ(s->other_name("alice"), "Bob");
  EXPECT_EQ(s->other_name("bob"), "Alice");
}

TEST(CallDocument, MalformedDocumentsAreIgnored) {
  for (const char* doc :
       {R"({})", R"({"callId":"c","state":"dancing","version":1})",
        R"({"callId":"c","state":"calling"})", R"({"state":"calling","version":1})",
        R"({"callId":"c","state":"calling","version":"1"})"})
    EXPECT_FALSE(parse_public_json(json::parse(doc).as_object())) << doc;
}

TEST(CallDocument, TheServerWritesWhatTheSdkReads) {
  Call c;
  c.callId = "c9";
  c.callerId = "alice";
  c.callerName = "Alice";
  c.receiverId = "bob";
  c.receiverName = "Bob";
  c.timestamp = 1'700'000'000'000;
  c.lastUpdated = c.timestamp + 10;
  c.ringDeadline = c.timestamp + 45'000;
  c.state = CallState::ringing;
  c.callerDeviceId = "a-dev";
  c.delivery = PushDelivery{2, 1, 0};
  Transition t = apply(c, Intent{Event::ringing}, Actor{"bob", "b-dev"}, c.timestamp + 20);
  ASSERT_EQ(t.error, ErrorCode::ok);
  EXPECT_EQ(t.call.ringingDevices, 1);

  auto read = parse_public_json(to_public_json(t.call));
  ASSERT_TRUE(read);
  EXPECT_EQ(to_public_string(*read), to_public_string(t.call));
  EXPECT_EQ(read->ringingDevices, 1);
  ASSERT_TRUE(read->delivery);
  EXPECT_EQ(read->delivery->targets, 2);

  // The stored record adds the server's fields, and reads back whole.
  std::string doc = to_public_string(t.call);
  Call back = call_from_storage_json(json::parse(to_storage_string(t.call, doc)).as_object());
  EXPECT_EQ(to_public_string(back), doc);
  EXPECT_EQ(back.callerDeviceId, "a-dev");
  EXPECT_EQ(back.ringingDeviceIds, std::vector<std::string>{"b-dev"});
  EXPECT_THROW(call_from_storage_json(json::parse(R"({"callId":"x"})").as_object()),
               std::exception);
}

// The documents written on every transition are built as text directly: byte for byte what
// json::serialize makes of the JSON objects, with every optional field both ways and text that
// needs escaping.
TEST(CallDocument, TheDirectTextIsJsonSerializesText) {
  Call bare;
  bare.callId = "c1";
  Call full = bare;
  full.callerId = "al\"ice\\";
  full.callerName = "Al\tice \x01\x1f\b\f\n\r é 😀 /";
  full.callerPhoto = "https://example.com/a.png?x=\"1\"";
  full.receiverId = "bob";
  full.receiverName = "Bøb\x7f";
  full.timestamp = 1'700'000'000'123;
  full.state = CallState::ended;
  full.callerReady = full.receiverReady = true;
  full.connectedAt = full.timestamp + 1000;
  full.durationSeconds = 42;
  full.lastUpdated = full.timestamp + 43'000;
  full.ringDeadline = full.timestamp + 45'000;
  full.reason = "hung \"up\"";
  full.answeredBy = "bob-phone";
  full.ringingDevices = 2;
  full.callerMuted = true;
  full.delivery = PushDelivery{3, 2, 1};
  full.version = 9;
  full.callerDeviceId = "a\\dev";
  full.ringingDeviceIds = {"b1", "b\"2"};
  full.acceptedAt = full.timestamp + 900;
  full.terminatedBy = "alice";
  full.trail = {Step{CallState::calling, full.timestamp, "caller", "a-dev", "create"},
                Step{CallState::ended, full.timestamp + 43'000, "caller", "a\ndev", "end"}};
  for (const Call* c : {&bare, &full}) {
    std::string pub = to_public_string(*c);
    EXPECT_EQ(pub, json::serialize(to_public_json(*c)));
    EXPECT_EQ(to_storage_string(*c, pub), json::serialize(to_storage_json(*c)));
  }
}

}  // namespace
}  // namespace dialtone
