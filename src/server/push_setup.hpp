// Builds the push service from the configuration: one provider per configured push service
// (Web Push always, its VAPID key made on first start), results wired to the engine and metrics.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "push/push_service.hpp"
#include "push/webpush_crypto.hpp"
#include "server/config.hpp"
#include "server/metrics.hpp"

namespace dialtone {

class Engine;

struct PushSetup {
  std::shared_ptr<Vapid> vapid;
  std::vector<std::string> webpushHosts;
  std::unique_ptr<PushService> service;
};

// Throws ConfigError when a credential file cannot be used.
PushSetup make_push(const Config& c, Metrics& metrics, Engine& engine);

// POST /v1/devices: validates a registration for `userId`; throws Error(bad_request) naming the
// defect, and refuses platforms this server has no credentials for.
PushDevice parse_device_registration(std::string_view body, const std::string& userId,
                                     const PushSetup& push);

}  // namespace dialtone
