// SPDX-License-Identifier: Apache-2.0
// The SDK against an https:// dialtoned: WebSocket and HTTP over TLS with the certificate
// verified (a private CA given as caFile; by IP address and by host name), a whole call with
// audio, and no connection at all to a server whose certificate it cannot verify.
#include <gtest/gtest.h>

#include "sdk/sdk_support.hpp"
#include "support/harness.hpp"
#include "support/tls_files.hpp"

namespace dialtone::test {
namespace {

const std::string kSecret(40, 's');

ClientConfig tls_config(const std::string& base, const std::string& ca, const std::string& user) {
  ClientConfig c;
  c.server = base;
  c.caFile = ca;
  c.token = issuer_token(kSecret, user);
  c.deviceId = user + "-dev";
  c.media.input = "tone:" + std::string(user == "alice" ? "440" : "660");
  c.media.output = "none";
  c.media.iceLocalAddresses = {"127.0.0.1"};
  return c;
}

TEST(SdkTls, ACallOverHttpsWithAPrivateCa) {
  TlsFiles files('a');
  auto flags = files.flags();
  // An open directory: Alice asks whether Bob, a stranger, is busy (the "contacts" default
  // would answer not_found).
  flags.insert(flags.end(), {"--jwt-hs256-secret", kSecret, "--directory", "open"});
  ServerProcess server(flags);
  std::string port = std::to_string(server.port());
  Recorder ra, rb;
  Client alice(tls_config("https://127.0.0.1:" + port, files.ca, "alice"), ra);
  Client bob(tls_config("https://localhost:" + port, files.ca, "bob"), rb);
  ASSERT_TRUE(ra.wait_online() && rb.wait_online());

  auto busy = alice.is_user_busy("bob").get();  // an HTTP request over TLS
  ASSERT_TRUE(busy.ok()) << busy.message;
  EXPECT_FALSE(*busy.value);
  auto created = alice.start_call("bob").get();
  ASSERT_TRUE(created.ok()) << created.message;
  ASSERT_TRUE(rb.wait_state(CallState::calling));
  ASSERT_TRUE(bob.accept(created.value->callId).get().ok());
  ASSERT_TRUE(ra.wait_state(CallState::connected, 20s));
  EXPECT_TRUE(rb.wait_media(MediaEvent::connected));
  ASSERT_TRUE(alice.end(created.value->callId).get().ok());
  EXPECT_TRUE(rb.wait_state(CallState::ended));
}

TEST(SdkTls, AnUnverifiableCertificateIsNeverTalkedTo) {
  TlsFiles files('a');
  auto flags = files.flags();
  flags.insert(flags.end(), {"--jwt-hs256-secret", kSecret});
  ServerProcess server(flags);
  std::string port = std::to_string(server.port());
  Recorder untrusting, wrongName;
  // The system's trust store does not know the test CA.
  Client a(tls_config("https://127.0.0.1:" + port, "", "alice"), untrusting);
  EXPECT_FALSE(untrusting.wait_online(3s));
  auto r = a.is_user_busy("bob").get();
  EXPECT_EQ(r.code, ErrorCode::network);
  // The certificate is for 127.0.0.1 and localhost, not for 127.0.0.2.
  Client b(tls_config("https://127.0.0.2:" + port, files.ca, "bob"), wrongName);
  EXPECT_FALSE(wrongName.wait_online(3s));
  EXPECT_EQ(server.log().find("WS_READ_END"), std::string::npos);
}

}  // namespace
}  // namespace dialtone::test
