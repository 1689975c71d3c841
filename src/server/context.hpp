// SPDX-License-Identifier: Apache-2.0
// What every connection needs to reach: shared by the listener, HTTP and WebSocket sessions.
#pragma once

#include <atomic>

#include "server/authenticator.hpp"
#include "server/calls/calls.hpp"
#include "server/cluster.hpp"
#include "server/config.hpp"
#include "server/hub.hpp"
#include "server/jwks_source.hpp"
#include "server/limits.hpp"
#include "server/metrics.hpp"
#include "server/push_setup.hpp"
#include "server/signing_secrets.hpp"
#include "server/tls.hpp"

namespace dialtone {

struct ServerContext {
  const Config& config;
  Authenticator& auth;
  Calls& calls;
  Hub& hub;
  Metrics& metrics;
  PushSetup& push;
  SigningSecrets& secrets;
  Limits& limits;
  std::atomic<bool> draining{false};
  const Cluster* cluster = nullptr;  // with other nodes (a bus), else none
  TlsCertificates* tls = nullptr;    // serving HTTPS, else plain HTTP
  JwksSource* jwks = nullptr;        // jwks_url, else none
};

}  // namespace dialtone
