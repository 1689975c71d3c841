// SPDX-License-Identifier: Apache-2.0
// What a job answers: an error (one of the protocol's codes) or success, with the call document
// or a body of its own. The HTTP and WebSocket sessions turn it into their replies.
#pragma once

#include <boost/json/value.hpp>

#include <memory>
#include <optional>
#include <string>

#include "core/call.hpp"
#include "core/errors.hpp"

namespace dialtone {

struct OpResult {
  ErrorCode error = ErrorCode::ok;
  std::string message;
  int status = 200;                        // 200, 201 or the error's status
  std::optional<Call> call;                // the document (also with busy / invalid_transition)
  std::shared_ptr<const std::string> doc;  // `call` serialized, when the service already did it
  std::optional<boost::json::value> body;  // reads answer with a body of their own
  bool rollback = false;                   // undo this job's writes (its savepoint)
  int retryAfterSeconds = 0;               // rate_limited

  static OpResult fail(ErrorCode e, std::string msg, std::optional<Call> call = std::nullopt) {
    OpResult r;
    r.error = e;
    r.message = std::move(msg);
    r.status = http_status(e);
    r.call = std::move(call);
    return r;
  }
};

}  // namespace dialtone
