// SPDX-License-Identifier: Apache-2.0
// Secrets: read from owner-only files, rotated on SIGHUP (JWT keys with an overlap; the TURN
// secret, with coturn knowing both during the change), and never written to a log, an answer or
// an error message — even at debug level (the harness's), even when a reload fails.
#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "auth/jwt.hpp"
#include "core/time.hpp"
#include "server/turn_credentials.hpp"
#include "support/coturn.hpp"
#include "support/fake_push.hpp"
#include "support/harness.hpp"
#include "support/tls_files.hpp"

namespace dialtone::test {
namespace {

namespace fs = std::filesystem;

struct SecretDir {
  std::string dir = fs::temp_directory_path() / ("dt-secrets-" + std::to_string(::getpid()) + "-" +
                                                 std::to_string(std::rand()));
  SecretDir() { fs::create_directories(dir); }
  ~SecretDir() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  // Writes `text` to `name`, owner-only; returns the path.
  std::string write(const std::string& name, const std::string& text) {
    std::string path = dir + "/" + name;
    {
      std::ofstream f(path, std::ios::trunc);
      f << text;
    }
    fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
    return path;
  }
};

std::string hs256(const std::string& secret, const std::string& user) {
  TrustedKey k{JwtAlg::HS256, "", secret, nullptr};
  return sign_jwt(JwtAlg::HS256, k,
                  json::object{{"sub", user}, {"name", user}, {"exp", now_ms() / 1000 + 600}});
}

// Sends SIGHUP and waits until the server says the reload is done (`n`-th time).
void reload(ServerProcess& server, int n) {
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  auto count = [&] {
    std::string log = server.log();
    int c = 0;
    for (auto at = log.find("RELOAD_DONE"); at != std::string::npos;
         at = log.find("RELOAD_DONE", at + 1))
      ++c;
    return c;
  };
  while (count() < n && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(10ms);
  ASSERT_GE(count(), n) << server.log();
}

TEST(Secrets, JwtKeysRotateWithAnOverlap) {
  SecretDir d;
  const std::string oldKey(40, 'o'), newKey(40, 'n');
  std::string file = d.write("jwt.secret", oldKey + "\n");
  ServerProcess server({"--jwt-hs256-secret-file", file, "--key-rotation-overlap-s", "2"});
  std::string before = hs256(oldKey, "alice");
  EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", before).status, 200);
  EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", hs256(newKey, "bob")).status, 401);

  d.write("jwt.secret", newKey + "\n");
  reload(server, 1);
  TimeMs rotatedAt = now_ms();
  // Both are good during the overlap…
  EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", before).status, 200);
  EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", hs256(newKey, "bob")).status, 200);
  WsClient alice(server.port(), before);  // a session made with the old key
  // …then only the new one.
  std::this_thread::sleep_for(std::chrono::milliseconds(2100 - (now_ms() - rotatedAt)));
  EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", before).status, 401);
  EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", hs256(newKey, "bob")).status, 200);
  EXPECT_EQ(alice.request({{"op", "end"}, {"callId", "x"}}).at("error").at("code"), "not_found")
      << "a session already open stays open";

  // A broken file keeps the keys in use and says so.
  d.write("jwt.secret", "short\n");
  reload(server, 2);
  EXPECT_NE(server.log().find("RELOAD_FAILED what=jwt_keys"), std::string::npos);
  EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", hs256(newKey, "bob")).status, 200);
  for (const auto& s : {oldKey, newKey}) EXPECT_EQ(server.log().find(s), std::string::npos);
}

TEST(Secrets, TurnSecretRotatesWhileCoturnKnowsBoth) {
  SecretDir d;
  const std::string oldSecret = "turn-old-7f3a9c1e", newSecret = "turn-new-2b8d4e6f";
  CoturnProcess turn(std::vector<std::string>{oldSecret, newSecret});
  std::string file = d.write("turn.secret", oldSecret + "\n");
  ServerProcess server({"--turn-urls", turn.url(), "--turn-secret-file", file});
  std::string token = dev_token(server.port(), "alice");
  auto mint = [&] {
    auto r = http(server.port(), "GET", "/v1/turn-credentials", "", token);
    auto& ice = r.body.at("iceServers").as_array()[0].as_object();
    return std::pair{std::string(ice.at("username").as_string()),
                     std::string(ice.at("credential").as_string())};
  };
  auto [u1, c1] = mint();
  EXPECT_EQ(c1, turn_password(oldSecret, u1));
  d.write("turn.secret", newSecret + "\n");
  reload(server, 1);
  auto [u2, c2] = mint();
  EXPECT_EQ(c2, turn_password(newSecret, u2)) << "minted from the new secret";
  // Credentials handed out before and after the change both allocate.
  EXPECT_TRUE(turn_allocation_works(turn.port(), u1, c1)) << turn.log();
  EXPECT_TRUE(turn_allocation_works(turn.port(), u2, c2)) << turn.log();
  for (const auto& s : {oldSecret, newSecret}) EXPECT_EQ(server.log().find(s), std::string::npos);
}

TEST(Secrets, NeverInALogAnAnswerOrAnError) {
  SecretDir d;
  FakePushService push;
  TlsFiles tls('a');
  const std::string jwt = "jwt-secret-9d1c7a44e0b2f6c8a3e5d7b9f1a2c4e6";
  const std::string turnSecret = "turn-secret-5e8b2d7f1c4a";
  const std::string zego = "fa94dd0f974cf2e293728a526b028271";
  std::vector<std::string> flags = {
      "--jwt-hs256-secret-file", d.write("jwt", jwt),  "--turn-urls",
      "turn:127.0.0.1:3478",     "--turn-secret-file", d.write("turn", turnSecret),
      "--zego-app-id",           "1234567890",         "--zego-server-secret-file",
      d.write("zego", zego)};
  for (auto& f : push.server_flags()) flags.push_back(f);
  // The private keys' bodies (the line after the PEM header) must not show anywhere either.
  auto key_line = [](const std::string& path) {
    std::ifstream f(path);
    std::string line;
    std::getline(f, line);
    std::getline(f, line);
    return line;
  };
  std::vector<std::string> secrets = {jwt, turnSecret, zego};
  std::string serviceAccount, apnsKey;
  for (std::size_t i = 0; i + 1 < flags.size(); ++i) {
    if (flags[i] == "--fcm-service-account-file") serviceAccount = flags[i + 1];
    if (flags[i] == "--apns-key-file") apnsKey = flags[i + 1];
  }
  secrets.push_back(key_line(apnsKey));
  {
    std::ifstream f(serviceAccount);
    std::string text((std::istreambuf_iterator<char>(f)), {});
    auto pk = json::parse(text).at("private_key").as_string();
    std::string pem(pk);
    secrets.push_back(pem.substr(pem.find('\n') + 1, 40));
  }

  {
    ServerProcess server(flags);
    std::string vapid = key_line(server.data_dir() + "/data/vapid.pem");
    secrets.push_back(vapid);
    std::string alice = hs256(jwt, "alice"), bob = hs256(jwt, "bob");
    EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", alice).status, 200);
    EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", bob).status, 200);
    std::vector<HttpResult> answers;
    answers.push_back(http(server.port(), "GET", "/v1/users", "", hs256("not-" + jwt, "alice")));
    answers.push_back(http(server.port(), "GET", "/v1/turn-credentials", "", alice));
    answers.push_back(http(server.port(), "GET", "/v1/info"));
    answers.push_back(http(server.port(), "GET", "/metrics"));
    WsClient a(server.port(), alice), b(server.port(), bob);
    std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
    b.request(op("accept", id));
    answers.push_back(http(server.port(), "POST", "/v1/zego-token",
                           json::serialize(json::object{{"callId", id}}), alice));
    // A reload that fails on every secret.
    d.write("jwt", "short");
    d.write("zego", "not-32-characters");
    fs::permissions(d.dir + "/turn", fs::perms::owner_read | fs::perms::others_read);
    reload(server, 1);
    std::string log = server.log();
    for (const auto& s : secrets) {
      EXPECT_EQ(log.find(s), std::string::npos) << "in the log: " << s;
      for (const auto& r : answers)
        EXPECT_EQ(r.raw.find(s), std::string::npos) << "in an answer: " << s;
    }
  }
  // Nor in the errors of a start that fails.
  d.write("jwt", jwt + "\n");
  std::string open = d.write("open-turn", turnSecret);
  fs::permissions(open, fs::perms::owner_read | fs::perms::others_read);
  const std::string shortJwt = "short-jwt-3f9a7c2e1b", badZego = zego + "x";
  for (auto args : std::vector<std::vector<std::string>>{
           {"--jwt-hs256-secret", shortJwt},
           {"--turn-urls", "turn:a:1", "--turn-secret-file", open},
           {"--zego-app-id", "1", "--zego-server-secret", badZego}}) {
    auto [code, err] = run_dialtoned(args);
    EXPECT_EQ(code, 2) << err;
    for (const auto& s : secrets) EXPECT_EQ(err.find(s), std::string::npos) << err;
    for (const auto& s : {shortJwt, badZego, zego})
      EXPECT_EQ(err.find(s), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace dialtone::test
