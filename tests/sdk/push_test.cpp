// SPDX-License-Identifier: Apache-2.0
// libdialtone registers the device's push targets under its device id, and the server pushes to
// them: checked against the loopback APNs of tests/push, which verifies what Apple verifies.
#include <gtest/gtest.h>

#include <future>
#include <thread>

#include "sdk/sdk_support.hpp"
#include "support/fake_push.hpp"
#include "support/harness.hpp"

namespace dialtone::test {
namespace {

ClientConfig signaling_only(const ServerProcess& s, const std::string& user,
                            const std::string& device) {
  ClientConfig c;
  c.server = "http://127.0.0.1:" + std::to_string(s.port());
  c.token = dev_token(s.port(), user);
  c.deviceId = device;
  c.media.enabled = false;
  return c;
}

TEST(SdkPush, RegisterUnderTheDeviceIdThenGetWokenAndStopped) {
  FakePushService fake;
  ServerProcess server(fake.server_flags());
  Recorder ra, rb;
  Client alice(signaling_only(server, "alice", "alice-laptop"), ra);
  Client phone(signaling_only(server, "bob", "bob-iphone"), rb);
  const std::string voip = std::string(64, 'c'), alert = std::string(64, 'd');
  std::promise<BoolResult> p;
  phone.register_push({"apns", voip, alert, "production"},
                      [&p](BoolResult res) { p.set_value(std::move(res)); });
  auto done = p.get_future().get();
  ASSERT_TRUE(done.ok()) << done.message;
  auto list = http(server.port(), "GET", "/v1/devices", "", dev_token(server.port(), "bob"));
  ASSERT_EQ(list.body.at("devices").as_array().size(), 1u);
  EXPECT_EQ(list.body.at("devices").at(0).at("deviceId"), "bob-iphone");

  // A second device of Bob's answers: the iPhone is told to stop ringing (regular token).
  Recorder rt;
  Client tablet(signaling_only(server, "bob", "bob-tablet"), rt);
  ASSERT_TRUE(ra.wait_online() && rt.wait_online());
  auto created = alice.start_call("bob").get();
  ASSERT_TRUE(created.ok()) << created.message;
  ASSERT_TRUE(rt.wait_state(CallState::calling));
  // Signaling only (the app brings its own media), and still ringing is reported by itself.
  ASSERT_TRUE(rt.wait_state(CallState::ringing));
  ASSERT_TRUE(tablet.accept(created.value->callId).get().ok());
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  bool woken = false, stopped = false;
  while (!(woken && stopped) && std::chrono::steady_clock::now() < until) {
    for (auto& e : fake.events()) {
      const auto& o = e.as_object();
      if (!o.at("ok").as_bool() || o.at("service") != "apns") continue;
      if (o.at("target") == voip.c_str() && o.at("pushType") == "voip") woken = true;
      if (o.at("target") == alert.c_str() && o.at("payload").at("reason") == "answered_elsewhere")
        stopped = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_TRUE(woken);
  EXPECT_TRUE(stopped);

  for (ErrorCode want : {ErrorCode::ok, ErrorCode::not_found}) {  // the second finds nothing
    std::promise<BoolResult> q;
    phone.unregister_push([&q](BoolResult res) { q.set_value(std::move(res)); });
    EXPECT_EQ(q.get_future().get().code, want);
  }
  EXPECT_TRUE(http(server.port(), "GET", "/v1/devices", "", dev_token(server.port(), "bob"))
                  .body.at("devices")
                  .as_array()
                  .empty());
}

TEST(SdkPush, ClearErrors) {
  ServerProcess server;  // no FCM credentials
  Recorder rec;
  Client anonymous(signaling_only(server, "carol", ""), rec);
  auto no_device =
      std::async([&] {
        std::promise<BoolResult> p;
        anonymous.register_push({"fcm", "tok", "", ""}, [&p](BoolResult r) { p.set_value(r); });
        return p.get_future().get();
      }).get();
  EXPECT_EQ(no_device.code, ErrorCode::bad_request);
  EXPECT_NE(no_device.message.find("deviceId"), std::string::npos);

  Client phone(signaling_only(server, "carol", "carol-phone"), rec);
  std::promise<BoolResult> p;
  phone.register_push({"fcm", "tok", "", ""}, [&p](BoolResult r) { p.set_value(r); });
  auto refused = p.get_future().get();
  EXPECT_EQ(refused.code, ErrorCode::bad_request);
  EXPECT_NE(refused.message.find("fcm"), std::string::npos) << refused.message;
}

}  // namespace
}  // namespace dialtone::test
