// SPDX-License-Identifier: Apache-2.0
// The spec's testing checklist (sections 8 and 11) against a real dialtoned over real sockets.
#include <gtest/gtest.h>

#include "support/harness.hpp"

namespace dialtone::test {
namespace {

class CallFlow : public ::testing::Test {
 protected:
  ServerProcess server{
      {"--ring-timeout-s", "2", "--media-timeout-s", "30", "--photo-hosts", "example.com"}};
  std::string alice = dev_token(server.port(), "alice", "https://example.com/a.png");
  std::string bob = dev_token(server.port(), "bob", "https://example.com/b.png");
  std::string carol = dev_token(server.port(), "carol");

  // alice calls bob; returns the call id once bob's device reported ringing.
  std::string ring(WsClient& a, WsClient& b) {
    auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
    EXPECT_EQ(r.at("ok"), true) << json::serialize(r);
    std::string id = call_id(r);
    b.wait_call(id, "calling");
    EXPECT_EQ(b.request(op("ringing", id)).at("ok"), true);
    return id;
  }
  std::string connect(WsClient& a, WsClient& b) {
    std::string id = ring(a, b);
    EXPECT_EQ(b.request(op("accept", id)).at("ok"), true);
    a.wait_call(id, "accepted");
    EXPECT_EQ(a.request(op("ready", id)).at("ok"), true);
    EXPECT_EQ(b.request(op("ready", id)).at("ok"), true);
    a.wait_call(id, "connected");
    b.wait_call(id, "connected");
    return id;
  }
};

// A development token asked for without a name (`dialtone --user carol answer`) keeps the
// display name carol already has — in the directory and in the calls she places; a newcomer is
// named by their id; a name given replaces it.
TEST_F(CallFlow, ADevelopmentTokenWithoutANameKeepsTheOneSet) {
  auto name_of = [&](const std::string& user) {
    return http(server.port(), "GET", "/v1/users/" + user, "", alice).body.at("name");
  };
  auto token_for = [&](json::object body) {
    auto r = http(server.port(), "POST", "/v1/dev/token", json::serialize(body));
    EXPECT_EQ(r.status, 200) << r.raw;
    return std::string(r.body.at("token").as_string());
  };
  std::string again = token_for({{"userId", "carol"}});
  EXPECT_EQ(name_of("carol"), "Carol");
  WsClient c(server.port(), again);
  WsClient a(server.port(), alice);
  auto created = c.request({{"op", "create"}, {"receiverId", "alice"}});
  EXPECT_EQ(created.at("call").at("callerName"), "Carol") << "the token carries the kept name";
  token_for({{"userId", "dave"}});
  EXPECT_EQ(name_of("dave"), "dave");
  token_for({{"userId", "carol"}, {"name", "Caroline"}});
  EXPECT_EQ(name_of("carol"), "Caroline");
}

TEST_F(CallFlow, OutgoingCallerSeesCallingReceiverSeesIncoming) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
  ASSERT_EQ(r.at("ok"), true);
  EXPECT_EQ(state_of(r), "calling");
  EXPECT_TRUE(r.contains("serverTime"));
  std::string id = call_id(r);
  auto incoming = b.wait_call(id, "calling");
  EXPECT_EQ(incoming.at("callerName"), "Alice");
  EXPECT_EQ(incoming.at("callerPhoto"), "https://example.com/a.png");
  EXPECT_EQ(incoming.at("receiverName"), "Bob");
  EXPECT_EQ(incoming.at("channelName"), id.c_str());
  EXPECT_GE(id.size(), 22u);  // 128 random bits

  ASSERT_EQ(b.request(op("ringing", id)).at("ok"), true);
  auto ringing = a.wait_call(id, "ringing");
  EXPECT_EQ(ringing.at("ringingDevices"), 1);
  EXPECT_TRUE(server.log().find("CALL_START_CREATED callId=" + id) != std::string::npos);
  EXPECT_TRUE(server.log().find("CALL_RECEIVED callId=" + id) != std::string::npos);
}

TEST_F(CallFlow, AcceptConnectsOnlyWhenBothReadyWithOneConnectedAt) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = ring(a, b);
  ASSERT_EQ(b.request(op("accept", id)).at("ok"), true);
  auto accepted = a.wait_call(id, "accepted");
  EXPECT_EQ(accepted.at("answeredBy"), b.device().c_str());
  EXPECT_TRUE(accepted.at("connectedAt").is_null());

  auto r1 = b.request(op("ready", id));
  EXPECT_EQ(state_of(r1), "connecting");
  auto connecting = a.wait_call(id, "connecting");
  EXPECT_TRUE(connecting.at("connectedAt").is_null());  // the timer has not started
  EXPECT_EQ(connecting.at("receiverReady"), true);
  EXPECT_EQ(connecting.at("callerReady"), false);

  a.request(op("ready", id));
  auto ca = a.wait_call(id, "connected");
  auto cb = b.wait_call(id, "connected");
  ASSERT_TRUE(ca.at("connectedAt").is_string());
  EXPECT_EQ(ca.at("connectedAt"), cb.at("connectedAt"));
  EXPECT_EQ(ca.at("callStartedAt"), ca.at("connectedAt"));
  EXPECT_TRUE(server.log().find("CALL_ACCEPTED callId=" + id) != std::string::npos);
  EXPECT_TRUE(server.log().find("CALL_CONNECTED callId=" + id) != std::string::npos);
}

TEST_F(CallFlow, RejectShowsRejectedToCaller) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = ring(a, b);
  ASSERT_EQ(b.request(op("reject", id)).at("ok"), true);
  auto r = a.wait_call(id, "rejected");
  EXPECT_EQ(r.at("reason"), "rejected_by_receiver");
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/bob/busy", "", alice).body.at("busy"), false);
}

TEST_F(CallFlow, UnansweredCallTimesOut) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = ring(a, b);
  auto t = a.wait_call(id, "timeout", 5s);
  EXPECT_EQ(t.at("reason"), "timeout");
  b.wait_call(id, "timeout");
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/alice/busy", "", bob).body.at("busy"), false);
  EXPECT_TRUE(server.log().find("CALL_ENDED callId=" + id + " duration=0 reason=timeout") !=
              std::string::npos);
}

TEST_F(CallFlow, BusyReceiverIsStoredAsBusyInBothHistories) {
  WsClient a(server.port(), alice), b(server.port(), bob), c(server.port(), carol);
  std::string first = connect(a, b);
  auto r = c.request({{"op", "create"}, {"receiverId", "bob"}});
  EXPECT_EQ(r.at("ok"), false);
  EXPECT_EQ(r.at("error").at("code"), "busy");
  EXPECT_EQ(state_of(r), "busy");
  std::string busyId = call_id(r);
  b.wait_call(busyId, "busy");  // the receiver learns of the missed call
  c.wait_call(busyId, "busy");
  auto h = http(server.port(), "GET", "/v1/calls", "", bob);
  bool found = false;
  for (auto& v : h.body.at("calls").as_array())
    if (v.at("callId") == busyId.c_str()) {
      found = true;
      EXPECT_EQ(v.at("direction"), "missed");
    }
  EXPECT_TRUE(found);
  // HTTP says the same with status 409.
  auto hr = http(server.port(), "POST", "/v1/calls", R"({"receiverId":"bob"})", carol);
  EXPECT_EQ(hr.status, 409);
  EXPECT_EQ(hr.body.at("error").at("code"), "busy");
  EXPECT_EQ(hr.body.at("call").at("state"), "busy");
  // The first call is untouched.
  EXPECT_EQ(http(server.port(), "GET", "/v1/calls/" + first, "", alice).body.at("state"),
            "connected");
}

TEST_F(CallFlow, EndReachesTheOtherSideAtOnce) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = connect(a, b);
  auto r = a.request(op("end", id));
  EXPECT_EQ(state_of(r), "ended");
  auto e = b.wait_call(id, "ended", 1s);
  EXPECT_EQ(e.at("reason"), "ended_by_user");
  EXPECT_TRUE(e.at("durationSeconds").is_int64());
  EXPECT_TRUE(server.log().find("CALL_ENDED callId=" + id + " duration=") != std::string::npos);
  // The same op again from the same user is a retry; from the other side it is refused.
  auto again = a.request(op("end", id));
  EXPECT_EQ(again.at("ok"), true);
  EXPECT_EQ(again.at("call").at("version"), r.at("call").at("version"));
  auto other = b.request(op("end", id));
  EXPECT_EQ(other.at("error").at("code"), "invalid_transition");
  EXPECT_EQ(state_of(other), "ended");
}

TEST_F(CallFlow, CallerCancelsBeforeAnswer) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = ring(a, b);
  a.request(op("end", id));
  EXPECT_EQ(b.wait_call(id, "ended").at("reason"), "cancelled");
}

TEST_F(CallFlow, RetriesAreIdempotent) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = ring(a, b);
  auto r1 = b.request(op("accept", id));
  auto r2 = b.request(op("accept", id));
  EXPECT_EQ(r2.at("ok"), true);
  EXPECT_EQ(r2.at("call").at("version"), r1.at("call").at("version"));
  auto c1 = a.request({{"op", "create"}, {"receiverId", "bob"}});  // alice is in this call
  EXPECT_EQ(c1.at("error").at("code"), "already_in_call");
}

TEST_F(CallFlow, CreateRetryWhileRingingReturnsTheSameCall) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = ring(a, b);
  auto again = a.request({{"op", "create"}, {"receiverId", "bob"}});
  EXPECT_EQ(again.at("ok"), true);
  EXPECT_EQ(call_id(again), id);
}

TEST_F(CallFlow, MuteIsVisibleToTheOtherSide) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = connect(a, b);
  a.request(op("mute", id, {{"muted", true}}));
  auto m = b.next([&](const json::object& o) {
    return o.at("type") == "call" && o.at("call").at("metadata").at("callerMuted") == true;
  });
  ASSERT_TRUE(m);
  EXPECT_EQ(m->at("call").at("state"), "connected");
}

TEST_F(CallFlow, SignalIsRelayedToTheAnsweringDeviceOnly) {
  WsClient a(server.port(), alice, "alice-phone");
  WsClient b1(server.port(), bob, "bob-phone"), b2(server.port(), bob, "bob-laptop");
  auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
  std::string id = call_id(r);
  b1.wait_call(id, "calling");
  auto early = a.request(op("signal", id, {{"data", {{"type", "offer"}, {"sdp", "v=0"}}}}));
  EXPECT_EQ(early.at("error").at("code"), "invalid_transition");  // no media before accept

  b1.request(op("accept", id));
  a.wait_call(id, "accepted");
  auto s = a.request(op("signal", id, {{"data", {{"type", "offer"}, {"sdp", "v=0\r\n"}}}}));
  EXPECT_EQ(s.at("ok"), true);
  auto got = b1.next([](const json::object& o) { return o.at("type") == "signal"; });
  ASSERT_TRUE(got);
  EXPECT_EQ(got->at("from"), "alice");
  EXPECT_EQ(got->at("callId"), id.c_str());
  EXPECT_EQ(got->at("data").at("sdp"), "v=0\r\n");
  b1.request(op("signal", id, {{"data", {{"type", "candidate"}, {"candidate", ""}}}}));
  auto back = a.next([](const json::object& o) { return o.at("type") == "signal"; });
  ASSERT_TRUE(back);
  EXPECT_EQ(back->at("from"), "bob");
  EXPECT_FALSE(b2.next([](const json::object& o) { return o.at("type") == "signal"; }, 300ms));
}

TEST_F(CallFlow, MultiDeviceRingingFirstAcceptWins) {
  WsClient a(server.port(), alice);
  WsClient b1(server.port(), bob, "b1"), b2(server.port(), bob, "b2");
  auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
  std::string id = call_id(r);
  b1.wait_call(id, "calling");
  b2.wait_call(id, "calling");
  b1.request(op("ringing", id));
  b2.request(op("ringing", id));
  auto two = a.next([&](const json::object& o) {
    return o.at("type") == "call" && o.at("call").at("ringingDevices") == 2;
  });
  ASSERT_TRUE(two);
  // Both accept at once: exactly one wins; the loser sees who answered.
  std::optional<json::object> r1, r2;
  std::thread t1([&] { r1 = b1.request(op("accept", id)); });
  std::thread t2([&] { r2 = b2.request(op("accept", id)); });
  t1.join();
  t2.join();
  int wins = (r1->at("ok") == true) + (r2->at("ok") == true);
  EXPECT_EQ(wins, 1);
  auto& loser = r1->at("ok") == true ? *r2 : *r1;
  std::string winner = r1->at("ok") == true ? "b1" : "b2";
  EXPECT_EQ(loser.at("error").at("code"), "invalid_transition");
  EXPECT_EQ(loser.at("call").at("answeredBy"), winner.c_str());
  // The other device sees the snapshot and stops ringing.
  auto& other = winner == "b1" ? b2 : b1;
  EXPECT_EQ(other.wait_call(id, "accepted").at("answeredBy"), winner.c_str());
}

TEST_F(CallFlow, TwentySimultaneousCallersExactlyOneRings) {
  WsClient b(server.port(), bob);
  std::vector<std::unique_ptr<WsClient>> callers;
  for (int i = 0; i < 20; ++i)
    callers.push_back(std::make_unique<WsClient>(
        server.port(), dev_token(server.port(), "caller" + std::to_string(i))));
  std::vector<std::optional<json::object>> replies(20);
  std::vector<std::thread> threads;
  for (int i = 0; i < 20; ++i)
    threads.emplace_back([&, i] {
      replies[i] = callers[i]->request({{"op", "create"}, {"receiverId", "bob"}});
    });
  for (auto& t : threads) t.join();
  int ringing = 0, busy = 0;
  std::string winner;
  for (auto& r : replies) {
    if (r->at("ok") == true) {
      ++ringing;
      winner = call_id(*r);
      EXPECT_EQ(state_of(*r), "calling");
    } else {
      EXPECT_EQ(r->at("error").at("code"), "busy");
      ++busy;
    }
  }
  EXPECT_EQ(ringing, 1);
  EXPECT_EQ(busy, 19);
  b.wait_call(winner, "calling");
  auto busyState = http(server.port(), "GET", "/v1/users/bob/busy", "", alice);
  EXPECT_EQ(busyState.body.at("busy"), true);
}

TEST_F(CallFlow, GlareConnectsTheTwoCallers) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
  std::string id = call_id(r);
  b.wait_call(id, "calling");
  auto g = b.request({{"op", "create"}, {"receiverId", "alice"}});
  ASSERT_EQ(g.at("ok"), true) << json::serialize(g);
  EXPECT_EQ(call_id(g), id);
  EXPECT_EQ(state_of(g), "accepted");
  EXPECT_EQ(g.at("call").at("answeredBy"), b.device().c_str());
  a.wait_call(id, "accepted");
  auto h = http(server.port(), "GET", "/v1/calls", "", alice);
  EXPECT_EQ(h.body.at("calls").as_array().size(), 1u);
}

TEST_F(CallFlow, NonParticipantsAndWrongActorsAreRefused) {
  WsClient a(server.port(), alice), b(server.port(), bob), c(server.port(), carol);
  std::string id = ring(a, b);
  for (const char* name : {"accept", "reject", "end", "ready", "ringing"}) {
    auto r = c.request(
        op(name, id, name == std::string("fail") ? json::object{{"reason", "x"}} : json::object{}));
    EXPECT_EQ(r.at("error").at("code"), "not_found") << name;
    EXPECT_FALSE(r.contains("call"));
  }
  EXPECT_EQ(http(server.port(), "GET", "/v1/calls/" + id, "", carol).status, 404);
  for (const char* name : {"accept", "reject", "ringing"}) {
    auto r = a.request(op(name, id));
    EXPECT_EQ(r.at("error").at("code"), "forbidden") << name;
  }
  auto hr = http(server.port(), "POST", "/v1/calls/" + id + "/accept", "", alice);
  EXPECT_EQ(hr.status, 403);
  EXPECT_EQ(http(server.port(), "GET", "/v1/calls/" + id, "", alice).body.at("version"), 2);
}

TEST_F(CallFlow, AcceptRacingTheRingTimeoutHasOneWinner) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  for (int i = 0; i < 4; ++i) {
    auto r = a.request({{"op", "create"}, {"receiverId", "bob"}});
    std::string id = call_id(r);
    auto deadline = *parse_iso_for_test(std::string(r.at("call").at("ringDeadline").as_string()));
    // Aim the accept at the deadline, a little before or after.
    auto target = deadline + std::chrono::milliseconds(i * 3 - 5);
    std::this_thread::sleep_until(target);
    auto acc = b.request(op("accept", id));
    auto final = http(server.port(), "GET", "/v1/calls/" + id, "", alice).body;
    if (acc.at("ok") == true) {
      EXPECT_EQ(final.at("state"), "accepted");
      a.request(op("end", id));
    } else {
      EXPECT_EQ(acc.at("error").at("code"), "invalid_transition");
      EXPECT_EQ(final.at("state"), "timeout");
    }
  }
}

TEST_F(CallFlow, HistoryHasDirections) {
  // History is newest first by creation time, in milliseconds: calls placed within the same
  // millisecond (which the server now manages back to back) have no order between them, so each
  // is placed in a millisecond of its own.
  auto next_ms = [] {
    using std::chrono::system_clock;
    auto ms = [] {
      return std::chrono::duration_cast<std::chrono::milliseconds>(
                 system_clock::now().time_since_epoch())
          .count();
    };
    for (auto start = ms(); ms() == start;)
      std::this_thread::sleep_for(std::chrono::microseconds(200));
  };
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string answered = connect(a, b);
  a.request(op("end", answered));
  next_ms();
  std::string declined = ring(a, b);
  b.request(op("reject", declined));
  next_ms();
  auto r = b.request({{"op", "create"}, {"receiverId", "alice"}});
  std::string dialedByBob = call_id(r);
  b.request(op("end", dialedByBob));
  auto h = http(server.port(), "GET", "/v1/calls?limit=10", "", bob).body.at("calls").as_array();
  ASSERT_EQ(h.size(), 3u);
  EXPECT_EQ(h[0].at("callId"), dialedByBob.c_str());
  EXPECT_EQ(h[0].at("direction"), "dialed");
  EXPECT_EQ(h[1].at("direction"), "declined");
  EXPECT_EQ(h[2].at("direction"), "received");
  auto ha = http(server.port(), "GET", "/v1/calls", "", alice).body.at("calls").as_array();
  EXPECT_EQ(ha[0].at("direction"), "missed");
  EXPECT_EQ(ha[1].at("direction"), "dialed");
  auto page =
      http(server.port(), "GET",
           "/v1/calls?limit=1&before=" + std::string(h[0].at("timestamp").as_string()), "", bob)
          .body.at("calls")
          .as_array();
  ASSERT_EQ(page.size(), 1u);
  EXPECT_EQ(page[0].at("callId"), h[1].at("callId"));
}

TEST_F(CallFlow, HelloThenResyncOfTheActiveCall) {
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = connect(a, b);
  WsClient again(server.port(), bob, "bob-second");
  EXPECT_EQ(again.hello.at("userId"), "bob");
  EXPECT_EQ(again.hello.at("deviceId"), "bob-second");
  EXPECT_TRUE(again.hello.at("serverTime").is_string());
  auto snap = again.wait_call(id, "connected", 2s);
  EXPECT_EQ(snap.at("callerName"), "Alice");
}

TEST_F(CallFlow, UsersAndProfiles) {
  WsClient b(server.port(), bob);
  auto p = http(server.port(), "GET", "/v1/users/bob", "", alice);
  EXPECT_EQ(p.body.at("name"), "Bob");
  // On another node of a cluster bob's presence arrives a moment later (over the bus).
  for (int i = 0; i < 100 && p.body.at("online") != true; ++i) {
    std::this_thread::sleep_for(20ms);
    p = http(server.port(), "GET", "/v1/users/bob", "", alice);
  }
  EXPECT_EQ(p.body.at("online"), true);
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/alice", "", bob).body.at("online"), false);
  EXPECT_EQ(http(server.port(), "GET", "/v1/users/nobody", "", bob).status, 404);
  EXPECT_EQ(http(server.port(), "POST", "/v1/calls", R"({"receiverId":"nobody"})", alice).status,
            404);
  EXPECT_EQ(http(server.port(), "POST", "/v1/calls", R"({"receiverId":"alice"})", alice).status,
            400);
  auto all = http(server.port(), "GET", "/v1/users", "", alice).body.at("users").as_array();
  EXPECT_EQ(all.size(), 3u);
}

TEST_F(CallFlow, HttpOpsMirrorTheWebSocket) {
  WsClient b(server.port(), bob);
  auto c = http(server.port(), "POST", "/v1/calls", R"({"receiverId":"bob"})", alice,
                {{"X-Device-Id", "alice-http"}});
  ASSERT_EQ(c.status, 201);
  std::string id(c.body.at("callId").as_string());
  auto acc = http(server.port(), "POST", "/v1/calls/" + id + "/accept", "", bob,
                  {{"X-Device-Id", "bob-http"}});
  EXPECT_EQ(acc.status, 200);
  EXPECT_EQ(acc.body.at("answeredBy"), "bob-http");
  auto bad = http(server.port(), "POST", "/v1/calls/" + id + "/ringing", "", bob);
  EXPECT_EQ(bad.status, 409);
  EXPECT_EQ(bad.body.at("error").at("code"), "invalid_transition");
  EXPECT_EQ(bad.body.at("call").at("state"), "accepted");
  EXPECT_EQ(http(server.port(), "POST", "/v1/calls/" + id + "/signal",
                 R"({"data":{"type":"restart"}})", bob)
                .status,
            400);
  EXPECT_EQ(http(server.port(), "POST", "/v1/calls/" + id + "/dance", "", bob).status, 400);
  auto end = http(server.port(), "POST", "/v1/calls/" + id + "/end", R"({"reason":"done"})", bob);
  EXPECT_EQ(end.body.at("state"), "ended");
  EXPECT_EQ(end.body.at("reason"), "done");
}

}  // namespace
}  // namespace dialtone::test
