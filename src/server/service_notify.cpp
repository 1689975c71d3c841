// SPDX-License-Identifier: Apache-2.0
#include "server/service_notify.hpp"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

namespace dialtone {

namespace {

void notify(const std::string& state) {
  int r = sd_notify(0, state.c_str());
  if (r < 0) spdlog::warn("SD_NOTIFY_FAILED state=\"{}\" error={}", state, -r);
}

}  // namespace

void notify_ready(const std::string& status) {
  notify("READY=1\nSTATUS=" + status);
}

void notify_reloading() {
  notify("RELOADING=1\nSTATUS=reloading");
}

void notify_stopping() {
  notify("STOPPING=1\nSTATUS=stopping");
}

}  // namespace dialtone
