// SPDX-License-Identifier: Apache-2.0
// TLS on dialtoned: HTTPS and WSS with the configured certificate, HSTS on every answer, a
// plain-HTTP client getting nothing, a bad certificate stopping the start with a clear error,
// and a SIGHUP that swaps the certificate for new connections while a call on an old one goes
// on.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>

#include <filesystem>
#include <fstream>

#include "support/harness.hpp"
#include "support/tls_files.hpp"

namespace dialtone::test {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

std::string certs(const std::string& name) {
  return test_cert(name);
}

// One TLS connection to dialtoned, verified against the test CA for 127.0.0.1.
struct TlsConn {
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  beast::ssl_stream<beast::tcp_stream> stream{ioc, ctx};
  explicit TlsConn(int port) {
    ctx.load_verify_file(certs("ca.pem"));
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(stream).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    stream.handshake(ssl::stream_base::client);
  }
  std::string subject() {
    X509* cert = SSL_get0_peer_certificate(stream.native_handle());
    char buf[256] = {};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof buf - 1);
    return buf;
  }
  http::response<http::string_body> get(const std::string& target) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    http::write(stream, req);
    beast::flat_buffer buf;
    http::response<http::string_body> res;
    http::read(stream, buf, res);
    return res;
  }
};

// A WebSocket over TLS: requests with ids, and the messages the server sends.
struct WssClient {
  asio::io_context ioc;
  ssl::context ctx{ssl::context::tls_client};
  beast::websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws{ioc, ctx};
  int nextId = 1;
  WssClient(int port, const std::string& token) {
    ctx.load_verify_file(certs("ca.pem"));
    ws.next_layer().set_verify_mode(ssl::verify_peer);
    ws.next_layer().set_verify_callback(ssl::host_name_verification("127.0.0.1"));
    beast::get_lowest_layer(ws).connect(
        tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    ws.next_layer().handshake(ssl::stream_base::client);
    ws.handshake("127.0.0.1", "/v1/ws?access_token=" + token);
    EXPECT_EQ(read().at("type"), "hello");
  }
  json::object read() {
    beast::flat_buffer buf;
    ws.read(buf);
    return json::parse(beast::buffers_to_string(buf.data())).as_object();
  }
  // The reply to `msg`; the snapshots that came before it are skipped.
  json::object request(json::object msg) {
    int id = nextId++;
    msg["id"] = id;
    ws.write(asio::buffer(json::serialize(msg)));
    for (;;) {
      auto m = read();
      if (m.at("type") == "reply" && m.at("id") == id) return m;
    }
  }
  json::object wait_call(const std::string& state) {
    for (;;) {
      auto m = read();
      if (m.at("type") == "call" && m.at("call").at("state") == state.c_str()) return m;
    }
  }
};

std::string dev_token_tls(int port, const std::string& user) {
  TlsConn c(port);
  http::request<http::string_body> req{http::verb::post, "/v1/dev/token", 11};
  req.set(http::field::host, "127.0.0.1");
  req.body() = json::serialize(json::object{{"userId", user}, {"name", user}});
  req.prepare_payload();
  http::write(c.stream, req);
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(c.stream, buf, res);
  return std::string(json::parse(res.body()).at("token").as_string());
}

TEST(Tls, HttpsAndWssWithHsts) {
  TlsFiles files('a');
  ServerProcess server(files.flags());
  TlsConn c(server.port());
  EXPECT_EQ(c.subject(), "dialtoned test a");
  auto res = c.get("/healthz");
  EXPECT_EQ(res.result_int(), 200);
  EXPECT_EQ(res[http::field::strict_transport_security], "max-age=31536000");
  auto page = c.get("/");
  EXPECT_EQ(page.result_int(), 200);
  EXPECT_EQ(page[http::field::strict_transport_security], "max-age=31536000");
  auto missing = c.get("/v1/calls");
  EXPECT_EQ(missing.result_int(), 401);
  EXPECT_EQ(missing[http::field::strict_transport_security], "max-age=31536000");

  // A call over WSS.
  std::string alice = dev_token_tls(server.port(), "alice"),
              bob = dev_token_tls(server.port(), "bob");
  WssClient a(server.port(), alice), b(server.port(), bob);
  auto created = a.request({{"op", "create"}, {"receiverId", "bob"}});
  ASSERT_EQ(created.at("ok"), true) << json::serialize(created);
  std::string id(created.at("call").at("callId").as_string());
  EXPECT_EQ(b.request(op("accept", id)).at("ok"), true);

  // Plain HTTP on the TLS port gets no HTTP answer.
  std::string answer = raw_http(server.port(), "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  EXPECT_EQ(answer.find("200 OK"), std::string::npos);
  EXPECT_EQ(answer.find("HTTP/1.1"), std::string::npos);
}

TEST(Tls, SighupSwapsTheCertificateAndTheCallGoesOn) {
  TlsFiles files('a');
  ServerProcess server(files.flags());
  std::string alice = dev_token_tls(server.port(), "alice"),
              bob = dev_token_tls(server.port(), "bob");
  WssClient a(server.port(), alice), b(server.port(), bob);
  std::string id = call_id(a.request({{"op", "create"}, {"receiverId", "bob"}}));
  b.request(op("accept", id));
  a.request(op("ready", id));
  b.request(op("ready", id));
  a.wait_call("connected");

  files.use('b');
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  // New connections get the new certificate (once the reload is done).
  auto deadline = std::chrono::steady_clock::now() + 5s;
  std::string subject;
  while (std::chrono::steady_clock::now() < deadline) {
    subject = TlsConn(server.port()).subject();
    if (subject == "dialtoned test b") break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(subject, "dialtoned test b");
  // The call's connections, made with the old certificate, go on.
  EXPECT_EQ(a.request(op("mute", id, {{"muted", true}})).at("ok"), true);
  auto ended = b.request(op("end", id));
  EXPECT_EQ(ended.at("call").at("state"), "ended");
  EXPECT_EQ(a.wait_call("ended").at("call").at("reason"), "ended_by_user");

  // A reload that fails (a key that does not match) keeps the certificate in use.
  fs::copy_file(certs("server-a.key"), files.key, fs::copy_options::overwrite_existing);
  ASSERT_EQ(::kill(server.pid(), SIGHUP), 0);
  deadline = std::chrono::steady_clock::now() + 5s;
  while (server.log().find("RELOAD_FAILED what=tls") == std::string::npos &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(20ms);
  EXPECT_NE(server.log().find("RELOAD_FAILED what=tls"), std::string::npos) << server.log();
  EXPECT_EQ(TlsConn(server.port()).subject(), "dialtoned test b");
}

TEST(Tls, UnusableFilesStopTheStartWithTheirKey) {
  TlsFiles files('a');
  fs::permissions(files.key,
                  fs::perms::owner_read | fs::perms::group_read | fs::perms::others_read);
  auto [code, err] = run_dialtoned(
      {"--listen", "127.0.0.1:0", "--tls-cert-file", files.cert, "--tls-key-file", files.key});
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("tls_key_file"), std::string::npos) << err;
  EXPECT_NE(err.find("chmod 600"), std::string::npos) << err;
  EXPECT_EQ(err.find("PRIVATE KEY"), std::string::npos) << "never the key itself";

  fs::permissions(files.key, fs::perms::owner_read | fs::perms::owner_write);
  fs::copy_file(certs("server-b.pem"), files.cert, fs::copy_options::overwrite_existing);
  std::tie(code, err) = run_dialtoned({"--listen", "127.0.0.1:0", "--data-dir", files.dir + "/d",
                                       "--tls-cert-file", files.cert, "--tls-key-file", files.key});
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("does not match"), std::string::npos) << err;
}

}  // namespace
}  // namespace dialtone::test
