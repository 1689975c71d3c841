// SPDX-License-Identifier: Apache-2.0
// JwksSource's schedule (Cache-Control), its limit on fetches, and its cached last good set;
// fetching from a provider that rotates is tested on a real dialtoned (integration/jwks_test).
#include "server/jwks_source.hpp"

#include <gtest/gtest.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>

#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <future>

#include "util/crypto.hpp"
#include "util/encoding.hpp"

namespace dialtone {
namespace {

using std::chrono::seconds;

TEST(JwksRefreshAfter, FollowsCacheControlWithinBounds) {
  EXPECT_EQ(
      jwks_refresh_after("public, max-age=19437, must-revalidate, no-transform", 60, 86400, 3600),
      seconds(19437));  // what Google's securetoken JWKS sends
  EXPECT_EQ(jwks_refresh_after("max-age=5", 60, 86400, 3600), seconds(60));           // too short
  EXPECT_EQ(jwks_refresh_after("max-age=9999999", 60, 86400, 3600), seconds(86400));  // too long
  EXPECT_EQ(jwks_refresh_after("max-age=99999999999999999999999", 60, 86400, 3600), seconds(86400));
  EXPECT_EQ(jwks_refresh_after("MAX-AGE=\"600\"", 60, 86400, 3600), seconds(600));
  EXPECT_EQ(jwks_refresh_after("max-age=600, s-maxage=1200", 60, 86400, 3600), seconds(1200));
  EXPECT_EQ(jwks_refresh_after("no-store", 60, 86400, 3600), seconds(60));
  EXPECT_EQ(jwks_refresh_after("no-cache, max-age=600", 60, 86400, 3600), seconds(60));
  for (const char* nothing : {"", "public", "max-age=", "max-age=-5", "max-age=1e3", ",,,"})
    EXPECT_EQ(jwks_refresh_after(nothing, 60, 86400, 3600), seconds(3600)) << nothing;
}

std::string ec_jwks(const char* kid) {
  PKey key = adopt_pkey(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  unsigned char pub[65];
  size_t len = 0;
  EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, pub, sizeof pub, &len);
  boost::json::object jwk{
      {"kty", "EC"},
      {"crv", "P-256"},
      {"kid", kid},
      {"x", base64url_encode(std::string(reinterpret_cast<char*>(pub) + 1, 32))},
      {"y", base64url_encode(std::string(reinterpret_cast<char*>(pub) + 33, 32))}};
  return boost::json::serialize(boost::json::object{{"keys", boost::json::array{jwk}}});
}

struct JwksSourceTest : ::testing::Test {
  std::string dir = (std::filesystem::temp_directory_path() / ("jwks-src-" + random_id())).string();
  std::string url = "http://127.0.0.1:1/jwks.json";  // nothing listens: every fetch fails
  std::atomic<int> applied{0};
  std::vector<std::string> kids;
  std::mutex mu;
  JwksSourceTest() { std::filesystem::create_directories(dir); }
  ~JwksSourceTest() override { std::filesystem::remove_all(dir); }
  JwksSourceOptions options() {
    JwksSourceOptions o;
    o.url = url;
    o.cacheFile = dir + "/jwks-cache.json";
    o.minRefreshS = 3600;
    o.timeoutMs = 2000;
    return o;
  }
  JwksSource::Apply apply() {
    return [this](std::vector<TrustedKey> keys) {
      std::lock_guard lk(mu);
      for (auto& k : keys) kids.push_back(k.kid);
      ++applied;
    };
  }
};

TEST_F(JwksSourceTest, AProviderThatCannotBeReachedLeavesNoKeysAndIsNotAskedForEveryToken) {
  JwksSource src(options(), apply(), nullptr);
  EXPECT_FALSE(src.start(std::chrono::seconds(5)));  // the first fetch failed
  EXPECT_EQ(applied, 0);
  // Within jwks_min_refresh_s of the last fetch, an unknown kid brings none.
  EXPECT_FALSE(src.refetch_for_unknown_kid().has_value());
  // SIGHUP asks anyway; when_done runs once that fetch ended.
  src.refresh_now();
  std::promise<void> done;
  src.when_done(2, [&] { done.set_value(); });
  EXPECT_EQ(done.get_future().wait_for(std::chrono::seconds(5)), std::future_status::ready);
  // An attempt that already ended: at once.
  bool now = false;
  src.when_done(1, [&] { now = true; });
  EXPECT_TRUE(now);
}

TEST_F(JwksSourceTest, TheLastGoodSetSurvivesARestart) {
  std::string text = ec_jwks("cached-1");
  std::ofstream(dir + "/jwks-cache.json")
      << boost::json::serialize(boost::json::object{{"url", url}, {"jwks", text}});
  JwksSource src(options(), apply(), nullptr);
  EXPECT_TRUE(src.start(std::chrono::seconds(5)));  // the fetch fails; the cached set serves
  EXPECT_EQ(applied, 1);
  EXPECT_EQ(kids, std::vector<std::string>{"cached-1"});
}

TEST_F(JwksSourceTest, AnotherProvidersOrABrokenCacheIsIgnored) {
  for (const std::string& cache :
       {boost::json::serialize(
            boost::json::object{{"url", "https://other/jwks"}, {"jwks", ec_jwks("other")}}),
        std::string("{\"url\":\"") + url + "\",\"jwks\":\"not json\"}", std::string("garbage")}) {
    std::ofstream(dir + "/jwks-cache.json") << cache;
    JwksSource src(options(), apply(), nullptr);
    EXPECT_FALSE(src.start(std::chrono::seconds(5))) << cache;
    EXPECT_EQ(applied, 0) << cache;
  }
}

}  // namespace
}  // namespace dialtone
