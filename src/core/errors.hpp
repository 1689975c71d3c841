// One error vocabulary for every surface (HTTP, WebSocket, later the C ABI and the CLI).
// Each surface maps from ErrorCode at exactly one place.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace dialtone {

enum class ErrorCode {
  ok = 0,
  bad_request,
  unauthorized,
  forbidden,
  not_found,
  busy,
  already_in_call,
  invalid_transition,
  payload_too_large,
  rate_limited,
  internal,     // extension: the server failed (e.g. the store); nothing changed
  unavailable,  // extension: the server is shutting down or its store is not ready
};

std::string_view error_name(ErrorCode code);
int http_status(ErrorCode code);

// Thrown by parsers and validators; caught at the single boundary of each surface.
class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message)
      : std::runtime_error(std::move(message)), code_(code) {}
  ErrorCode code() const { return code_; }

 private:
  ErrorCode code_;
};

}  // namespace dialtone
