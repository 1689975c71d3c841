// SPDX-License-Identifier: Apache-2.0
// Tells systemd (Type=notify) how the service is: READY=1 once the store is migrated and the
// port is open, RELOADING=1 / READY=1 around a SIGHUP, STOPPING=1 at shutdown, with a STATUS=
// line for `systemctl status`. Does nothing when not started by systemd (no NOTIFY_SOCKET).
#pragma once

#include <string>

namespace dialtone {

void notify_ready(const std::string& status);
void notify_reloading();
void notify_stopping();

}  // namespace dialtone
