// SPDX-License-Identifier: Apache-2.0
// Builds the push service from the configuration: one provider per configured push service
// (Web Push always, its VAPID key made on first start), results wired to the call path and metrics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "push/push_service.hpp"
#include "push/webpush_crypto.hpp"
#include "server/config.hpp"
#include "server/device_registration.hpp"
#include "server/metrics.hpp"

namespace dialtone {

class Calls;

struct PushSetup {
  std::shared_ptr<Vapid> vapid;
  std::unique_ptr<PushService> service;
  PushReach reach;  // for registrations
};

// Throws ConfigError when a credential file cannot be used.
PushSetup make_push(const Config& c, Metrics& metrics, Calls& calls);

}  // namespace dialtone
