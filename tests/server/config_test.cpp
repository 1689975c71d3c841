#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "server/config.hpp"

namespace dialtone {
namespace {

// Runs load_config on `args`; returns the key named by the error, or "" on success.
std::string load(std::vector<std::string> args, Config* out = nullptr) {
  args.insert(args.begin(), "dialtoned");
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  Config c;
  try {
    load_config(static_cast<int>(argv.size()), argv.data(), c);
  } catch (const ConfigError& e) {
    return e.key();
  }
  if (out) *out = c;
  return "";
}

std::string write_file(const std::string& name, const std::string& text) {
  auto p = std::filesystem::temp_directory_path() / name;
  std::ofstream(p) << text;
  return p.string();
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
}

TEST(Config, TheSampleConfigIsValidAndHoldsTheDefaults) {
  Config c;
  ASSERT_EQ(load({"--config", std::string(DIALTONE_SOURCE_DIR) + "/conf/dialtoned.toml"}, &c), "");
  Config defaults;
  EXPECT_EQ(c.listen, defaults.listen);
  EXPECT_EQ(c.ring_timeout_s, defaults.ring_timeout_s);
  EXPECT_EQ(c.media_timeout_s, defaults.media_timeout_s);
  EXPECT_EQ(c.presence_grace_s, defaults.presence_grace_s);
  EXPECT_EQ(c.sqlite_synchronous, defaults.sqlite_synchronous);
  EXPECT_TRUE(c.dev_tokens());
}

TEST(Config, IssuerTurnsDevTokensOff) {
  Config c;
  ASSERT_EQ(load({"--jwt-hs256-secret", std::string(40, 'k')}, &c), "");
  EXPECT_FALSE(c.dev_tokens());
}

}  // namespace
}  // namespace dialtone
