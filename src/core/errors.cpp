// SPDX-License-Identifier: Apache-2.0
#include "core/errors.hpp"

namespace dialtone {

std::string_view error_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::ok:
      return "ok";
    case ErrorCode::bad_request:
      return "bad_request";
    case ErrorCode::unauthorized:
      return "unauthorized";
    case ErrorCode::forbidden:
      return "forbidden";
    case ErrorCode::not_found:
      return "not_found";
    case ErrorCode::busy:
      return "busy";
    case ErrorCode::already_in_call:
      return "already_in_call";
    case ErrorCode::invalid_transition:
      return "invalid_transition";
    case ErrorCode::payload_too_large:
      return "payload_too_large";
    case ErrorCode::rate_limited:
      return "rate_limited";
    case ErrorCode::internal:
      return "internal";
    case ErrorCode::unavailable:
      return "unavailable";
    case ErrorCode::network:
      return "network";
    case ErrorCode::media_device:
      return "media_device";
    case ErrorCode::media_failed:
      return "media_failed";
  }
  return "internal";
}

std::optional<ErrorCode> parse_error_name(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(ErrorCode::media_failed); ++i)
    if (error_name(static_cast<ErrorCode>(i)) == name) return static_cast<ErrorCode>(i);
  return std::nullopt;
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::ok:
      return 200;
    case ErrorCode::bad_request:
      return 400;
    case ErrorCode::unauthorized:
      return 401;
    case ErrorCode::forbidden:
      return 403;
    case ErrorCode::not_found:
      return 404;
    case ErrorCode::busy:
    case ErrorCode::already_in_call:
    case ErrorCode::invalid_transition:
      return 409;
    case ErrorCode::payload_too_large:
      return 413;
    case ErrorCode::rate_limited:
      return 429;
    case ErrorCode::internal:
    case ErrorCode::network:
    case ErrorCode::media_device:
    case ErrorCode::media_failed:
      return 500;
    case ErrorCode::unavailable:
      return 503;
  }
  return 500;
}

}  // namespace dialtone
