// SPDX-License-Identifier: Apache-2.0
// The loopback push services (tests/push/fake_push_service.mjs, run by Node) and the files
// dialtoned needs to talk to them: a service account, an APNs key, the test CA.
#pragma once

#include <boost/json.hpp>

#include <memory>
#include <string>
#include <vector>

#include "support/node_service.hpp"

namespace dialtone::test {

class FakePushService {
 public:
  FakePushService();
  ~FakePushService();
  FakePushService(const FakePushService&) = delete;

  int tls_port() const { return node_->port(0); }
  int control_port() const { return node_->port(1); }
  // dialtoned flags pointing every push service at this fake.
  std::vector<std::string> server_flags() const;

  // A browser's PushSubscription for `applicationServerKey` (base64url).
  boost::json::object subscribe(const std::string& applicationServerKey);
  // The next requests to `target` (device token or subscription id) get `responses`.
  void script(const std::string& target, boost::json::array responses);
  // POST /control/mode: hangAll, record, delayMs, goawayAfter (see fake_push_service.mjs).
  void mode(boost::json::object m);
  boost::json::array events();
  int pending();

 private:
  std::string dir_;
  std::unique_ptr<NodeService> node_;
};

// The subscription id at the end of a fake Web Push endpoint.
std::string subscription_id(const boost::json::object& subscription);

}  // namespace dialtone::test
