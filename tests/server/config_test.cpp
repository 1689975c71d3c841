// SPDX-License-Identifier: Apache-2.0
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>

#include <unistd.h>

#include "server/config.hpp"
#include "server/config_keys.hpp"
#include "support/build_paths.hpp"

namespace dialtone {
namespace {

// Runs load_config on `args`; returns the key named by the error, or "" on success (and the
// error's whole text in `message`).
std::string load(std::vector<std::string> args, Config* out = nullptr,
                 std::string* message = nullptr) {
  args.insert(args.begin(), "dialtoned");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  Config c;
  try {
    load_config(static_cast<int>(argv.size()), argv.data(), c);
  } catch (const ConfigError& e) {
    if (message) *message = e.what();
    return e.key();
  }
  if (out) *out = c;
  return "";
}

// This test process's own directory for the files below (tests run in parallel processes),
// removed when the process ends.
const std::filesystem::path& files_dir() {
  static const struct Dir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("dialtone-config-test-" + std::to_string(::getpid()));
    Dir() { std::filesystem::create_directories(path); }
    ~Dir() {
      std::error_code ec;
      std::filesystem::remove_all(path, ec);
    }
  } dir;
  return dir.path;
}

std::string write_file(const std::string& name, const std::string& text,
                       std::filesystem::perms mode = std::filesystem::perms(0644)) {
  auto p = files_dir() / name;
  std::filesystem::remove(p);
  std::ofstream(p) << text;
  std::filesystem::permissions(p, mode);
  return p.string();
}

// A file only its owner may read (what dialtoned demands of a file that holds a secret).
std::string write_secret(const std::string& name, const std::string& text) {
  return write_file(name, text, std::filesystem::perms(0600));
}

TEST(Config, DefaultsAreTheEmbeddedDefault) {
  Config c;
  ASSERT_EQ(load({}, &c), "");
  EXPECT_EQ(c.listen, "127.0.0.1:8080");
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.ring_timeout_s, 45);
  EXPECT_EQ(c.media_timeout_s, 30);
  EXPECT_EQ(c.presence_grace_s, 20);
  EXPECT_TRUE(c.dev_tokens());
}

TEST(Config, FileThenEnvThenFlags) {
  auto file = write_file(
      "dt-cfg-ok.toml", "ring_timeout_s = 10\nmedia_timeout_s = 11\nlisten = \"127.0.0.1:9000\"\n");
  setenv("DIALTONED_MEDIA_TIMEOUT_S", "12", 1);
  Config c;
  ASSERT_EQ(load({"--config", file, "--listen", "127.0.0.1:9001"}, &c), "");
  unsetenv("DIALTONED_MEDIA_TIMEOUT_S");
  EXPECT_EQ(c.ring_timeout_s, 10);        // file
  EXPECT_EQ(c.media_timeout_s, 12);       // env over file
  EXPECT_EQ(c.listen, "127.0.0.1:9001");  // flag over file
  EXPECT_EQ(c.port(), 9001);
}

TEST(Config, BadValuesNameTheirKey) {
  EXPECT_EQ(load({"--ring-timeout-s", "0"}), "ring_timeout_s");
  EXPECT_EQ(load({"--listen", "nonsense"}), "listen");
  EXPECT_EQ(load({"--listen", "127.0.0.1:99999"}), "listen");
  EXPECT_EQ(load({"--jwt-hs256-secret", "short"}), "jwt_hs256_secret");
  EXPECT_EQ(load({"--jwks-file", "/nonexistent/jwks.json"}), "jwks_file");
  EXPECT_EQ(load({"--config", "/nonexistent.toml"}), "config");
  EXPECT_EQ(load({"--config", write_file("dt-cfg-unknown.toml", "colour = \"red\"\n")}), "colour");
  EXPECT_EQ(load({"--config", write_file("dt-cfg-type.toml", "ring_timeout_s = \"x\"\n")}),
            "ring_timeout_s");
  EXPECT_EQ(load({"--config", write_file("dt-cfg-syntax.toml", "ring_timeout_s = = 3\n")}),
            "config");
  setenv("DIALTONED_PRESENCE_GRACE_S", "abc", 1);
  EXPECT_EQ(load({}), "presence_grace_s");
  unsetenv("DIALTONED_PRESENCE_GRACE_S");
  EXPECT_EQ(load({"--no-such-flag"}), "flags");
  EXPECT_EQ(load({"--metrics-listen", "metrics.example.org:9100"}), "metrics_listen");
  EXPECT_EQ(load({"--metrics-listen", "127.0.0.1"}), "metrics_listen");
  EXPECT_EQ(load({"--metrics-listen", "[::1]:9100"}), "");
  EXPECT_EQ(load({"--metrics-listen", ""}), "metrics_listen");
}

TEST(Config, PushAndZegoKeys) {
  Config c;
  ASSERT_EQ(load({"--zego-app-id", "4294967295", "--zego-server-secret",
                  "fa94dd0f974cf2e293728a526b028271", "--webpush-hosts", "a.example, b.example",
                  "--push-concurrency", "4"},
                 &c),
            "");
  EXPECT_EQ(c.zego_app_id, 4294967295LL);
  EXPECT_EQ(c.webpush_hosts, (std::vector<std::string>{"a.example", "b.example"}));
  EXPECT_EQ(c.push_concurrency, 4);
  EXPECT_EQ(load({"--zego-app-id", "4294967296", "--zego-server-secret",
                  "fa94dd0f974cf2e293728a526b028271"}),
            "zego_app_id");
  EXPECT_EQ(load({"--zego-app-id", "1", "--zego-server-secret", "short"}), "zego_server_secret");
  EXPECT_EQ(load({"--zego-app-id", "1"}), "zego_server_secret");
  EXPECT_EQ(load({"--zego-token-mode", "ecb"}), "zego_token_mode");
  EXPECT_EQ(load({"--apns-key-file", "/nonexistent.p8"}), "apns_key_file");
  auto key = write_secret("dt-apns.p8", "x");
  EXPECT_EQ(load({"--apns-key-file", key, "--apns-key-id", "K"}), "apns_team_id");
  EXPECT_EQ(load({"--apns-environment", "staging"}), "apns_environment");
  EXPECT_EQ(load({"--fcm-service-account-file", "/nonexistent.json"}), "fcm_service_account_file");
  EXPECT_EQ(load({"--fcm-base-url", "ftp://x"}), "fcm_base_url");
  EXPECT_EQ(load({"--vapid-subject", "ops@example.com"}), "vapid_subject");
  EXPECT_EQ(load({"--push-concurrency", "0"}), "push_concurrency");
  EXPECT_EQ(load({"--store", "mysql://db/x"}), "store");
  EXPECT_EQ(load({"--store", "postgresql://u@h/db"}), "");
  EXPECT_EQ(load({"--bus", "nats://127.0.0.1:4222"}), "bus") << "a bus needs a shared store";
  EXPECT_EQ(load({"--store", "postgresql://u@h/db", "--bus", "redis://h"}), "bus");
  EXPECT_EQ(load({"--store", "postgresql://u@h/db", "--bus", "nats://a:4222,"}), "bus");
  EXPECT_EQ(load({"--store", "postgresql://u@h/db", "--bus", "nats://a:4222,nats://b:4222"}), "");
  EXPECT_EQ(load({"--public-urls", "http://a:8080,https://b.example.org"}), "");
  EXPECT_EQ(load({"--public-urls", "ftp://a"}), "public_urls");
  EXPECT_EQ(load({"--public-urls", "http://a:8080/?x=1"}), "public_urls");
  EXPECT_EQ(load({"--config", write_file("dt-cfg-zego.toml", "zego_app_id = \"1\"\n")}),
            "zego_app_id");
  // Values beyond an int are refused, not wrapped around (4294967341 would wrap to 45).
  EXPECT_EQ(load({"--config", write_file("dt-cfg-wrap.toml", "ring_timeout_s = 4294967341\n")}),
            "ring_timeout_s");
  EXPECT_EQ(load({"--config", write_file("dt-cfg-float.toml", "ring_timeout_s = 3e51\n")}),
            "ring_timeout_s");
  setenv("DIALTONED_RING_TIMEOUT_S", "4294967341", 1);
  EXPECT_EQ(load({}), "ring_timeout_s");
  unsetenv("DIALTONED_RING_TIMEOUT_S");
}

TEST(Config, TheSampleConfigIsValidAndHoldsTheDefaults) {
  Config c;
  ASSERT_EQ(
      load({"--config", std::string(dialtone::build_paths::source_dir) + "/conf/dialtoned.toml"},
           &c),
      "");
  Config defaults;
  EXPECT_EQ(c.listen, defaults.listen);
  EXPECT_EQ(c.ring_timeout_s, defaults.ring_timeout_s);
  EXPECT_EQ(c.media_timeout_s, defaults.media_timeout_s);
  EXPECT_EQ(c.presence_grace_s, defaults.presence_grace_s);
  EXPECT_EQ(c.sqlite_synchronous, defaults.sqlite_synchronous);
  EXPECT_EQ(c.apns_environment, defaults.apns_environment);
  EXPECT_EQ(c.push_concurrency, defaults.push_concurrency);
  EXPECT_EQ(c.push_timeout_s, defaults.push_timeout_s);
  EXPECT_EQ(c.zego_token_mode, defaults.zego_token_mode);
  EXPECT_EQ(c.zego_token_ttl_s, defaults.zego_token_ttl_s);
  EXPECT_TRUE(c.dev_tokens());
}

// The one key table: the sample config names every key (set to its default, or commented
// out), and --help lists each with its description, default and environment variable.
TEST(Config, TheSampleConfigNamesEveryKeyAtItsDefault) {
  std::ifstream f(std::string(dialtone::build_paths::source_dir) + "/conf/dialtoned.toml");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  Config sample, defaults;
  ASSERT_EQ(
      load({"--config", std::string(dialtone::build_paths::source_dir) + "/conf/dialtoned.toml"},
           &sample),
      "");
  for (const auto& k : config_keys()) {
    std::regex line("(^|\n)(# )?" + std::string(k.name) + " = ");
    EXPECT_TRUE(std::regex_search(text, line)) << k.name << " is not in conf/dialtoned.toml";
    bool same = std::visit([&](auto field) { return sample.*field == defaults.*field; }, k.field);
    EXPECT_TRUE(same) << k.name << " is set to something else than its default";
  }
}

TEST(Config, HelpListsEveryKeyWithItsDefaultAndEnvironment) {
  testing::internal::CaptureStdout();
  Config c;
  std::vector<std::string> args{"dialtoned", "--help"};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  EXPECT_FALSE(load_config(2, argv.data(), c));
  std::string help = testing::internal::GetCapturedStdout();
  for (const auto& k : config_keys()) {
    auto at = help.find("\n  " + flag_name(k) + " ");
    ASSERT_NE(at, std::string::npos) << k.name;
    auto entry = help.substr(at, help.find("\n  --", at + 1) - at);
    EXPECT_NE(entry.find(k.help), std::string::npos) << entry;
    EXPECT_NE(entry.find("env " + env_name(k)), std::string::npos) << entry;
    std::string def = default_text(k);
    EXPECT_NE(entry.find("default " + (def.empty() || def == "[]" ? "none" : def)),
              std::string::npos)
        << entry;
  }
  EXPECT_NE(help.find("--ring-timeout-s N\n"), std::string::npos);
  EXPECT_NE(help.find("seconds, 1..3600; default 45; env DIALTONED_RING_TIMEOUT_S"),
            std::string::npos);
}

// A TOML syntax error names the file, line and column, as a compiler would; a value given as a
// flag or in the environment gets the same checks as in the file.
TEST(Config, ErrorsSayWhereAndAreTheSameFromEverySource) {
  std::string message;
  auto file = write_file("dt-cfg-where.toml", "listen = \"127.0.0.1:1\"\nring_timeout_s = = 3\n");
  EXPECT_EQ(load({"--config", file}, nullptr, &message), "config");
  EXPECT_NE(message.find(file + ":2:18: "), std::string::npos) << message;
  EXPECT_EQ(load({"--ring-timeout-s", "-1"}, nullptr, &message), "ring_timeout_s");
  EXPECT_EQ(message, "ring_timeout_s: must be between 1 and 3600, got -1");
  setenv("DIALTONED_RING_TIMEOUT_S", "-1", 1);
  EXPECT_EQ(load({}, nullptr, &message), "ring_timeout_s");
  unsetenv("DIALTONED_RING_TIMEOUT_S");
  EXPECT_EQ(message, "ring_timeout_s: must be between 1 and 3600, got -1");
  auto toml = write_file("dt-cfg-range.toml", "ring_timeout_s = -1\n");
  EXPECT_EQ(load({"--config", toml}, nullptr, &message), "ring_timeout_s");
  EXPECT_EQ(message, "ring_timeout_s: must be between 1 and 3600, got -1");
  EXPECT_EQ(load({"--zego-app-id", "many"}, nullptr, &message), "zego_app_id");
  EXPECT_EQ(message, "zego_app_id: 'many' is not an integer");
}

TEST(Config, IceServerLists) {
  auto file = write_secret("dt-cfg-ice.toml",
                           "stun_urls = [\"stun:a:3478\"]\n"
                           "turn_urls = [\"turn:a:3478?transport=udp\", \"turns:a:5349\"]\n"
                           "turn_secret = \"north\"\nturn_ttl_s = 600\n");
  Config c;
  ASSERT_EQ(load({"--config", file}, &c), "");
  EXPECT_EQ(c.stun_urls, std::vector<std::string>{"stun:a:3478"});
  EXPECT_EQ(c.turn_urls.size(), 2u);
  EXPECT_EQ(c.turn_ttl_s, 600);
  setenv("DIALTONED_TURN_URLS", "turn:b:1, turn:c:2", 1);
  ASSERT_EQ(load({"--config", file}, &c), "");
  unsetenv("DIALTONED_TURN_URLS");
  EXPECT_EQ(c.turn_urls, (std::vector<std::string>{"turn:b:1", "turn:c:2"}));
  ASSERT_EQ(load({"--config", file, "--stun-urls", "stun:x:1,stuns:y:2"}, &c), "");
  EXPECT_EQ(c.stun_urls.size(), 2u);

  EXPECT_EQ(load({"--turn-urls", "turn:a:1"}), "turn_secret");
  EXPECT_EQ(load({"--turn-secret", "s"}), "turn_urls");
  EXPECT_EQ(load({"--turn-urls", "http://a", "--turn-secret", "s"}), "turn_urls");
  EXPECT_EQ(load({"--stun-urls", "turn:a:1"}), "stun_urls");
  EXPECT_EQ(load({"--turn-ttl-s", "10"}), "turn_ttl_s");
  EXPECT_EQ(load({"--config", write_file("dt-cfg-ice2.toml", "turn_urls = \"turn:a:1\"\n")}),
            "turn_urls");
}

TEST(Config, IssuerTurnsDevTokensOff) {
  Config c;
  ASSERT_EQ(load({"--jwt-hs256-secret", std::string(40, 'k')}, &c), "");
  EXPECT_FALSE(c.dev_tokens());
}

TEST(Config, NatsTlsAndCredentials) {
  const std::vector<std::string> cluster{"--store", "postgresql://db/dialtone", "--bus",
                                         "tls://nats1:4222,tls://nats2:4222"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.begin(), cluster.begin(), cluster.end());
    return load(extra);
  };
  std::string creds = write_secret("dt-nats.creds", "jwt and seed");
  std::string key = write_secret("dt-nats.key", "key");
  std::string cert = write_file("dt-nats.pem", "cert");
  EXPECT_EQ(with({"--nats-ca-file", cert, "--nats-cert-file", cert, "--nats-key-file", key,
                  "--nats-creds-file", creds}),
            "");
  const std::string db = "postgresql://db/dialtone";
  EXPECT_EQ(load({"--store", db, "--bus", "nats://a:4222,tls://b:4222"}), "");
  EXPECT_EQ(load({"--store", db, "--bus", "http://a:4222"}), "bus");
  // Each needs the bus; a key or credentials others may read stop the start.
  EXPECT_EQ(load({"--nats-creds-file", creds}), "nats_creds_file");
  EXPECT_EQ(with({"--nats-creds-file", write_file("dt-nats-open.creds", "x")}), "nats_creds_file");
  EXPECT_EQ(with({"--nats-cert-file", cert, "--nats-key-file", write_file("dt-open.key", "k")}),
            "nats_key_file");
  EXPECT_EQ(with({"--nats-cert-file", cert}), "nats_key_file");
  EXPECT_EQ(with({"--nats-key-file", key}), "nats_cert_file");
  EXPECT_EQ(with({"--nats-ca-file", "/nonexistent/ca.pem"}), "nats_ca_file");
  EXPECT_EQ(with({"--nats-creds-file", ""}), "nats_creds_file");
}

TEST(Config, JwksUrl) {
  const std::vector<std::string> idp{"--jwt-issuer", "https://iss", "--jwt-audience", "aud"};
  auto with = [&](std::vector<std::string> extra) {
    extra.insert(extra.end(), idp.begin(), idp.end());
    return load(extra);
  };
  Config c;
  ASSERT_EQ(load({"--jwks-url", "https://idp.example/.well-known/jwks.json", "--jwt-issuer",
                  "https://iss", "--jwt-audience", "aud"},
                 &c),
            "");
  EXPECT_FALSE(c.dev_tokens());  // a remote provider turns development tokens off
  EXPECT_EQ(c.jwks_min_refresh_s, 60);
  EXPECT_EQ(with({"--jwks-url", "http://127.0.0.1:8080/jwks.json"}), "");  // this machine only
  std::string message;
  EXPECT_EQ(load({"--jwks-url", "http://idp.example/jwks.json", "--jwt-issuer", "https://iss",
                  "--jwt-audience", "aud"},
                 nullptr, &message),
            "jwks_url");
  EXPECT_NE(message.find("must be https"), std::string::npos) << message;
  for (const char* bad : {"idp.example/jwks.json", "ftp://idp.example/", "https://",
                          "https://user:pw@idp.example/jwks", "https://idp.example/#x", ""})
    EXPECT_EQ(with({"--jwks-url", bad}), "jwks_url") << bad;
  EXPECT_EQ(load({"--jwks-url", "https://idp.example/jwks.json", "--jwt-audience", "aud"}),
            "jwt_issuer");
  EXPECT_EQ(load({"--jwks-url", "https://idp.example/jwks.json", "--jwt-issuer", "https://iss"}),
            "jwt_audience");
  EXPECT_EQ(with({"--jwks-url", "https://idp.example/j", "--jwks-ca-file", "/nonexistent/ca"}),
            "jwks_ca_file");
  EXPECT_EQ(load({"--jwks-ca-file", write_file("dt-ca.pem", "x")}), "jwks_ca_file");  // no url
  EXPECT_EQ(with({"--jwks-url", "https://idp.example/j", "--jwks-min-refresh-s", "0"}),
            "jwks_min_refresh_s");
}

}  // namespace
}  // namespace dialtone

namespace dialtone {
namespace {

TEST(Config, SecretsComeFromFilesOnlyTheOwnerCanRead) {
  // A key file that others may read stops the server, naming the key and the fix.
  auto open_key = write_file("dt-open.p8", "x", std::filesystem::perms(0640));
  EXPECT_EQ(load({"--apns-key-file", open_key, "--apns-key-id", "K", "--apns-team-id", "T",
                  "--apns-bundle-id", "b"}),
            "apns_key_file");
  auto open_sa = write_file("dt-open-sa.json", "{}", std::filesystem::perms(0604));
  EXPECT_EQ(load({"--fcm-service-account-file", open_sa}), "fcm_service_account_file");

  // An inline secret in a config file that others may read: refused; in a private one: fine.
  const std::string turn = "turn_urls = [\"turn:a:1\"]\nturn_secret = \"north\"\n";
  EXPECT_EQ(load({"--config", write_file("dt-open.toml", turn)}), "turn_secret");
  Config c;
  ASSERT_EQ(load({"--config", write_secret("dt-private.toml", turn)}, &c), "");
  EXPECT_EQ(turn_secret(c), "north");

  // The secret in its own file: read from there, first line, trimmed.
  auto secret = write_secret("dt-turn.secret", "  south  \n");
  ASSERT_EQ(load({"--turn-urls", "turn:a:1", "--turn-secret-file", secret}, &c), "");
  EXPECT_EQ(turn_secret(c), "south");
  EXPECT_EQ(load({"--turn-urls", "turn:a:1", "--turn-secret-file",
                  write_file("dt-turn-open.secret", "south\n")}),
            "turn_secret_file");
  EXPECT_EQ(load({"--turn-urls", "turn:a:1", "--turn-secret-file", secret, "--turn-secret", "x"}),
            "turn_secret");
  EXPECT_EQ(load({"--turn-urls", "turn:a:1", "--turn-secret-file", "/nonexistent"}),
            "turn_secret_file");

  // JWT secrets: one per line (comments and blank lines skipped), each at least 32 characters.
  auto jwt = write_secret(
      "dt-jwt.secret", "# current\n" + std::string(40, 'a') + "\n\n" + std::string(40, 'b') + "\n");
  ASSERT_EQ(load({"--jwt-hs256-secret-file", jwt}, &c), "");
  EXPECT_FALSE(c.dev_tokens());
  EXPECT_EQ(jwt_hs256_secrets(c),
            (std::vector<std::string>{std::string(40, 'a'), std::string(40, 'b')}));
  EXPECT_EQ(load({"--jwt-hs256-secret-file", write_secret("dt-jwt-short.secret", "short\n")}),
            "jwt_hs256_secret_file");
  EXPECT_EQ(load({"--jwt-hs256-secret-file", write_secret("dt-jwt-empty.secret", "\n# none\n")}),
            "jwt_hs256_secret_file");

  // ZEGO's secret from a file, checked as inline.
  auto zego = write_secret("dt-zego.secret", "fa94dd0f974cf2e293728a526b028271\n");
  ASSERT_EQ(load({"--zego-app-id", "1", "--zego-server-secret-file", zego}, &c), "");
  EXPECT_EQ(zego_secret(c), "fa94dd0f974cf2e293728a526b028271");
  EXPECT_EQ(load({"--zego-app-id", "1", "--zego-server-secret-file",
                  write_secret("dt-zego-short.secret", "short")}),
            "zego_server_secret_file");
}

TEST(Config, TlsAndLimits) {
  EXPECT_EQ(load({"--tls-cert-file", "/nonexistent.pem"}), "tls_cert_file");
  auto cert = write_file("dt-cert.pem", "x");
  EXPECT_EQ(load({"--tls-cert-file", cert}), "tls_key_file") << "needs its key";
  EXPECT_EQ(load({"--tls-cert-file", cert, "--tls-key-file",
                  write_file("dt-key-open.pem", "x", std::filesystem::perms(0644))}),
            "tls_key_file");
  Config c;
  ASSERT_EQ(load({"--tls-cert-file", cert, "--tls-key-file", write_secret("dt-key.pem", "x")}, &c),
            "");
  EXPECT_TRUE(c.tls());
  ASSERT_EQ(load({"--limit-calls-per-min", "3", "--limit-connections-per-ip", "0",
                  "--handshake-timeout-s", "2"},
                 &c),
            "");
  EXPECT_EQ(c.limit_calls_per_min, 3);
  EXPECT_EQ(c.limit_connections_per_ip, 0);
  EXPECT_EQ(c.handshake_timeout_s, 2);
  EXPECT_EQ(load({"--limit-calls-per-min", "-1"}), "limit_calls_per_min");
  EXPECT_EQ(load({"--handshake-timeout-s", "0"}), "handshake_timeout_s");
}

}  // namespace
}  // namespace dialtone

namespace dialtone {
namespace {

// The message of the ConfigError that `args` (with the environment as it is) stops at.
std::string error_of(std::vector<std::string> args) {
  std::string message;
  load(std::move(args), nullptr, &message);
  return message;
}

TEST(Config, AnIdentityProviderIsAllOrNothing) {
  // An issuer and audience with no key once left development tokens on: anyone was anyone.
  EXPECT_EQ(load({"--jwt-issuer", "https://iss", "--jwt-audience", "aud"}), "jwt_issuer");
  EXPECT_EQ(load({"--jwt-audience", "aud"}), "jwt_audience");
  EXPECT_EQ(load({"--jwks-file", write_file("dt-jwks.json", "{}"), "--jwt-audience", "aud"}),
            "jwt_issuer");
  // Given but empty: never "off".
  for (const char* flag :
       {"--jwt-hs256-secret", "--jwt-hs256-secret-file", "--jwks-file", "--jwt-issuer",
        "--jwt-audience", "--turn-secret-file", "--tls-key-file"})
    EXPECT_NE(load({flag, ""}), "") << flag;
  EXPECT_EQ(load({"--config", write_file("dt-cfg-empty-secret.toml", "jwks_file = \"\"\n")}),
            "jwks_file");
  EXPECT_EQ(load({"--jwt-hs256-secret-file", "/nonexistent/secret"}), "jwt_hs256_secret_file");
  Config c;
  ASSERT_EQ(load({"--jwt-hs256-secret", std::string(40, 'k'), "--jwt-issuer", "https://iss"}, &c),
            "");
  EXPECT_FALSE(c.dev_tokens());
}

TEST(Config, TheEnvironmentIsCheckedLikeTheFile) {
  setenv("DIALTONED_JWT_HS256_SECRET", "", 1);
  EXPECT_EQ(load({}), "DIALTONED_JWT_HS256_SECRET");
  unsetenv("DIALTONED_JWT_HS256_SECRET");
  setenv("DIALTONED_JWKS_FILE", "", 1);
  EXPECT_EQ(load({}), "DIALTONED_JWKS_FILE");
  unsetenv("DIALTONED_JWKS_FILE");
  setenv("DIALTONED_RING_TIMEOUT_S", "", 1);
  EXPECT_EQ(load({}), "DIALTONED_RING_TIMEOUT_S");
  unsetenv("DIALTONED_RING_TIMEOUT_S");

  setenv("DIALTONED_JWT_HS256_SECRT", std::string(40, 'k').c_str(), 1);
  EXPECT_EQ(load({}), "DIALTONED_JWT_HS256_SECRT");
  EXPECT_NE(error_of({}).find("did you mean DIALTONED_JWT_HS256_SECRET?"), std::string::npos)
      << error_of({});
  unsetenv("DIALTONED_JWT_HS256_SECRT");
  setenv("DIALTONED_COLOUR", "red", 1);
  EXPECT_EQ(load({}), "DIALTONED_COLOUR");
  EXPECT_EQ(error_of({}).find("did you mean"), std::string::npos) << "nothing near it";
  unsetenv("DIALTONED_COLOUR");
  setenv("DIALTONED_CONFIG", write_file("dt-cfg-env.toml", "ring_timeout_s = 9\n").c_str(), 1);
  Config c;
  EXPECT_EQ(load({}, &c), "");
  EXPECT_EQ(c.ring_timeout_s, 9);
  unsetenv("DIALTONED_CONFIG");

  // The file says the same of its keys.
  auto typo = write_file("dt-cfg-typo.toml", "ring_timeout = 30\n");
  EXPECT_EQ(load({"--config", typo}), "ring_timeout");
  EXPECT_NE(error_of({"--config", typo}).find("did you mean ring_timeout_s?"), std::string::npos);
}

TEST(Config, DevelopmentTokensStayOnLoopbackUnlessAllowed) {
  for (const char* local : {"127.0.0.1:8080", "127.0.0.2:0", "[::1]:8080", "localhost:8080"})
    EXPECT_EQ(load({"--listen", local}), "") << local;
  for (const char* beyond : {"0.0.0.0:8080", "[::]:8080", "192.0.2.10:8080", "example.org:80"})
    EXPECT_EQ(load({"--listen", beyond}), "listen") << beyond;
  EXPECT_NE(error_of({"--listen", "0.0.0.0:8080"}).find("dev_tokens_public"), std::string::npos);
  Config c;
  ASSERT_EQ(load({"--listen", "0.0.0.0:8080", "--dev-tokens-public", "true"}, &c), "");
  EXPECT_TRUE(c.dev_tokens_public);
  EXPECT_EQ(load({"--listen", "0.0.0.0:8080", "--dev-tokens-public", "yes"}), "dev_tokens_public");
  EXPECT_EQ(load({"--config", write_file("dt-cfg-devpub.toml", "dev_tokens_public = \"true\"\n")}),
            "dev_tokens_public");
  // With an identity provider, any address.
  EXPECT_EQ(load({"--listen", "0.0.0.0:8080", "--jwt-hs256-secret", std::string(40, 'k')}), "");
}

TEST(Config, DirectoryAndPhotoHosts) {
  Config c;
  ASSERT_EQ(load({}, &c), "");
  EXPECT_EQ(c.directory_policy(), Directory::open) << "development mode";
  ASSERT_EQ(load({"--jwt-hs256-secret", std::string(40, 'k')}, &c), "");
  EXPECT_EQ(c.directory_policy(), Directory::contacts) << "with an identity provider";
  ASSERT_EQ(load({"--jwt-hs256-secret", std::string(40, 'k'), "--directory", "open"}, &c), "");
  EXPECT_EQ(c.directory_policy(), Directory::open);
  ASSERT_EQ(load({"--directory", "none"}, &c), "");
  EXPECT_EQ(c.directory_policy(), Directory::none);
  EXPECT_EQ(load({"--directory", "everyone"}), "directory");
  EXPECT_EQ(load({"--directory", ""}), "directory");

  ASSERT_EQ(load({"--photo-hosts", "lh3.googleusercontent.com, *.cdn.example.org"}, &c), "");
  EXPECT_EQ(c.photo_hosts,
            (std::vector<std::string>{"lh3.googleusercontent.com", "*.cdn.example.org"}));
  for (const char* bad : {"https://cdn.example.org", "cdn.example.org:443", "CDN.example.org", "*",
                          "*.", "a..b", "cdn.example.org/x", "*.*.example.org"})
    EXPECT_EQ(load({"--photo-hosts", bad}), "photo_hosts") << bad;
}

TEST(Config, ToneRegionIsOneOfTheKnownOnes) {
  Config c;
  ASSERT_EQ(load({}, &c), "");
  EXPECT_EQ(c.tone_region, "auto");
  for (const char* r : {"auto", "us", "eu", "uk", "fr", "au", "jp"}) {
    ASSERT_EQ(load({"--tone-region", r}, &c), "") << r;
    EXPECT_EQ(c.tone_region, r);
  }
  // A typo stops the start, naming the key.
  for (const char* bad : {"US", "de", "", "europe"})
    EXPECT_EQ(load({"--tone-region", bad}), "tone_region") << bad;
  EXPECT_EQ(load({"--config", write_file("dt-cfg-tone.toml", "tone_region = \"gb\"\n")}),
            "tone_region");
}

}  // namespace
}  // namespace dialtone
