// SPDX-License-Identifier: Apache-2.0
// Push notifications: what is sent (a Notice), to whom (a PushDevice), and the interface each
// push service implements in its own file (fcm.cpp, apns.cpp, webpush.cpp). A provider only
// builds requests and reads replies; push_service.cpp owns the sending, retries and results.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/device.hpp"
#include "core/time.hpp"

namespace dialtone {

enum class NoticeKind {
  incoming_call,   // wake the receiver: high priority, VoIP on iOS
  call_cancelled,  // stop ringing (normal priority, never VoIP)
  missed_call,     // a user-visible "missed call" notification
};
std::string_view notice_type(NoticeKind k);
std::optional<NoticeKind> parse_notice_type(std::string_view s);

struct Notice {
  NoticeKind kind = NoticeKind::incoming_call;
  std::string callId, callerId, callerName, callerPhoto;
  TimeMs timestamp = 0;     // when the call was created
  TimeMs ringDeadline = 0;  // when it stops ringing
  std::string reason;       // call_cancelled: answered_elsewhere | declined_elsewhere |
                            // cancelled | timeout | missed; missed_call: why it was missed
  TimeMs expiresAt = 0;     // worthless after this: TTL and the end of retries
  // The message's data keys, all strings (the seed's keys for incoming_call).
  std::vector<std::pair<std::string, std::string>> data() const;
  bool high_priority() const { return kind == NoticeKind::incoming_call; }
};

// The notice as the push outbox keeps it (a JSON object), and back: nullopt for anything that
// is not one (a row written by something else is dropped, never sent half-read).
std::string notice_to_string(const Notice& n);
std::optional<Notice> notice_from_string(std::string_view text);

struct HttpCall {
  std::string url;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

struct HttpReply {
  long status = 0;                                           // 0: no HTTP response
  std::string transportError;                                // set when status is 0
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;
  std::string header(std::string_view name) const;
};

struct Verdict {
  enum class Kind {
    delivered,
    retry,       // the service is overloaded or unreachable: try again later
    reauth,      // our credential was refused as expired: renew it and try once more
    dead_token,  // the target is gone for good: forget it
    failed,      // anything else: give up on this message
  };
  Kind kind = Kind::failed;
  std::optional<TimeMs> retryAfterMs;  // from Retry-After
  std::string detail;                  // for the log; never a secret
};

class PushProvider {
 public:
  virtual ~PushProvider() = default;
  virtual Platform platform() const = 0;
  // The request delivering `n` to `d`, or nullopt when `d` has no target for this kind of
  // message (an iOS device without a regular token gets no non-VoIP push). `token` is set to
  // the device token used. Throws std::exception when the message cannot be built.
  virtual std::optional<HttpCall> request(const PushDevice& d, const Notice& n, TimeMs now,
                                          std::string& token) = 0;
  virtual Verdict classify(const HttpReply& r) const = 0;

  // Credentials fetched over HTTP before sending (FCM's OAuth2 access token).
  virtual bool auth_ready(TimeMs now) const { return true; }
  virtual std::optional<HttpCall> auth_request(TimeMs now) { return std::nullopt; }
  // Returns false (with `error`) when the reply carries no usable credential.
  virtual bool auth_result(const HttpReply& r, TimeMs now, std::string& error) { return true; }
  virtual void invalidate_auth() {}
};

// Retry-After (RFC 9110 §10.2.3): delay-seconds or an HTTP-date; the delay in ms from `now`.
std::optional<TimeMs> parse_retry_after(std::string_view value, TimeMs now);

}  // namespace dialtone
