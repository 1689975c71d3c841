// SPDX-License-Identifier: Apache-2.0
/* libdialtone's C ABI: the C++ SDK (dialtone/client.hpp) for dart:ffi, Swift, Kotlin/JNI, or C.
 *
 * Handles are opaque; every function is thread-safe. Errors are dt_error codes — the protocol's
 * error codes plus the SDK's own (network, media_device, media_failed), in the order of the C++
 * dialtone::ErrorCode.
 *
 * Threads: every callback (the dt_callbacks and each completion) runs on the client's own SDK
 * thread, one at a time, in order, never while the SDK holds a lock; it may call any dt_ function
 * except dt_client_free. Pointers passed to a callback (dt_call, strings) are valid only during
 * that callback: copy what you keep. Return quickly; do not block the SDK thread.
 */
#ifndef DIALTONE_H
#define DIALTONE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DT_API __attribute__((visibility("default")))

typedef enum dt_error {
  DT_OK = 0,
  DT_BAD_REQUEST,
  DT_UNAUTHORIZED,
  DT_FORBIDDEN,
  DT_NOT_FOUND,
  DT_BUSY,
  DT_ALREADY_IN_CALL,
  DT_INVALID_TRANSITION,
  DT_PAYLOAD_TOO_LARGE,
  DT_RATE_LIMITED,
  DT_INTERNAL,
  DT_UNAVAILABLE,
  DT_NETWORK,      /* the server could not be reached in time */
  DT_MEDIA_DEVICE, /* no microphone, no permission, or no output device */
  DT_MEDIA_FAILED  /* the media path could not be set up or recovered */
} dt_error;

typedef enum dt_call_state {
  DT_CALLING = 0,
  DT_RINGING,
  DT_ACCEPTED,
  DT_CONNECTING,
  DT_CONNECTED,
  DT_ENDED,
  DT_REJECTED,
  DT_TIMEOUT,
  DT_BUSY_STATE,
  DT_FAILED
} dt_call_state;

typedef enum dt_connection_state {
  DT_CONNECTING_TO_SERVER = 0,
  DT_ONLINE,
  DT_OFFLINE,
  /* The server refused the token (401) or it expired and no fresher one came; on_error (call_id
   * "", DT_UNAUTHORIZED) had the server's reason just before. Nothing is retried until
   * dt_set_token. */
  DT_CONNECTION_UNAUTHORIZED
} dt_connection_state;
typedef enum dt_media_event {
  DT_MEDIA_CONNECTED = 0,
  DT_MEDIA_RECONNECTING,
  DT_MEDIA_RECONNECTED
} dt_media_event;
typedef enum dt_quality_level {
  DT_EXCELLENT = 0,
  DT_GOOD,
  DT_FAIR,
  DT_POOR,
  DT_VERY_POOR
} dt_quality_level;

/* A call snapshot (protocol v1 call document). Times are ms since the Unix epoch, server clock;
 * -1 where the document has null. Optional strings are NULL when absent. */
typedef struct dt_call {
  const char* call_id;
  const char* caller_id;
  const char* caller_name;
  const char* caller_photo;
  const char* receiver_id;
  const char* receiver_name;
  const char* receiver_photo;
  dt_call_state state;
  int caller_ready, receiver_ready;
  int64_t timestamp_ms, connected_at_ms, last_updated_ms, ring_deadline_ms;
  int64_t duration_seconds;
  const char* reason;
  const char* answered_by;
  int ringing_devices;
  int caller_muted, receiver_muted;
  int64_t version;
  /* The incoming-call pushes: devices targeted, delivered, failed; all -1 when none was sent. */
  int64_t push_targets, push_sent, push_failed;
} dt_call;

typedef struct dt_quality {
  dt_quality_level level;
  double loss_percent, jitter_ms;
  double rtt_ms; /* -1 when not known yet */
  uint64_t packets_received;
} dt_quality;

typedef struct dt_config {
  const char*
      server; /* "https://host" or "http://127.0.0.1:8080"; a cluster: "http://a:8080,http://b:8080" */
  const char* token;               /* JWT (required unless callbacks->token_provider is set) */
  const char* device_id;           /* NULL: assigned by the server */
  int media_enabled;               /* 1 (default) */
  const char* input;               /* "device" (default), "tone:HZ", "file:PATH", "silence" ... */
  const char* output;              /* "device" (default), "file:PATH", "none" ... */
  const char* ice_local_addresses; /* comma-separated, e.g. "127.0.0.1"; NULL: all */
  int relay_only;                  /* 0 (default) */
  int auto_ringing;                /* 1 (default) */
  const char* ca_file; /* PEM CAs trusted for an https server besides the system's; NULL: none */
  /* A media path lost this long ends the call (fail, reason "network"); 0: the default, 30 s.
   * 1 to 3600. */
  int media_recovery_timeout_s;
} dt_config;

typedef struct dt_callbacks {
  void* user; /* passed back as the first argument */
  void (*on_connection)(void* user, dt_connection_state state);
  void (*on_call)(void* user, const dt_call* call);
  void (*on_media)(void* user, const char* call_id, dt_media_event event);
  void (*on_quality)(void* user, const char* call_id, const dt_quality* quality);
  void (*on_error)(void* user, const char* call_id, dt_error code, const char* message);
  /* Once media is up: six digits ("123 456") from both sides' DTLS fingerprints; the other
   * side shows the same unless the signaling path swapped them. Again if media is rebuilt. */
  void (*on_security_code)(void* user, const char* call_id, const char* code);
  /* Optional: a fresh token, on the SDK thread (before the first connection when config->token
   * is NULL, when the server says the token is about to expire, after it closed the connection
   * for an expired token, once after a refused connection). The SDK copies the string as soon as
   * the callback returns; keep it valid until then (e.g. in a buffer behind `user`). NULL or "":
   * not now (e.g. a Dart isolate fetching it asynchronously): call
   * dt_set_token when it has one. */
  const char* (*token_provider)(void* user);
  /* Optional: how the audio travels, once media is up and whenever it changes. `local` and
   * `remote` are candidate types ("host", "srflx", "prflx", "relay"); `protocol` is how this
   * side reaches its first hop ("udp"; "tcp" or "tls" for a relay reached over TCP or TLS). */
  void (*on_media_path)(void* user, const char* call_id, const char* local, const char* remote,
                        const char* protocol);
} dt_callbacks;

/* Completions: `call` is the resulting document (or, on DT_BUSY / DT_INVALID_TRANSITION, the
 * current one), NULL when there is none. */
typedef void (*dt_call_done)(void* user, dt_error code, const char* message, const dt_call* call);
typedef void (*dt_bool_done)(void* user, dt_error code, const char* message, int value);
/* This user's calls, newest first: `count` documents (valid during the callback only). */
typedef void (*dt_calls_done)(void* user, dt_error code, const char* message, const dt_call* calls,
                              size_t count);
/* One call's details (docs/protocol.md, "Call timeline"): its document, the timeline (a JSON
 * array) and the summary (a JSON object), and the likely cause in words (NULL when the call went
 * well). NULLs on an error. Valid during the callback only. */
typedef void (*dt_details_done)(void* user, dt_error code, const char* message, const dt_call* call,
                                const char* timeline_json, const char* summary_json,
                                const char* likely_cause);

typedef struct dt_client dt_client;

DT_API void dt_config_init(dt_config* config);
/* NULL on a bad config; then `error` (if not NULL) holds why, truncated to error_size. */
DT_API dt_client* dt_client_new(const dt_config* config, const dt_callbacks* callbacks, char* error,
                                size_t error_size);
/* Ends media and the connection; no callback runs after it returns. Never from a callback. */
DT_API void dt_client_free(dt_client* client);

/* The spec's CallService. `done` may be NULL. */
DT_API void dt_start_call(dt_client* c, const char* receiver_id, dt_call_done done, void* user);
DT_API void dt_accept(dt_client* c, const char* call_id, dt_call_done done, void* user);
DT_API void dt_reject(dt_client* c, const char* call_id, const char* reason, dt_call_done done,
                      void* user);
DT_API void dt_end(dt_client* c, const char* call_id, const char* reason, dt_call_done done,
                   void* user);
DT_API void dt_ringing(dt_client* c, const char* call_id, dt_call_done done, void* user);
DT_API void dt_is_user_busy(dt_client* c, const char* user_id, dt_bool_done done, void* user);
/* Call history (at most `limit`, 1..200) and one call's details. */
DT_API void dt_history(dt_client* c, int limit, dt_calls_done done, void* user);
DT_API void dt_call_details(dt_client* c, const char* call_id, dt_details_done done, void* user);

/* Push targets under the config's device_id (required): platform "fcm", "apns" or "webpush";
 * token: the FCM registration token, the APNs PushKit (VoIP) token in hex, or the Web Push
 * subscription JSON; alert_token (APNs' regular token) and environment ("production" or
 * "sandbox") may be NULL. done gets value 1 on success. */
DT_API void dt_register_push(dt_client* c, const char* platform, const char* token,
                             const char* alert_token, const char* environment, dt_bool_done done,
                             void* user);
DT_API void dt_unregister_push(dt_client* c, dt_bool_done done, void* user);

/* In-call controls. */
DT_API void dt_set_muted(dt_client* c, const char* call_id, int muted, dt_call_done done,
                         void* user);
DT_API dt_error dt_set_output(dt_client* c, const char* output);
DT_API void dt_network_changed(dt_client* c);
/* A new token: renews the connection in band, or is used by the next one; leaves
 * DT_CONNECTION_UNAUTHORIZED. Any thread. */
DT_API void dt_set_token(dt_client* c, const char* token);
/* The call timer in ms (server connectedAt, clock offset applied); -1 before connected. */
DT_API int64_t dt_elapsed_ms(dt_client* c, const char* call_id);
DT_API int64_t dt_clock_offset_ms(dt_client* c);

DT_API const char* dt_error_name(dt_error code);
DT_API const char* dt_state_name(dt_call_state state);

#ifdef __cplusplus
}
#endif

#endif /* DIALTONE_H */
