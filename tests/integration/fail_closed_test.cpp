// SPDX-License-Identifier: Apache-2.0
// Issue 14's outside probe, each hole reproduced against a real dialtoned: wrong configuration
// stops the start, HTTP framing that a proxy could read differently is refused, limits cannot
// be raced or dodged, files are owner-only, and what users choose (names, reasons) can neither
// drive a terminal nor forge a log line or a metric.
#include <gtest/gtest.h>

#include <sys/stat.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include <filesystem>
#include <fstream>
#include <regex>

#include "auth/jwt.hpp"
#include "core/time.hpp"
#include "support/harness.hpp"
#include "util/encoding.hpp"

namespace dialtone::test {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

const std::string kSecret(40, 's');

// A TCP connection the test writes raw bytes to.
struct Raw {
  asio::io_context ioc;
  tcp::socket s{ioc};
  explicit Raw(int port) {
    s.connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  }
  void send(const std::string& bytes) { asio::write(s, asio::buffer(bytes)); }
  // The answer's head (up to the blank line).
  std::string head() {
    std::string out;
    char ch;
    boost::system::error_code ec;
    while (out.size() < 8192 && out.find("\r\n\r\n") == std::string::npos &&
           asio::read(s, asio::buffer(&ch, 1), ec) == 1)
      out += ch;
    return out;
  }
};

std::string upgrade_request(const std::string& token, const std::string& device,
                            const std::string& key = "dGhlIHNhbXBsZSBub25jZQ==") {
  return "GET /v1/ws?access_token=" + token + "&deviceId=" + device +
         " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
         "Sec-WebSocket-Key: " +
         key + "\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

int status_of(const std::string& head) {
  return head.size() >= 12 && head.rfind("HTTP/1.1 ", 0) == 0 ? std::stoi(head.substr(9, 3)) : 0;
}

std::size_t count_of(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

std::string signed_token(const json::object& claims) {
  TrustedKey k;
  k.alg = JwtAlg::HS256;
  k.secret = kSecret;
  return sign_jwt(JwtAlg::HS256, k, claims);
}

TEST(FailClosed, AHalfConfiguredIdentityProviderStopsTheStart) {
  // Issuer and audience but no key: development tokens stayed on, anyone was anyone.
  auto [code, err] = run_dialtoned({"--jwt-issuer", "https://iss", "--jwt-audience", "aud"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("jwt_issuer"), std::string::npos) << err;
  // A mistyped or empty environment variable, as from a deployment template.
  setenv("DIALTONED_JWT_HS256_SECRT", kSecret.c_str(), 1);
  std::tie(code, err) = run_dialtoned({});
  unsetenv("DIALTONED_JWT_HS256_SECRT");
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("did you mean DIALTONED_JWT_HS256_SECRET?"), std::string::npos) << err;
  for (const char* name : {"DIALTONED_JWT_HS256_SECRET", "DIALTONED_JWKS_FILE"}) {
    setenv(name, "", 1);
    std::tie(code, err) = run_dialtoned({});
    unsetenv(name);
    EXPECT_EQ(code, 2) << name;
    EXPECT_NE(err.find(name), std::string::npos) << err;
  }
}

TEST(FailClosed, AListenAddressInUseStopsTheStartCleanly) {
  // By then the store thread runs: it must stop before what it publishes on is gone (the
  // sanitized suite saw a heap-use-after-free on this path).
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor taken(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  std::string listen = "127.0.0.1:" + std::to_string(taken.local_endpoint().port());
  auto [code, err] = run_dialtoned({"--listen", listen, "--jwt-hs256-secret", kSecret});
  EXPECT_EQ(code, 1);
  EXPECT_NE(err.find("Address already in use"), std::string::npos) << err;
  EXPECT_EQ(err.find("Sanitizer"), std::string::npos) << err;
}

TEST(FailClosed, DevelopmentTokensStayOnLoopbackUnlessAllowedAndThenSaySo) {
  auto [code, err] = run_dialtoned({"--listen", "0.0.0.0:0"});
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("dev_tokens_public"), std::string::npos) << err;
  // Deliberately public: it starts, and says so loudly.
  ServerProcess server({"--listen", "0.0.0.0:0", "--dev-tokens-public", "true"});
  EXPECT_EQ(http(server.port(), "GET", "/healthz").status, 200);
  EXPECT_NE(server.log().find("DEV_TOKENS_PUBLIC"), std::string::npos);
}

TEST(FailClosed, TheSessionLimitCannotBeRaced) {
  ServerProcess server({"--limit-sessions-per-user", "10"});
  std::string token = dev_token(server.port(), "alice");
  // 30 upgrades held just before their final CRLF, then completed together.
  std::vector<std::unique_ptr<Raw>> conns;
  for (int i = 0; i < 30; ++i) {
    conns.push_back(std::make_unique<Raw>(server.port()));
    std::string req = upgrade_request(token, "d" + std::to_string(i));
    conns.back()->send(req.substr(0, req.size() - 2));
  }
  for (auto& c : conns) c->send("\r\n");
  int upgraded = 0, limited = 0;
  for (auto& c : conns) {
    int status = status_of(c->head());
    upgraded += status == 101;
    limited += status == 429;
  }
  EXPECT_EQ(upgraded, 10);
  EXPECT_EQ(limited, 20);
  conns.clear();  // all closed: the slots come back
  bool again = false;
  for (int attempt = 0; attempt < 100 && !again; ++attempt) {
    Raw r(server.port());
    r.send(upgrade_request(token, "later"));
    again = status_of(r.head()) == 101;
    if (!again) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(again);
}

TEST(FailClosed, TransferEncodingsOtherThanChunkedAreRefusedAndNothingIsSmuggled) {
  ServerProcess server;
  std::string alice = dev_token(server.port(), "alice");
  const std::string hidden = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
  for (const char* te : {"chunked, identity", "gzip", "xchunked", "identity",
                         "chunked\r\n"
                         "Transfer-Encoding: "
                         "chunked"}) {
    std::string req = "POST /v1/calls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice +
                      "\r\nTransfer-Encoding: " + te + "\r\n\r\n" + hidden;
    std::string out = raw_http_keep_open(server.port(), req, 2s);
    EXPECT_EQ(count_of(out, "Server: dialtoned"), 1u)
        << te << ": one answer, no hidden second one\n"
        << out;
    EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << te << "\n" << out;
    EXPECT_NE(out.find("Connection: close"), std::string::npos) << te;
  }
  // HTTP/1.0 has no Transfer-Encoding.
  std::string out = raw_http_keep_open(
      server.port(),
      "POST /v1/calls HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n" + hidden, 2s);
  EXPECT_EQ(count_of(out, "Server: dialtoned"), 1u) << out;
  EXPECT_EQ(out.find("400"), 9u) << out;
  // Chunked itself works, and so does keep-alive after it.
  out =
      raw_http_keep_open(server.port(),
                         "POST /v1/calls HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice +
                             "\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" + hidden,
                         1s);
  EXPECT_EQ(out.rfind("HTTP/1.1 400", 0), 0u) << "receiverId missing\n" << out;
  EXPECT_NE(out.find("receiverId"), std::string::npos) << out;
  EXPECT_NE(out.find("HTTP/1.1 200"), std::string::npos) << "the next request on it\n" << out;
  EXPECT_EQ(http(server.port(), "GET", "/v1/calls", "", alice).body.at("calls").as_array().size(),
            0u);
}

TEST(FailClosed, HeadAnswersCarryHeadersButNoBody) {
  ServerProcess server;
  // A kept-alive client (or proxy) reads whatever follows as the answer to its next request.
  std::string out = raw_http_keep_open(server.port(),
                                       "HEAD /v1/calls HTTP/1.1\r\nHost: x\r\n\r\n"
                                       "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
                                       1s);
  auto second = out.find("HTTP/1.1 200");
  ASSERT_NE(second, std::string::npos) << out;
  std::string first = out.substr(0, second);
  EXPECT_EQ(first.rfind("HTTP/1.1 401", 0), 0u) << out;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(first, m, std::regex("Content-Length: (\\d+)")));
  EXPECT_GT(std::stoi(m[1]), 0) << "the length of the GET answer";
  EXPECT_EQ(first.size(), first.find("\r\n\r\n") + 4) << "and no body\n" << out;
  // The page likewise.
  out = raw_http_keep_open(server.port(), "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                           1s);
  EXPECT_EQ(out.size(), out.find("\r\n\r\n") + 4) << out;
}

TEST(FailClosed, EveryAnswerSaysNosniff) {
  ServerProcess server;
  std::string alice = dev_token(server.port(), "alice");
  for (auto [target, token] :
       std::vector<std::pair<std::string, std::string>>{{"/healthz", ""},
                                                        {"/v1/info", ""},
                                                        {"/v1/users", ""},
                                                        {"/v1/users", alice},
                                                        {"/v1/users/alice", alice},
                                                        {"/v1/nowhere", alice},
                                                        {"/", ""},
                                                        {"/nothing-here", ""}}) {
    auto r = http(server.port(), "GET", target, "", token);
    EXPECT_EQ(r.header("X-Content-Type-Options"), "nosniff") << target << " " << r.status;
  }
  std::string garbage = raw_http(server.port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_NE(garbage.find("X-Content-Type-Options: nosniff"), std::string::npos) << garbage;
}

TEST(FailClosed, WebSocketKeysMustBeValid) {
  ServerProcess server;
  std::string alice = dev_token(server.port(), "alice");
  for (const char* key : {"", "abc", "!!!!!!!!!!!!!!!!!!!!!!==", "dGhlIHNhbXBsZSBub25jZQ"}) {
    Raw r(server.port());
    r.send(upgrade_request(alice, "d1", key));
    EXPECT_EQ(status_of(r.head()), 400) << "'" << key << "'";
  }
  Raw ok(server.port());
  ok.send(upgrade_request(alice, "d1"));
  std::string head = ok.head();
  EXPECT_EQ(status_of(head), 101);
  EXPECT_NE(head.find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="), std::string::npos) << head;
}

TEST(FailClosed, TheDataDirAndItsFilesAreOwnerOnlyWhateverTheUmask) {
  namespace fs = std::filesystem;
  auto mode = [](const fs::path& p) {
    struct stat st {};
    EXPECT_EQ(stat(p.c_str(), &st), 0) << p;
    return st.st_mode & 0777;
  };
  mode_t old = umask(022);  // what dialtoned inherits
  ServerProcess server;
  umask(old);
  std::string alice = dev_token(server.port(), "alice");  // writes to the database
  fs::path dir = fs::path(server.data_dir()) / "data";    // made by dialtoned
  EXPECT_EQ(mode(dir), 0700u) << std::oct << mode(dir);
  for (const char* f : {"dialtone.db", "dialtone.db-wal", "dialtone.db-shm", "vapid.pem"})
    EXPECT_EQ(mode(dir / f), 0600u) << f << " " << std::oct << mode(dir / f);
  // A file an older version left readable is tightened at the next start.
  server.terminate();
  fs::permissions(dir / "dialtone.db", fs::perms(0644));
  server.start();
  EXPECT_EQ(mode(dir / "dialtone.db"), 0600u);
}

// An earlier version kept the development key in data_dir/dev-token.key: the first start with
// the key in the store takes it over, so tokens handed out before the upgrade keep working.
TEST(FailClosed, AnUpgradeKeepsTheDevelopmentKeyOfTheDataDir) {
  namespace fs = std::filesystem;
  ServerProcess server;
  server.terminate();
  fs::path dir = fs::path(server.data_dir()) / "data";
  for (const char* f : {"dialtone.db", "dialtone.db-wal", "dialtone.db-shm"}) fs::remove(dir / f);
  const std::string old(32, 'k');
  { std::ofstream(dir / "dev-token.key") << base64url_encode(old) << "\n"; }
  fs::permissions(dir / "dev-token.key", fs::perms(0600));
  server.start();
  EXPECT_EQ(server.dev_key(), old);
  TrustedKey k{JwtAlg::HS256, "", old, nullptr};
  std::string before = sign_jwt(JwtAlg::HS256, k,
                                json::object{{"iss", "dialtoned-dev"},
                                             {"aud", "dialtone"},
                                             {"sub", "alice"},
                                             {"exp", now_ms() / 1000 + 600}});
  EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", before).status, 200);
}

TEST(FailClosed, NamesAreDisplayTextFromDevelopmentAndProviderTokensAlike) {
  const std::string hostile = std::string("\x1b]0;owned\x07") + "Mallory\x1b[2J\n\tBob\u202e" +
                              std::string("\0", 1) + "\x7f";
  ServerProcess dev;
  auto r = http(dev.port(), "POST", "/v1/dev/token",
                json::serialize(json::object{{"userId", "mallory"}, {"name", hostile}}));
  ASSERT_EQ(r.status, 200);
  std::string token(r.body.at("token").as_string());
  std::string bob = dev_token(dev.port(), "bob");
  auto me = http(dev.port(), "GET", "/v1/users/mallory", "", bob);
  EXPECT_EQ(me.body.at("name"), "]0;ownedMallory[2J Bob");
  WsClient b(dev.port(), bob);
  WsClient m(dev.port(), token);
  auto created = m.request({{"op", "create"}, {"receiverId", "bob"}});
  EXPECT_EQ(created.at("call").at("callerName"), "]0;ownedMallory[2J Bob");

  ServerProcess idp({"--jwt-hs256-secret", kSecret, "--directory", "open"});
  std::string t = signed_token(
      json::object{{"sub", "mallory"}, {"name", hostile}, {"exp", now_ms() / 1000 + 600}});
  auto p = http(idp.port(), "GET", "/v1/users/mallory", "", t);
  ASSERT_EQ(p.status, 200);
  EXPECT_EQ(p.body.at("name"), "]0;ownedMallory[2J Bob");
}

TEST(FailClosed, TokensInTheUrlOnlyOnTheWebSocket) {
  ServerProcess server;
  std::string alice = dev_token(server.port(), "alice");
  auto r = http(server.port(), "GET", "/v1/calls?access_token=" + alice);
  EXPECT_EQ(r.status, 401);
  EXPECT_NE(std::string(r.body.at("error").at("message").as_string()).find("WebSocket only"),
            std::string::npos);
  // Even beside a header: a token in a URL is already in some proxy's log.
  EXPECT_EQ(http(server.port(), "GET", "/v1/calls?access_token=" + alice, "", alice).status, 401);
  EXPECT_EQ(http(server.port(), "GET", "/v1/calls", "", alice).status, 200);
  WsClient ws(server.port(), alice);  // ?access_token= on the upgrade
  EXPECT_EQ(ws.hello.at("userId"), "alice");
}

TEST(FailClosed, AClientsReasonForgesNeitherALogLineNorAMetric) {
  ServerProcess server;
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  WsClient a(server.port(), alice), b(server.port(), bob);
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b.request(op("accept", id));
  ASSERT_EQ(a.request(op("end", id, {{"reason", "bye callId=FORGED state=connected user=admin"}}))
                .at("ok"),
            true);
  // A second call ended with a reason the server also uses.
  std::string id2 = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b.request(op("accept", id2));
  ASSERT_EQ(a.request(op("end", id2, {{"reason", "network"}})).at("ok"), true);

  std::string log;
  for (int i = 0; i < 100 && count_of(log, "CALL_ENDED") < 2; ++i) {
    std::this_thread::sleep_for(20ms);
    log = server.log();
  }
  auto line = log.substr(log.find("CALL_ENDED callId=" + id));
  line = line.substr(0, line.find('\n'));
  EXPECT_NE(line.find("reason=\"bye callId=FORGED state=connected user=admin\""), std::string::npos)
      << line;
  // Read as key=value pairs (a quoted value is one value), the line has one of each key.
  std::string fields = std::regex_replace(line, std::regex(R"("([^"\\]|\\.)*")"), "\"\"");
  EXPECT_EQ(count_of(fields, " callId="), 1u) << line;
  EXPECT_EQ(count_of(fields, " state="), 1u) << line;
  EXPECT_EQ(count_of(fields, " user="), 0u) << line;
  // Client-chosen reasons count as "other", "network" included.
  std::string metrics = server.metrics();
  EXPECT_NE(metrics.find("dialtone_calls_terminal_total{state=\"ended\",reason=\"other\"} 2"),
            std::string::npos)
      << metrics;
  EXPECT_EQ(metrics.find("reason=\"network\""), std::string::npos) << metrics;
}

TEST(FailClosed, FailedAuthenticationsAreLimitedBeforeTokensAreVerified) {
  ServerProcess server({"--limit-auth-failures-per-min", "20"});
  std::string alice = dev_token(server.port(), "alice");
  std::string bad = alice.substr(0, alice.rfind('.') + 1) + "AAAA";
  int unauthorized = 0, limited = 0, retry = 0;
  for (int i = 0; i < 200; ++i) {
    auto r = http(server.port(), "GET", "/v1/users", "", bad);
    unauthorized += r.status == 401;
    if (r.status == 429) {
      ++limited;
      retry = std::stoi(r.header("Retry-After"));
    }
  }
  EXPECT_GE(unauthorized, 20);
  EXPECT_LE(unauthorized, 22) << "a burst of 20, then one every 3 s";
  EXPECT_EQ(limited, 200 - unauthorized);
  EXPECT_GE(retry, 1);
  // While the address is over its budget, nothing from it is verified (a good token included);
  // the WebSocket upgrade is counted the same way.
  EXPECT_EQ(http(server.port(), "GET", "/v1/users", "", alice).status, 429);
  Raw r(server.port());
  r.send(upgrade_request(bad, "d1"));
  EXPECT_EQ(status_of(r.head()), 429);
  EXPECT_NE(server.metrics().find("dialtone_rate_limited_total{limit=\"auth_failures\"}"),
            std::string::npos);
}

TEST(FailClosed, OpeningAndClosingSessionsIsLimited) {
  ServerProcess server({"--limit-session-opens-per-min", "5"});
  std::string alice = dev_token(server.port(), "alice"), bob = dev_token(server.port(), "bob");
  for (int i = 0; i < 5; ++i) {
    Raw r(server.port());
    r.send(upgrade_request(alice, "d" + std::to_string(i)));
    EXPECT_EQ(status_of(r.head()), 101) << i;
  }
  Raw over(server.port());
  over.send(upgrade_request(alice, "d6"));
  std::string head = over.head();
  EXPECT_EQ(status_of(head), 429) << head;
  EXPECT_NE(head.find("Retry-After: "), std::string::npos) << head;
  // Another user is served meanwhile.
  WsClient b(server.port(), bob);
  EXPECT_EQ(b.hello.at("userId"), "bob");
}

}  // namespace
}  // namespace dialtone::test
