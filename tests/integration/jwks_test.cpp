// SPDX-License-Identifier: Apache-2.0
// jwks_url against an identity provider that rotates its keys (tests/auth/fake_jwks.mjs, over
// HTTPS with the test CA): the keys are fetched at start, fetched again when a token names a
// new key (the token that does is accepted at once), not fetched again for every forged kid,
// kept when the provider is down or answers nonsense (across a restart too), and fetched again
// when the provider's max-age runs out.
#include <gtest/gtest.h>
#include <signal.h>

#include <thread>

#include "support/harness.hpp"
#include "support/node_service.hpp"

namespace dialtone::test {
namespace {

const std::string kIssuer = "https://securetoken.google.com/dialtone-test";
const std::string kAudience = "dialtone-test";

class FakeJwks {
 public:
  FakeJwks()
      : node_("tests/auth/fake_jwks.mjs", {source_file("tests/push/certs/server.pem"),
                                           source_file("tests/push/certs/server.key")}) {}
  std::string url() const {
    return "https://127.0.0.1:" + std::to_string(node_.port(0)) + "/jwks.json";
  }
  json::value control(const std::string& what, json::object body = {}) {
    auto r = control_http(node_.port(1), "POST", "/control/" + what, json::serialize(body));
    EXPECT_EQ(r.status, 200) << what;
    return r.body;
  }
  std::string rotate(bool retire) {
    return std::string(control("rotate", {{"retire", retire}}).at("kid").as_string());
  }
  std::string token(const std::string& user, json::object extra = {}) {
    extra["sub"] = user;
    extra["iss"] = kIssuer;
    extra["aud"] = kAudience;
    return std::string(control("token", extra).at("token").as_string());
  }
  void mode(const std::string& m, int maxAge = 3600) {
    control("mode", {{"mode", m}, {"maxAge", maxAge}});
  }
  std::int64_t fetches() { return control("stats").at("fetches").as_int64(); }

 private:
  NodeService node_;
};

std::vector<std::string> flags(const FakeJwks& idp) {
  return {
      "--jwks-url",           idp.url(), "--jwks-ca-file", source_file("tests/push/certs/ca.pem"),
      "--jwt-issuer",         kIssuer,   "--jwt-audience", kAudience,
      "--jwks-min-refresh-s", "1"};
}

int me(ServerProcess& server, const std::string& user, const std::string& token) {
  return http(server.port(), "GET", "/v1/users/" + user, "", token).status;
}

// Polls `done` (10 ms apart) for up to `limit`.
bool eventually(const std::function<bool()>& done, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(JwksUrl, FollowsTheProvidersRotation) {
  FakeJwks idp;
  ServerProcess server(flags(idp));
  EXPECT_EQ(idp.fetches(), 1);  // before the port opened
  EXPECT_EQ(me(server, "alice", idp.token("alice")), 200);
  EXPECT_EQ(idp.fetches(), 1);

  // The provider starts signing with a new key: the first token that names it is accepted,
  // after one fetch.
  idp.rotate(false);
  EXPECT_EQ(me(server, "bob", idp.token("bob")), 200) << server.log();
  EXPECT_EQ(idp.fetches(), 2);
  EXPECT_EQ(me(server, "bob", idp.token("bob")), 200);
  EXPECT_EQ(idp.fetches(), 2);

  // Tokens signed by keys the provider never published, each with a new kid: refused, and they
  // cost the provider at most one fetch per jwks_min_refresh_s (1 s here).
  auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < 8; ++i)
    EXPECT_EQ(me(server, "mallory", idp.token("mallory", {{"unpublished", true}})), 401);
  auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - began)
          .count();
  EXPECT_LE(idp.fetches(), 2 + 1 + seconds);

  // The same over a WebSocket's token renewal (op auth): the new key's token renews in place.
  WsClient ws(server.port(), idp.token("carol"));
  std::string kid = idp.rotate(true);  // and the old keys leave the JWKS
  auto r = ws.request({{"op", "auth"}, {"token", idp.token("carol")}});
  EXPECT_EQ(r.at("ok"), true) << json::serialize(r);
  // A key that left the JWKS stays trusted for key_rotation_overlap_s (tokens already handed
  // out keep working).
  EXPECT_EQ(me(server, "alice", idp.token("alice", {{"kid", "k1"}})), 200);
}

TEST(JwksUrl, KeepsTheLastGoodKeysWhenTheProviderFails) {
  FakeJwks idp;
  ServerProcess server(flags(idp));
  std::string token = idp.token("alice");
  ASSERT_EQ(me(server, "alice", token), 200);

  // Down (503), then answering a login page: each fetch fails, the keys stay.
  for (const char* m : {"down", "garbage"}) {
    idp.mode(m);
    std::int64_t before = idp.fetches();
    ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
    ASSERT_TRUE(eventually([&] {
      return occurrences(server.log(), "JWKS_FETCH_FAILED") >= (std::string(m) == "down" ? 1u : 2u);
    })) << server.log();
    EXPECT_GT(idp.fetches(), before);
    EXPECT_EQ(me(server, "alice", token), 200) << m;
  }
  EXPECT_NE(server.metrics().find("dialtone_jwks_fetches_total{outcome=\"failed\"} 2"),
            std::string::npos);
  EXPECT_NE(server.log().find("keeping_last_good=true"), std::string::npos);

  // Restarted while the provider is still down: the last good set, kept in the data dir.
  server.terminate();
  idp.mode("down");
  server.start();
  EXPECT_EQ(me(server, "alice", token), 200) << server.log();
  EXPECT_NE(server.log().find("JWKS_CACHED keys=1"), std::string::npos);

  // Back up with a short max-age: fetched again when it runs out, unasked.
  idp.mode("up", 1);
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  ASSERT_TRUE(eventually([&] { return occurrences(server.log(), "JWKS_FETCHED") >= 2; }));
  std::int64_t fetched = idp.fetches();
  EXPECT_TRUE(eventually([&] { return idp.fetches() >= fetched + 2; }, 8s))
      << "max-age=1 should bring a fetch about every second";
}

TEST(JwksUrl, StartsWithoutTheProviderAndCatchesUp) {
  FakeJwks idp;
  idp.mode("down");
  auto f = flags(idp);
  f.insert(f.end(), {"--limit-auth-failures-per-min", "100000"});  // the polling below
  ServerProcess server(f);  // starts: the provider may be down at boot
  EXPECT_NE(server.log().find("JWKS_UNAVAILABLE"), std::string::npos);
  std::string token = idp.token("alice");
  EXPECT_EQ(me(server, "alice", token), 401);
  idp.mode("up");
  // The next token with the (unknown) kid brings a fetch once jwks_min_refresh_s has passed.
  EXPECT_TRUE(eventually([&] { return me(server, "alice", token) == 200; })) << server.log();
}

}  // namespace
}  // namespace dialtone::test
