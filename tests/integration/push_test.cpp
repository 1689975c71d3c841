// SPDX-License-Identifier: Apache-2.0
// Push notifications end to end: a real dialtoned sends to loopback stand-ins for Google's
// OAuth2 endpoint and FCM, APNs (HTTP/2 over TLS) and a Web Push service, which verify every
// signature, header and payload the way the real services do and decrypt Web Push bodies with
// the subscription's private key (tests/push/fake_push_service.mjs).
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <set>
#include <thread>

#include "support/fake_push.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

using Clock = std::chrono::steady_clock;

const std::string kFcmToken = "fcm-token:bob-android-1";
const std::string kVoipToken = std::string(64, 'a') + "01";
const std::string kAlertToken = std::string(64, 'b') + "02";

class PushTest : public ::testing::Test {
 protected:
  void start(std::vector<std::string> extra = {}) {
    auto flags = fake.server_flags();
    flags.insert(flags.end(), {"--photo-hosts", "example.com"});
    flags.insert(flags.end(), extra.begin(), extra.end());
    server = std::make_unique<ServerProcess>(flags);
    alice = dev_token(server->port(), "alice", "https://example.com/alice.png");
    bob = dev_token(server->port(), "bob");
  }
  int port() const { return server->port(); }

  HttpResult register_device(const std::string& token, json::object body) {
    return http(port(), "POST", "/v1/devices", json::serialize(body), token);
  }
  // Bob's phone (FCM), iPhone (APNs, VoIP + regular token) and browser (Web Push).
  void register_bobs_devices() {
    ASSERT_EQ(
        register_device(bob, {{"deviceId", "android-1"}, {"platform", "fcm"}, {"token", kFcmToken}})
            .status,
        200);
    ASSERT_EQ(register_device(bob, {{"deviceId", "iphone-1"},
                                    {"platform", "apns"},
                                    {"token", kVoipToken},
                                    {"alertToken", kAlertToken}})
                  .status,
              200);
    std::string vapid(http(port(), "GET", "/v1/info").body.at("vapidPublicKey").as_string());
    subscription = fake.subscribe(vapid);
    ASSERT_EQ(register_device(bob, {{"deviceId", "browser-1"},
                                    {"platform", "webpush"},
                                    {"subscription", subscription}})
                  .status,
              200);
  }

  // Bob's `n` Android phones (FCM): one call, `n` pushes to one provider.
  void register_phones(int n) {
    for (int i = 0; i < n; ++i)
      ASSERT_EQ(register_device(bob, {{"deviceId", "android-" + std::to_string(i)},
                                      {"platform", "fcm"},
                                      {"token", "fcm-token:bob-" + std::to_string(i)}})
                    .status,
                200);
  }

  // The push attempts on the call's timeline, as its caller sees them.
  std::vector<json::object> push_events(const std::string& callId) {
    auto r = http(port(), "GET", "/v1/calls/" + callId + "/timeline", "", alice);
    EXPECT_EQ(r.status, 200) << r.raw;
    std::vector<json::object> out;
    if (r.status != 200) return out;
    for (const auto& e : r.body.at("timeline").as_array())
      if (e.at("type") == "push") out.push_back(e.as_object());
    return out;
  }

  // Waits until `count` events match `pred`; returns them.
  std::vector<json::object> await_events(const std::function<bool(const json::object&)>& pred,
                                         std::size_t count = 1,
                                         std::chrono::milliseconds limit = 10s) {
    auto until = Clock::now() + limit;
    for (;;) {
      std::vector<json::object> hits;
      for (auto& e : fake.events())
        if (pred(e.as_object())) hits.push_back(e.as_object());
      if (hits.size() >= count || Clock::now() > until) return hits;
      std::this_thread::sleep_for(20ms);
    }
  }
  // Every request dialtoned made passed the fake's checks.
  void expect_all_valid() {
    for (auto& e : fake.events())
      EXPECT_TRUE(e.at("ok").as_bool())
          << json::serialize(e.at("error")) << " on " << json::serialize(e.at("path"));
  }
  static std::string text(const json::value* v) {
    return v && v->is_string() ? std::string(v->get_string()) : std::string();
  }
  static bool is(const json::object& e, std::string_view service, const std::string& target,
                 std::string_view type = "") {
    if (text(e.if_contains("service")) != service || text(e.if_contains("target")) != target)
      return false;
    if (type.empty()) return true;
    const json::value* body = e.if_contains(service == "fcm" ? "data" : "payload");
    return body && body->is_object() && text(body->get_object().if_contains("type")) == type;
  }
  std::string create_call(WsClient& ws) {
    auto reply = ws.request(op("create", "", {{"receiverId", "bob"}}));
    return call_id(reply);
  }
  json::object await_delivery(WsClient& ws, const std::string& callId, std::int64_t sent,
                              std::int64_t failed) {
    auto m = ws.next(
        [&](const json::object& o) {
          if (o.at("type") != "call" || o.at("call").at("callId") != callId.c_str()) return false;
          const auto* d = o.at("call").as_object().if_contains("delivery");
          return d && d->at("pushSent") == sent && d->at("pushFailed") == failed;
        },
        15s);
    EXPECT_TRUE(m) << "no snapshot with delivery sent=" << sent << " failed=" << failed;
    return m ? m->at("call").as_object() : json::object{};
  }

  FakePushService fake;
  std::unique_ptr<ServerProcess> server;
  std::string alice, bob;
  json::object subscription;
};

TEST_F(PushTest, IncomingCallReachesThreeDevicesOnThreePlatforms) {
  start();
  register_bobs_devices();
  WsClient caller(port(), alice, "alice-laptop");
  std::string id = create_call(caller);

  auto fcm = await_events([&](auto& e) { return is(e, "fcm", kFcmToken, "incoming_call"); });
  auto apns = await_events([&](auto& e) { return is(e, "apns", kVoipToken, "incoming_call"); });
  auto web = await_events(
      [&](auto& e) { return is(e, "webpush", subscription_id(subscription), "incoming_call"); });
  ASSERT_EQ(fcm.size(), 1u);
  ASSERT_EQ(apns.size(), 1u);
  ASSERT_EQ(web.size(), 1u);
  json::object doc = await_delivery(caller, id, 3, 0);
  EXPECT_EQ(doc.at("delivery").at("pushTargets"), 3);
  // Each push is on the call's timeline (device, provider, outcome, latency) and in the log,
  // without its token.
  auto t = push_events(id);
  ASSERT_EQ(t.size(), 3u);
  std::set<std::string> seen;
  for (const auto& e : t) {
    EXPECT_EQ(e.at("outcome"), "delivered");
    EXPECT_EQ(e.at("side"), "server");
    EXPECT_GE(e.at("latencyMs").as_int64(), 0);
    seen.insert(std::string(e.at("provider").as_string()) + "/" +
                std::string(e.at("device").as_string()));
  }
  EXPECT_EQ(seen, (std::set<std::string>{"fcm/android-1", "apns/iphone-1", "webpush/browser-1"}));
  std::string pushLog = server->log();
  std::size_t sent = 0;
  for (auto at = pushLog.find("PUSH_SENT callId=" + id); at != std::string::npos;
       at = pushLog.find("PUSH_SENT callId=" + id, at + 1)) {
    ++sent;
    std::string line = pushLog.substr(at, pushLog.find('\n', at) - at);
    EXPECT_NE(line.find("type=incoming_call"), std::string::npos) << line;
    EXPECT_NE(line.find("outcome=delivered"), std::string::npos) << line;
  }
  EXPECT_EQ(sent, 3u) << pushLog;
  EXPECT_EQ(pushLog.find(kFcmToken), std::string::npos);
  EXPECT_EQ(pushLog.find(kVoipToken), std::string::npos);
  auto deadline = parse_iso_for_test(std::string(doc.at("ringDeadline").as_string()));
  ASSERT_TRUE(deadline);
  auto deadline_s =
      std::chrono::duration_cast<std::chrono::seconds>(deadline->time_since_epoch()).count();
  // The pushes left before this moment, so each TTL (the ring left when it was sent) is at
  // least the ring left now — however slowly a loaded, sanitized run got here — and at most the
  // whole ring.
  auto now_s = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
  auto ring_left_now = deadline_s - now_s - 1;  // (whole seconds, rounded either way)

  // FCM: data-only, the seed's keys as strings, high priority, TTL = the ring left.
  const auto& f = fcm[0];
  EXPECT_TRUE(f.at("notification").is_null());
  const auto& data = f.at("data").as_object();
  EXPECT_EQ(data.at("callId"), id.c_str());
  EXPECT_EQ(data.at("callerId"), "alice");
  EXPECT_EQ(data.at("callerName"), "Alice");
  EXPECT_EQ(data.at("callerPhoto"), "https://example.com/alice.png");
  EXPECT_EQ(data.at("callType"), "audio");
  EXPECT_TRUE(parse_iso_for_test(std::string(data.at("timestamp").as_string())));
  EXPECT_EQ(f.at("android").at("priority"), "high");
  std::string ttl(f.at("android").at("ttl").as_string());
  int ttl_s = std::stoi(ttl);
  EXPECT_GE(ttl_s, ring_left_now);
  EXPECT_LE(ttl_s, 45);
  EXPECT_EQ(f.at("httpVersion"), "2.0");

  // APNs: a VoIP push to the VoIP topic, expiring with the ring.
  const auto& a = apns[0];
  EXPECT_EQ(a.at("pushType"), "voip");
  EXPECT_EQ(a.at("topic"), "com.example.callapp.voip");
  EXPECT_EQ(a.at("priority"), "10");
  EXPECT_EQ(a.at("expiration").as_int64(), deadline_s);
  EXPECT_EQ(a.at("payload").at("callerName"), "Alice");

  // Web Push: decrypted by the fake with the subscription's key; urgent, per-call topic.
  const auto& w = web[0];
  EXPECT_EQ(w.at("urgency"), "high");
  EXPECT_EQ(w.at("topic"), ("call-" + id).c_str());
  EXPECT_GE(w.at("ttl").as_int64(), ring_left_now);
  EXPECT_LE(w.at("ttl").as_int64(), 45);
  EXPECT_EQ(w.at("payload").at("callId"), id.c_str());

  // One OAuth2 token (per node: each fetched its own at start) served every FCM request.
  std::size_t nodes = server->node_count();
  EXPECT_EQ(await_events([](auto& e) { return e.at("service") == "oauth"; }, nodes).size(), nodes);
  expect_all_valid();

  // No secret reaches the log: not the access token, the keys, the provider or VAPID tokens.
  // (A clean exit: under ASan, also no leak in the push thread or libcurl.)
  EXPECT_EQ(server->terminate(), 0) << server->log().substr(0, 4000);
  std::string log = server->log();
  for (const char* secret : {"ya29.", "PRIVATE KEY", "bearer ey", "vapid t="})
    EXPECT_EQ(log.find(secret), std::string::npos) << secret;
}

TEST_F(PushTest, AcceptOnOneDeviceStopsTheOthersWithANonVoipPush) {
  start();
  register_bobs_devices();
  WsClient caller(port(), alice, "alice-laptop");
  WsClient phone(port(), bob, "android-1");
  std::string id = create_call(caller);
  await_delivery(caller, id, 3, 0);
  auto r = phone.request(op("accept", id));
  ASSERT_EQ(state_of(r), "accepted");

  auto apns = await_events([&](auto& e) { return is(e, "apns", kAlertToken, "call_cancelled"); });
  auto web = await_events(
      [&](auto& e) { return is(e, "webpush", subscription_id(subscription), "call_cancelled"); });
  ASSERT_EQ(apns.size(), 1u);
  ASSERT_EQ(web.size(), 1u);
  EXPECT_EQ(apns[0].at("payload").at("reason"), "answered_elsewhere");
  EXPECT_EQ(apns[0].at("pushType"), "background");
  EXPECT_EQ(apns[0].at("topic"), "com.example.callapp");
  EXPECT_EQ(apns[0].at("priority"), "5");
  EXPECT_EQ(web[0].at("payload").at("reason"), "answered_elsewhere");
  EXPECT_EQ(web[0].at("urgency"), "normal");
  EXPECT_EQ(web[0].at("topic"), ("call-" + id).c_str());  // replaces an undelivered ring
  // The answering device gets nothing more; exactly one VoIP push was ever sent.
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(
      await_events([&](auto& e) { return is(e, "fcm", kFcmToken, "call_cancelled"); }, 1, 0ms)
          .empty());
  EXPECT_EQ(await_events([&](auto& e) {
              return e.at("service") == "apns" && e.contains("pushType") &&
                     e.at("pushType") == "voip";
            }).size(),
            1u);
  expect_all_valid();
}

TEST_F(PushTest, DeclineOnOneDeviceStopsTheOthers) {
  start();
  register_bobs_devices();
  WsClient caller(port(), alice, "alice-laptop");
  WsClient browser(port(), bob, "browser-1");
  std::string id = create_call(caller);
  ASSERT_EQ(state_of(browser.request(op("reject", id))), "rejected");
  auto fcm = await_events([&](auto& e) { return is(e, "fcm", kFcmToken, "call_cancelled"); });
  ASSERT_EQ(fcm.size(), 1u);
  EXPECT_EQ(fcm[0].at("data").at("reason"), "declined_elsewhere");
  EXPECT_EQ(fcm[0].at("android").at("priority"), "normal");
  EXPECT_EQ(
      await_events([&](auto& e) { return is(e, "apns", kAlertToken, "call_cancelled"); }).size(),
      1u);
  std::this_thread::sleep_for(300ms);
  EXPECT_TRUE(await_events(
                  [&](auto& e) {
                    return is(e, "webpush", subscription_id(subscription), "call_cancelled");
                  },
                  1, 0ms)
                  .empty());
  expect_all_valid();
}

TEST_F(PushTest, TimeoutStopsRingingAndLeavesAMissedCallNotification) {
  start({"--ring-timeout-s", "2"});
  register_bobs_devices();
  WsClient caller(port(), alice, "alice-laptop");
  std::string id = create_call(caller);
  caller.wait_call(id, "timeout", 10s);
  auto stop = await_events([&](auto& e) { return is(e, "fcm", kFcmToken, "call_cancelled"); });
  auto missed = await_events([&](auto& e) { return is(e, "fcm", kFcmToken, "missed_call"); });
  ASSERT_EQ(stop.size(), 1u);
  ASSERT_EQ(missed.size(), 1u);
  EXPECT_EQ(stop[0].at("data").at("reason"), "timeout");
  EXPECT_EQ(missed[0].at("data").at("callerName"), "Alice");
  EXPECT_EQ(missed[0].at("data").at("reason"), "timeout");
  auto alert = await_events([&](auto& e) { return is(e, "apns", kAlertToken, "missed_call"); });
  ASSERT_EQ(alert.size(), 1u);
  EXPECT_EQ(alert[0].at("pushType"), "alert");
  EXPECT_EQ(alert[0].at("payload").at("aps").at("alert").at("title"), "Missed call");
  EXPECT_EQ(await_events([&](auto& e) {
              return is(e, "webpush", subscription_id(subscription), "missed_call");
            }).size(),
            1u);
  expect_all_valid();
}

TEST_F(PushTest, CallerCancelsWhileRinging) {
  start();
  register_bobs_devices();
  WsClient caller(port(), alice, "alice-laptop");
  std::string id = create_call(caller);
  await_delivery(caller, id, 3, 0);
  ASSERT_EQ(state_of(caller.request(op("end", id))), "ended");
  auto stop = await_events(
      [&](auto& e) { return is(e, "webpush", subscription_id(subscription), "call_cancelled"); });
  ASSERT_EQ(stop.size(), 1u);
  EXPECT_EQ(stop[0].at("payload").at("reason"), "cancelled");
  EXPECT_EQ(await_events([&](auto& e) { return is(e, "fcm", kFcmToken, "missed_call"); }).size(),
            1u);
  expect_all_valid();
}

TEST_F(PushTest, RetriesAfter503HonouringRetryAfter) {
  start();
  register_bobs_devices();
  fake.script(
      kFcmToken,
      json::array{json::object{
          {"status", 503},
          {"headers", json::object{{"retry-after", "1"}}},
          {"body",
           json::object{{"error", json::object{{"code", 503}, {"status", "UNAVAILABLE"}}}}}}});
  WsClient caller(port(), alice, "alice-laptop");
  std::string id = create_call(caller);
  auto tries = await_events([&](auto& e) { return is(e, "fcm", kFcmToken, "incoming_call"); }, 2);
  ASSERT_EQ(tries.size(), 2u);
  EXPECT_EQ(tries[0].at("status"), 503);
  EXPECT_EQ(tries[1].at("status"), 200);
  EXPECT_GE(tries[1].at("at").as_int64() - tries[0].at("at").as_int64(), 1000)
      << "the retry waited for Retry-After";
  await_delivery(caller, id, 3, 0);
  auto metrics = server->metrics();
  EXPECT_NE(metrics.find(R"(dialtone_push_total{provider="fcm",outcome="retried"} 1)"),
            std::string::npos);
  expect_all_valid();
}

TEST_F(PushTest, AnExpiredAccessTokenIsRenewedOnce) {
  start();
  register_bobs_devices();
  fake.script(
      kFcmToken,
      json::array{json::object{
          {"status", 401},
          {"body",
           json::object{{"error", json::object{{"code", 401}, {"status", "UNAUTHENTICATED"}}}}}}});
  WsClient caller(port(), alice, "alice-laptop");
  std::string id = create_call(caller);
  await_delivery(caller, id, 3, 0);
  // Each node's token from its start, and one renewal by the node that was refused.
  std::size_t fetches = server->node_count() + 1;
  EXPECT_EQ(await_events([](auto& e) { return e.at("service") == "oauth"; }, fetches).size(),
            fetches);
  expect_all_valid();
}

// The FCM access token is fetched when dialtoned starts, not when the first call needs it: a
// burst of calls right after a start does not wait for it, and a wrong service account shows in
// the log at once (PUSH_AUTH_FAILED) rather than at the first call.
TEST_F(PushTest, TheAccessTokenIsFetchedAtStartNotAtTheFirstCall) {
  start();
  std::size_t nodes = server->node_count();  // each node fetches its own
  auto fetched = await_events([](auto& e) { return e.at("service") == "oauth"; }, nodes);
  ASSERT_EQ(fetched.size(), nodes) << "no token fetched before any push";
  register_bobs_devices();
  WsClient caller(port(), alice, "alice-laptop");
  std::string id = create_call(caller);
  await_delivery(caller, id, 3, 0);
  // The push used that token: no second fetch.
  EXPECT_EQ(
      await_events([](auto& e) { return e.at("service") == "oauth"; }, nodes + 1, 300ms).size(),
      nodes);
  expect_all_valid();
}

// A provider going away in the middle of a burst (GOAWAY, as APNs and FCM do for maintenance):
// the requests it refused are sent again on a new connection, and every phone rings.
TEST_F(PushTest, AProviderGoingAwayMidBurstLosesNoPush) {
  start();
  register_phones(20);
  fake.mode({{"goawayAfter", 4}});
  WsClient caller(port(), alice, "alice-laptop");
  std::string id = create_call(caller);
  await_delivery(caller, id, 20, 0);
  std::set<std::int64_t> connections;
  for (int i = 0; i < 20; ++i) {
    std::string target = "fcm-token:bob-" + std::to_string(i);
    auto got = await_events(
        [&](auto& e) { return is(e, "fcm", target, "incoming_call") && e.at("status") == 200; });
    EXPECT_FALSE(got.empty()) << target << " got no incoming-call push";
    for (auto& e : got) connections.insert(e.at("connection").as_int64());
  }
  EXPECT_GE(connections.size(), 2u) << "the provider never went away";
  expect_all_valid();
  fake.mode({{"goawayAfter", 0}});
}

TEST_F(PushTest, DeadTokensAreForgotten) {
  start();
  register_bobs_devices();
  auto gone = [](int status, json::object body) {
    return json::array{json::object{{"status", status}, {"body", std::move(body)}}};
  };
  fake.script(
      kFcmToken,
      gone(404, {{"error", json::object{{"code", 404},
                                        {"status", "NOT_FOUND"},
                                        {"details", json::array{json::object{
                                                        {"@type",
                                                         "type.googleapis.com/"
                                                         "google.firebase.fcm.v1.FcmError"},
                                                        {"errorCode", "UNREGISTERED"}}}}}}}));
  fake.script(kVoipToken, gone(410, {{"reason", "Unregistered"}, {"timestamp", 1}}));
  fake.script(subscription_id(subscription), gone(410, {}));
  WsClient caller(port(), alice, "alice-laptop");
  std::string id = create_call(caller);
  await_delivery(caller, id, 0, 3);
  for (const auto& e : push_events(id)) EXPECT_EQ(e.at("outcome"), "dead_token");
  auto summary = http(port(), "GET", "/v1/calls/" + id + "/timeline", "", alice).body.at("summary");
  EXPECT_EQ(summary.at("pushes").at("failed"), 3) << json::serialize(summary);
  // The store no longer has them (the engine applies deletions in order, so poll briefly).
  auto until = Clock::now() + 5s;
  json::value devices;
  do {
    devices = http(port(), "GET", "/v1/devices", "", bob).body.at("devices");
    if (devices.as_array().empty()) break;
    std::this_thread::sleep_for(20ms);
  } while (Clock::now() < until);
  EXPECT_TRUE(devices.as_array().empty()) << json::serialize(devices);
  // The next call pushes to nobody.
  ASSERT_EQ(state_of(caller.request(op("end", id))), "ended");
  std::size_t before = fake.events().size();
  std::string second = create_call(caller);
  auto doc = caller.wait_call(second, "calling");
  EXPECT_FALSE(doc.contains("delivery"));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(fake.events().size(), before);
}

// Every push service refuses: the call times out, and its summary says why nobody answered.
TEST_F(PushTest, AFailingProviderIsTheLikelyCauseOfAMissedCall) {
  start({"--ring-timeout-s", "2"});
  register_bobs_devices();
  auto refuse = json::array{json::object{
      {"status", 400},
      {"body", {{"error", {{"code", 400}, {"status", "INVALID_ARGUMENT"}, {"message", "bad"}}}}}}};
  for (const auto& token : {kFcmToken, kVoipToken, subscription_id(subscription)})
    fake.script(token, refuse);
  WsClient caller(port(), alice, "alice-laptop");
  std::string id = create_call(caller);
  caller.wait_call(id, "timeout", 10s);
  auto until = Clock::now() + 5s;
  json::value summary;
  do {
    summary = http(port(), "GET", "/v1/calls/" + id + "/timeline", "", alice).body.at("summary");
    if (summary.at("pushes").at("failed").as_int64() == 3) break;
    std::this_thread::sleep_for(50ms);
  } while (Clock::now() < until);
  EXPECT_EQ(summary.at("state"), "timeout");
  EXPECT_EQ(summary.at("pushes").at("failed"), 3) << json::serialize(summary);
  EXPECT_EQ(summary.at("pushes").at("delivered"), 0);
  std::string cause(summary.at("likelyCause").as_string());
  EXPECT_EQ(cause.rfind("Bob's devices could not be woken: push failed (", 0), 0u) << cause;
  for (const auto& e : push_events(id)) EXPECT_NE(e.at("outcome"), "delivered");
}

TEST_F(PushTest, AHangingPushServiceDoesNotDelaySignaling) {
  // Long enough that the call's whole life fits inside the hung request even on a loaded machine
  // under the sanitizers (ringing → accept → end took 2.4 s there beside the field labs).
  start({"--push-timeout-s", "6"});
  register_bobs_devices();
  fake.script(kFcmToken, json::array{json::object{{"hang", true}}});
  WsClient caller(port(), alice, "alice-laptop");
  WsClient browser(port(), bob, "browser-1");

  auto t0 = Clock::now();
  std::string id = create_call(caller);
  auto created = Clock::now();
  // FCM has the incoming-call push and does not answer.
  auto until = Clock::now() + 10s;
  while (fake.pending() < 1 && Clock::now() < until) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(fake.pending(), 1);
  auto t1 = Clock::now();
  browser.wait_call(id, "calling");
  ASSERT_EQ(state_of(browser.request(op("ringing", id))), "ringing");
  ASSERT_EQ(state_of(browser.request(op("accept", id))), "accepted");
  caller.wait_call(id, "accepted");
  ASSERT_EQ(state_of(caller.request(op("end", id))), "ended");
  auto done = Clock::now();
  // All of that happened while FCM still held the incoming-call push open.
  EXPECT_EQ(fake.pending(), 1);
  auto ms = [](auto d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  std::printf(
      "create answered in %lld ms; ringing → accept → end in %lld ms while the FCM "
      "request hung\n",
      static_cast<long long>(ms(created - t0)), static_cast<long long>(ms(done - t1)));
  // The hung request times out (push_timeout_s); the call no longer rings, so it is not retried:
  // no device is woken for a call that is gone.
  const char* dropped = R"(dialtone_push_total{provider="fcm",outcome="cancelled"} 1)";
  auto m = server->metrics();
  until = Clock::now() + 15s;
  while (m.find(dropped) == std::string::npos && Clock::now() < until) {
    std::this_thread::sleep_for(50ms);
    m = server->metrics();
  }
  EXPECT_NE(m.find(dropped), std::string::npos) << m;
  EXPECT_EQ(await_events([&](auto& e) { return is(e, "fcm", kFcmToken, "incoming_call"); }, 2, 0ms)
                .size(),
            1u);
  expect_all_valid();
}

TEST_F(PushTest, ConcurrencyIsBounded) {
  start({"--push-concurrency", "1", "--push-timeout-s", "2"});
  register_bobs_devices();
  // With one request in flight at a time, a hung FCM request holds the others back until it
  // times out; then they go (and the ring is still on, so FCM is tried again too).
  fake.script(kFcmToken, json::array{json::object{{"hang", true}}});
  WsClient caller(port(), alice, "alice-laptop");
  std::string id = create_call(caller);
  auto until = Clock::now() + 10s;
  while (fake.pending() < 1 && Clock::now() < until) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(fake.pending(), 1);
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(fake.pending(), 1);
  auto others = [&](auto& e) { return e.at("service") == "apns" || e.at("service") == "webpush"; };
  EXPECT_TRUE(await_events(others, 1, 0ms).empty()) << "nothing else was in flight";
  EXPECT_EQ(await_events(others, 2).size(), 2u);
  await_delivery(caller, id, 3, 0);
  expect_all_valid();
}

// A slot freed by an answer is used at once: with two requests at a time and a provider that
// answers at once, six pushes leave one pair after another, not one pair per poll tick (they
// used to leave at 0, 1 and 2 s).
TEST_F(PushTest, AFreedSlotIsUsedAtOnce) {
  start({"--push-concurrency", "2"});
  register_phones(6);
  WsClient caller(port(), alice, "alice-laptop");
  auto created = Clock::now();
  std::string id = create_call(caller);
  await_delivery(caller, id, 6, 0);
  auto delivered = Clock::now();
  auto sent = await_events([](auto& e) { return e.at("service") == "fcm"; }, 6);
  ASSERT_EQ(sent.size(), 6u);
  std::int64_t first = sent.front().at("at").as_int64(), last = sent.back().at("at").as_int64();
  // The fake answers at once: three rounds of two on one connection take milliseconds. A poll
  // tick (1 s) between rounds is what this catches; 400 ms leaves room for a loaded machine.
  EXPECT_LT(last - first, 400) << "the pushes left " << (last - first) << " ms apart";
  EXPECT_LT(delivered - created, 1500ms) << "every answer was acted on late";
  expect_all_valid();
}

// Incoming-call pushes go before queued stop-ringing and missed-call pushes: a phone must ring
// while its call does. One request at a time, held by a hung push; meanwhile Bob's call ends
// (his stop-ringing and missed-call pushes queue) and then Carol is called: when the slot frees,
// Carol's incoming call goes first.
TEST_F(PushTest, IncomingCallsGoBeforeOtherPushes) {
  start({"--push-concurrency", "1", "--push-timeout-s", "2"});
  std::string carol = dev_token(port(), "carol");
  ASSERT_EQ(
      register_device(bob, {{"deviceId", "android-1"}, {"platform", "fcm"}, {"token", kFcmToken}})
          .status,
      200);
  const std::string carolsToken = "fcm-token:carol-android-1";
  ASSERT_EQ(register_device(
                carol, {{"deviceId", "android-1"}, {"platform", "fcm"}, {"token", carolsToken}})
                .status,
            200);
  fake.script(kFcmToken, json::array{json::object{{"hang", true}}});
  WsClient caller(port(), alice, "alice-laptop");
  std::string toBob = create_call(caller);
  auto until = Clock::now() + 10s;
  while (fake.pending() < 1 && Clock::now() < until) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(fake.pending(), 1);
  caller.request(op("end", toBob));  // Bob's stop-ringing and missed-call pushes queue
  std::this_thread::sleep_for(200ms);
  auto toCarol = caller.request(op("create", "", {{"receiverId", "carol"}}));
  ASSERT_EQ(toCarol.at("ok"), true);
  auto sent = await_events(
      [&](auto& e) {
        return e.at("service") == "fcm" && e.at("status") != "hung" &&
               (is(e, "fcm", carolsToken) || is(e, "fcm", kFcmToken));
      },
      3);
  ASSERT_GE(sent.size(), 3u);
  EXPECT_TRUE(is(sent[0], "fcm", carolsToken, "incoming_call"))
      << "first after the slot freed: " << json::serialize(sent[0].at("data"));
  expect_all_valid();
}

// Several answers arriving together on one HTTP/2 connection are all acted on at once (those a
// perform completed used to wait for the next poll, up to a second).
TEST_F(PushTest, AnswersArrivingTogetherAreActedOnAtOnce) {
  start();
  register_phones(8);
  WsClient caller(port(), alice, "alice-laptop");
  // The first call opens the connection and fetches the access token; the ones after find both.
  for (int round = 0; round < 3; ++round) {
    auto created = Clock::now();
    std::string id = create_call(caller);
    await_delivery(caller, id, 8, 0);
    auto took = Clock::now() - created;
    if (round > 0) {
      EXPECT_LT(took, 600ms) << "round " << round << ": eight answers acted on after "
                             << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                             << " ms";
    }
    caller.request(op("end", id));
  }
  expect_all_valid();
}

// The durable outbox: a push still waiting for its answer when the server dies is sent again by
// the next run while the call still rings; the ones already answered are not.
TEST_F(PushTest, APushPendingAtAKill9IsSentAfterTheRestartWhileTheCallRings) {
  // A short lease, for the cluster runs of this suite (a node there waits for it to run out).
  start({"--push-lease-s", "3", "--presence-grace-s", "60"});
  register_bobs_devices();
  fake.script(kFcmToken, json::array{json::object{{"hang", true}}});
  WsClient caller(port(), alice, "alice-laptop");
  WsClient browser(port(), bob, "browser-1");
  std::string id = create_call(caller);
  auto until = Clock::now() + 10s;
  while (fake.pending() < 1 && Clock::now() < until) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(fake.pending(), 1);
  // APNs and Web Push answered; FCM holds its request. Once an op that follows the two answers
  // is committed, so are their outbox rows' deletions (the store thread keeps their order).
  await_delivery(caller, id, 2, 0);
  ASSERT_EQ(state_of(browser.request(op("ringing", id))), "ringing");
  auto incoming = [&](std::string_view service, const std::string& target) {
    return await_events(
               [&](auto& e) {
                 return is(e, service, target, "incoming_call") &&
                        e.at(service == "fcm" ? "data" : "payload").at("callId") == id.c_str();
               },
               2, 0ms)
        .size();
  };
  ASSERT_EQ(incoming("fcm", kFcmToken), 1u);

  server->kill9();
  caller.close();
  browser.close();
  server->start();
  // The FCM push is sent again (this time FCM answers) and counted into the call's delivery.
  auto fcm = await_events(
      [&](auto& e) { return is(e, "fcm", kFcmToken, "incoming_call") && e.at("ok").as_bool(); }, 2,
      15s);
  ASSERT_EQ(fcm.size(), 2u) << server->log();
  EXPECT_EQ(fcm[1].at("data").at("callId"), id.c_str());
  EXPECT_EQ(incoming("apns", kVoipToken), 1u) << "answered before the kill: not sent again";
  EXPECT_EQ(incoming("webpush", subscription_id(subscription)), 1u);
  WsClient again(port(), alice, "alice-laptop");
  auto doc = await_delivery(again, id, 3, 0);
  EXPECT_EQ(doc.at("state"), "ringing");
  EXPECT_NE(server->metrics().find("dialtone_push_taken_over_total 1"), std::string::npos);
  EXPECT_NE(server->log().find("PUSH_TAKEN_OVER count=1"), std::string::npos);
  // Its row went with its answer: a second restart sends nothing again.
  server->terminate();
  server->start();
  WsClient third(port(), alice, "alice-laptop");
  ASSERT_EQ(state_of(third.request(op("end", id))), "ended");
  std::string log = server->log();  // of the three runs
  auto first = log.find("PUSH_TAKEN_OVER");
  EXPECT_EQ(log.find("PUSH_TAKEN_OVER", first + 1), std::string::npos) << log;
  expect_all_valid();
}

TEST_F(PushTest, RegistrationRejectsBadInputAndChangesNothing) {
  start();
  std::vector<json::object> bad = {
      {{"platform", "fcm"}, {"token", "x"}},
      {{"deviceId", "d1"}, {"platform", "sms"}, {"token", "x"}},
      {{"deviceId", "d1"}, {"platform", "fcm"}},
      {{"deviceId", "d1"}, {"platform", "fcm"}, {"token", "has space"}},
      {{"deviceId", "d1"}, {"platform", "apns"}, {"token", "not-hex"}},
      {{"deviceId", "d1"}, {"platform", "apns"}, {"token", kVoipToken}, {"environment", "dev"}},
      {{"deviceId", "d1"}, {"platform", "webpush"}, {"subscription", "x"}},
      {{"deviceId", "d1"},
       {"platform", "webpush"},
       {"subscription", json::object{{"endpoint", "https://10.0.0.1/internal"},
                                     {"keys", fake.subscribe("x").at("keys")}}}},
  };
  for (auto& b : bad) {
    auto r = register_device(bob, b);
    EXPECT_EQ(r.status, 400) << json::serialize(b);
    EXPECT_EQ(r.body.at("error").at("code"), "bad_request");
  }
  EXPECT_EQ(http(port(), "POST", "/v1/devices", "{", bob).status, 400);
  EXPECT_EQ(http(port(), "POST", "/v1/devices", "{}").status, 401);
  EXPECT_TRUE(http(port(), "GET", "/v1/devices", "", bob).body.at("devices").as_array().empty());
  EXPECT_EQ(http(port(), "DELETE", "/v1/devices/nope", "", bob).status, 404);

  // A good one, listed, then deleted; another user cannot delete it.
  ASSERT_EQ(
      register_device(bob, {{"deviceId", "d1"}, {"platform", "fcm"}, {"token", kFcmToken}}).status,
      200);
  auto list = http(port(), "GET", "/v1/devices", "", bob).body.at("devices").as_array();
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].at("platform"), "fcm");
  EXPECT_EQ(http(port(), "DELETE", "/v1/devices/d1", "", alice).status, 404);
  EXPECT_EQ(http(port(), "DELETE", "/v1/devices/d1", "", bob).status, 200);
  EXPECT_TRUE(http(port(), "GET", "/v1/devices", "", bob).body.at("devices").as_array().empty());
}

// An iPhone registered without an APNs environment is listed with the one it is pushed in: the
// server's configured default (never `null`).
TEST_F(PushTest, AnIphoneWithoutAnEnvironmentIsListedWithTheConfiguredOne) {
  start({"--apns-environment", "sandbox"});
  ASSERT_EQ(
      register_device(bob, {{"deviceId", "iphone-1"}, {"platform", "apns"}, {"token", kVoipToken}})
          .status,
      200);
  ASSERT_EQ(register_device(bob, {{"deviceId", "iphone-2"},
                                  {"platform", "apns"},
                                  {"token", std::string(64, 'c') + "03"},
                                  {"environment", "production"}})
                .status,
            200);
  std::map<std::string, std::string> env;
  auto listed = http(port(), "GET", "/v1/devices", "", bob);
  for (const auto& d : listed.body.at("devices").as_array())
    env[std::string(d.at("deviceId").as_string())] = json::serialize(d.at("environment"));
  EXPECT_EQ(env["iphone-1"], "\"sandbox\"");
  EXPECT_EQ(env["iphone-2"], "\"production\"");
}

TEST_F(PushTest, WithoutCredentialsAPlatformIsRefusedClearly) {
  server = std::make_unique<ServerProcess>();  // no FCM, no APNs; Web Push is always on
  bob = dev_token(server->port(), "bob");
  auto r = register_device(bob, {{"deviceId", "d1"}, {"platform", "fcm"}, {"token", kFcmToken}});
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(std::string(r.body.at("error").at("message").as_string()).find("fcm"),
            std::string::npos);
  std::string vapid(http(port(), "GET", "/v1/info").body.at("vapidPublicKey").as_string());
  EXPECT_EQ(vapid.size(), 87u);  // 65 bytes, base64url
  // The VAPID key is kept in the data dir across restarts.
  server->terminate();
  server->start();
  EXPECT_EQ(http(port(), "GET", "/v1/info").body.at("vapidPublicKey"), vapid.c_str());
}

}  // namespace
}  // namespace dialtone::test
