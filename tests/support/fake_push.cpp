// SPDX-License-Identifier: Apache-2.0
#include "support/fake_push.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <stdexcept>

#include "support/harness.hpp"

namespace dialtone::test {

namespace json = boost::json;

namespace {

json::value read_json(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return json::parse(ss.str());
}

// The keys dialtoned reads must be readable by their owner only (it refuses others).
void write(const std::string& path, const std::string& text) {
  {
    std::ofstream f(path);
    f << text;
  }
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

}  // namespace

FakePushService::FakePushService() {
  std::random_device rd;
  dir_ = (std::filesystem::temp_directory_path() /
          ("fake-push-" + std::to_string(::getpid()) + "-" + std::to_string(rd())))
             .string();
  std::filesystem::create_directories(dir_);
  auto fcm = read_json(source_file("tests/push/data/fcm-oauth-jwt.json"));
  auto apns = read_json(source_file("tests/push/data/apns-jwt.json"));
  const auto& sa = fcm.at("service_account_json").as_object();
  json::object cfg{{"cert", source_file("tests/push/certs/server.pem")},
                   {"key", source_file("tests/push/certs/server.key")},
                   {"fcm", json::object{{"publicKeyPem", fcm.at("public_key_pem")},
                                        {"clientEmail", sa.at("client_email")},
                                        {"projectId", sa.at("project_id")}}},
                   {"apns", json::object{{"publicKeyPem", apns.at("public_key_pem")},
                                         {"keyId", apns.at("key_id")},
                                         {"teamId", apns.at("team_id")},
                                         {"bundleId", "com.example.callapp"}}}};
  write(dir_ + "/config.json", json::serialize(cfg));

  node_ = std::make_unique<NodeService>("tests/push/fake_push_service.mjs",
                                        std::vector<std::string>{dir_ + "/config.json"});

  // The service account as Google hands it out, its token_uri pointing here.
  json::object account = sa;
  account["token_uri"] = "https://127.0.0.1:" + std::to_string(tls_port()) + "/token";
  write(dir_ + "/service-account.json", json::serialize(account));
  write(dir_ + "/AuthKey.p8", std::string(apns.at("p8_private_key_pem").as_string()));
}

FakePushService::~FakePushService() {
  node_.reset();
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

std::vector<std::string> FakePushService::server_flags() const {
  auto apns = read_json(source_file("tests/push/data/apns-jwt.json"));
  std::string base = "https://127.0.0.1:" + std::to_string(tls_port());
  return {"--fcm-service-account-file",
          dir_ + "/service-account.json",
          "--fcm-base-url",
          base,
          "--apns-key-file",
          dir_ + "/AuthKey.p8",
          "--apns-key-id",
          std::string(apns.at("key_id").as_string()),
          "--apns-team-id",
          std::string(apns.at("team_id").as_string()),
          "--apns-bundle-id",
          "com.example.callapp",
          "--apns-base-url",
          base,
          "--webpush-hosts",
          "127.0.0.1",
          "--vapid-subject",
          "mailto:ops@example.com",
          "--push-ca-file",
          source_file("tests/push/certs/ca.pem")};
}

json::object FakePushService::subscribe(const std::string& applicationServerKey) {
  auto r =
      control_http(control_port(), "POST", "/control/subscribe",
                   json::serialize(json::object{{"applicationServerKey", applicationServerKey}}));
  return r.body.as_object();
}

void FakePushService::script(const std::string& target, json::array responses) {
  control_http(
      control_port(), "POST", "/control/script",
      json::serialize(json::object{{"target", target}, {"responses", std::move(responses)}}));
}

void FakePushService::mode(json::object m) {
  control_http(control_port(), "POST", "/control/mode", json::serialize(m));
}

json::array FakePushService::events() {
  return control_http(control_port(), "GET", "/control/events").body.at("events").as_array();
}

int FakePushService::pending() {
  return static_cast<int>(
      control_http(control_port(), "GET", "/control/pending").body.at("pending").as_int64());
}

std::string subscription_id(const json::object& subscription) {
  std::string ep(subscription.at("endpoint").as_string());
  return ep.substr(ep.rfind('/') + 1);
}

}  // namespace dialtone::test
