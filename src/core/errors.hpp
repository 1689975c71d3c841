// SPDX-License-Identifier: Apache-2.0
// One error vocabulary for every surface (HTTP, WebSocket, later the C ABI and the CLI).
// Each surface maps from ErrorCode at exactly one place.
#pragma once

#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include <dialtone/types.hpp>

namespace dialtone {

std::string_view error_name(ErrorCode code);
int http_status(ErrorCode code);
std::optional<ErrorCode> parse_error_name(std::string_view name);

// Thrown by parsers and validators; caught at the single boundary of each surface.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message, int retryAfterSeconds = 0)
      : std::runtime_error(std::move(message)), code_(code), retry_(retryAfterSeconds) {}
  ErrorCode code() const { return code_; }
  // rate_limited: when to try again (HTTP Retry-After, the WebSocket error's retryAfterSeconds).
  int retry_after_seconds() const { return retry_; }

 private:
  ErrorCode code_;
  int retry_;
};

}  // namespace dialtone
