// SPDX-License-Identifier: Apache-2.0
// libdialtone: place and answer one-to-one voice calls through dialtoned, with audio over WebRTC.
//
//   dialtone::ClientConfig cfg;
//   cfg.server = "http://127.0.0.1:8080";
//   cfg.token = jwt;                       // or a development token from POST /v1/dev/token
//   cfg.media.input = "device";            // or "tone:440", "file:in.wav"
//   MyListener listener;                   // your dialtone::Listener
//   dialtone::Client client(cfg, listener);
//   client.start_call("bob", [](dialtone::CallResult r) { ... });
//
// Threading: the client runs one thread of its own, the SDK thread. Every Listener method and
// every completion runs on it, one at a time, never under an SDK lock — so one call's events
// arrive in order, and a listener may call back into the client. Do not block the SDK thread
// (e.g. by waiting on a std::future of this client inside a callback: that would deadlock).
// All public methods are thread-safe.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <dialtone/types.hpp>

namespace dialtone {

struct MediaConfig {
  bool enabled = true;  // false: signaling only (the app brings its own media)
  // "device" (default microphone), "device:NAME" (a PulseAudio source), "tone:HZ",
  // "ticks:MS" (a click every MS ms), "file:PATH" or "PATH.wav" (played once), "silence".
  std::string input = "device";
  // "device", "device:NAME" (a PulseAudio sink), "file:PATH" or "PATH.wav", "none".
  std::string output = "device";
  // Pin ICE to these local addresses. Needed on a loopback-only host (libnice skips loopback).
  std::vector<std::string> iceLocalAddresses;
  bool relayOnly = false;  // ICE through TURN only
  int jitterBufferMs = 50;
  int bitrate = 32000;               // Opus, speech; lowered under loss
  int statsIntervalMs = 2000;        // quality polling
  int recoverAfterLossPercent = 20;  // sustained loss above this recovers the path
  // A media path lost for this long (no audio, every recovery failed) ends the call: `fail`
  // with reason `network`, on_error(network) here, `failed`/`network` on the other side.
  int mediaRecoveryTimeoutS = 30;
};

struct ClientConfig {
  // dialtoned's base URL (https://, or http:// on a trusted network); for a cluster, several
  // separated by commas: a connection that fails or drops moves on to the next.
  std::string server = "http://127.0.0.1:8080";
  // A PEM file of certificate authorities trusted for https servers besides the system's
  // (a private CA); empty: the system's only.
  std::string caFile;
  std::string token;  // JWT: Authorization: Bearer (may be empty when tokenProvider is set)
  // Returns a fresh token. Called on the SDK thread, never under an SDK lock: before the first
  // connection when `token` is empty, when the server says the token is about to expire
  // (renewed in band: no reconnect, no gap in a call), after the server closed the connection
  // for an expired token, and once when a connection is refused (401). It may block briefly
  // (the connection waits for it). An empty answer means "not now": the SDK waits for
  // Client::set_token. Without a provider, the app calls set_token itself, and a refused
  // connection is final until it does (ConnectionState::unauthorized).
  std::function<std::string()> tokenProvider;
  std::string deviceId;     // stable per device; empty: the server assigns one, kept for reconnects
  bool autoRinging = true;  // report `ringing` as soon as an incoming call arrives
  std::chrono::milliseconds requestTimeout{10000};
  std::chrono::milliseconds reconnectMin{250}, reconnectMax{10000};
  // Watch the system for network changes (Linux: rtnetlink) and move the connection and the
  // calls' media to the new network at once. Off: the app calls network_changed() itself.
  bool watchNetwork = true;
  MediaConfig media;
};

// Where this device is woken for incoming calls while the app is not running (docs/protocol.md,
// "Push").
struct PushRegistration {
  std::string platform;     // "fcm", "apns" or "webpush"
  std::string token;        // FCM registration token | APNs PushKit (VoIP) token, hex |
                            // Web Push: the browser's PushSubscription JSON
  std::string alertToken;   // APNs: the app's regular token (stop-ringing, missed calls); optional
  std::string environment;  // APNs: "production" or "sandbox"; optional
};

// unauthorized: the server refused the token (401, or the token expired and no fresher one came);
// Listener::on_error (callId empty, ErrorCode::unauthorized) has the server's reason first. The
// client stays there, without retrying, until Client::set_token gives it another token.
enum class ConnectionState { connecting, online, offline, unauthorized };

// The spec's five levels, from packet loss: 0-2 % excellent, 2-5 good, 5-10 fair,
// 10-15 poor, above 15 very poor.
enum class QualityLevel { excellent, good, fair, poor, very_poor };

struct QualityReport {
  QualityLevel level = QualityLevel::excellent;
  double lossPercent = 0;  // over the last polling interval
  double jitterMs = 0;
  std::optional<double> rttMs;
  std::uint64_t packetsReceived = 0;  // total
};

enum class MediaEvent {
  connected,     // ICE + DTLS up and the first audio received (`ready` was sent)
  reconnecting,  // the media path is being recovered; the call goes on
  reconnected,   // audio flows again
};

// Every method has an empty default; override what you need. All run on the SDK thread.
class Listener {
 public:
  virtual ~Listener() = default;
  virtual void on_connection(ConnectionState state) {}
  // Every newer snapshot of any call of this user (incoming calls are snapshots in `calling`).
  virtual void on_call(const CallSnapshot& call) {}
  virtual void on_media(const std::string& callId, MediaEvent event) {}
  virtual void on_quality(const std::string& callId, const QualityReport& report) {}
  // How the audio travels (direct, through the other side's NAT, or relayed over UDP, TCP or
  // TLS): once media is up, and again whenever the selected path changes.
  virtual void on_media_path(const std::string& callId, const MediaPath& path) {}
  // Once media is up: six digits ("123 456") derived from both sides' DTLS fingerprints. Show
  // it; the other side shows the same code unless someone in the signaling path swapped the
  // fingerprints (docs/protocol.md, "Security code"). Again if the media path is rebuilt.
  virtual void on_security_code(const std::string& callId, const std::string& code) {}
  // Something failed that no completion reports (e.g. no microphone: the call is failed too).
  virtual void on_error(const std::string& callId, ErrorCode code, const std::string& message) {}
};

template <class T>
struct Result {
  ErrorCode code = ErrorCode::ok;
  std::string message;
  std::optional<T> value;
  // Where the call exists (busy, invalid_transition), the server's current document.
  std::optional<CallSnapshot> call;
  bool ok() const { return code == ErrorCode::ok; }
};
using CallResult = Result<CallSnapshot>;

// One call's details as the server keeps them (docs/protocol.md, "Call timeline"): the
// document, the timeline and the summary as JSON texts (their fields are documented there), and
// the likely cause, in words, when the call went wrong.
struct CallDetails {
  CallSnapshot call;
  std::string timelineJson;  // an array, in time order
  std::string summaryJson;   // an object
  std::optional<std::string> likelyCause;
};
using BoolResult = Result<bool>;

class Client {
 public:
  // Connects at once and keeps connecting (with backoff) until destroyed. `listener` must
  // outlive the client. Throws std::invalid_argument on a bad config.
  Client(ClientConfig config, Listener& listener);
  // Ends media, closes the connection, joins the SDK thread. No callback runs after it returns.
  // Never from a callback of this client (it would wait for itself: the process aborts).
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  template <class T>
  using Completion = std::function<void(Result<T>)>;

  // The spec's CallService.
  void start_call(const std::string& receiverId, Completion<CallSnapshot> done);
  void accept(const std::string& callId, Completion<CallSnapshot> done);
  void reject(const std::string& callId, Completion<CallSnapshot> done,
              const std::string& reason = "");
  void end(const std::string& callId, Completion<CallSnapshot> done,
           const std::string& reason = "");
  void ringing(const std::string& callId, Completion<CallSnapshot> done);
  // not_found for an unknown user, and for one the server's directory policy hides from you
  // (docs/protocol.md, "Reads"): call start_call and read its busy answer instead.
  void is_user_busy(const std::string& userId, Completion<bool> done);
  // The same, as futures (never wait on one on the SDK thread).
  std::future<CallResult> start_call(const std::string& receiverId);
  std::future<CallResult> accept(const std::string& callId);
  std::future<CallResult> reject(const std::string& callId);
  std::future<CallResult> end(const std::string& callId);
  std::future<BoolResult> is_user_busy(const std::string& userId);

  // This user's calls, newest first (at most `limit`, 1..200), and one call's details.
  void history(int limit, Completion<std::vector<CallSnapshot>> done);
  void call_details(const std::string& callId, Completion<CallDetails> done);
  std::future<Result<std::vector<CallSnapshot>>> history(int limit = 50);
  std::future<Result<CallDetails>> call_details(const std::string& callId);

  // A new token (e.g. the app refreshed its Firebase ID token): renews the current connection in
  // band, or is used by the next connection; leaves the unauthorized state.
  void set_token(const std::string& token);

  // Push targets, registered under ClientConfig::deviceId (required: it is how the server tells
  // this device apart, e.g. not to stop its ringing when it answered). The value is true.
  void register_push(const PushRegistration& registration, Completion<bool> done);
  void unregister_push(Completion<bool> done);

  // In-call controls.
  void set_muted(const std::string& callId, bool muted, Completion<CallSnapshot> done = {});
  // Where received audio goes: "device", "device:NAME" (speaker / earpiece on a desktop is the
  // choice of output device), "file:PATH", "none". Applies to calls that start afterwards and,
  // by restarting the output, to the current one. Throws std::invalid_argument on a bad spec.
  void set_output(const std::string& output);
  // The network changed (e.g. Wi-Fi to mobile): connect again and rebuild every call's media
  // now. On Linux the client notices by itself (ClientConfig::watchNetwork).
  void network_changed();

  // The call timer: time since the server's connectedAt, corrected by the clock offset, so both
  // parties show the same duration. nullopt before `connected`.
  std::optional<std::chrono::milliseconds> elapsed(const std::string& callId) const;
  // Estimated server clock minus local clock.
  std::chrono::milliseconds clock_offset() const;
  std::string user_id() const;    // from the server's hello; empty until then
  std::string device_id() const;  // idem

  class Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

std::string_view error_name(ErrorCode code);
std::string_view quality_name(QualityLevel level);
// Pure: the level for a loss percentage.
QualityLevel quality_for_loss(double lossPercent);

}  // namespace dialtone
