// SPDX-License-Identifier: Apache-2.0
// One attempt at a call's media path: a GStreamer pipeline around webrtcbin (Opus, DTLS-SRTP,
// ICE with STUN/TURN). A call may go through several (recovery builds a fresh one); the
// decisions — when to offer, when to recover, when media counts as up — live in CallMedia.
//
// Threading: every method is called on the SDK loop. GStreamer's threads (webrtcbin's own,
// streaming threads) never touch the transport's state: they copy what they saw and `post` it
// to the SDK loop, where the callbacks run. After close() returns, no callback runs.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <dialtone/types.hpp>

namespace dialtone::media {

class AudioOut;

struct IceServer {
  std::vector<std::string> urls;  // stun:, turn:, turns: (RTCIceServer)
  std::string username, credential;
};

enum class Role { offerer, answerer };

struct TransportOptions {
  Role role = Role::offerer;
  // "tone:HZ", "file:PATH" (a WAV file, played once, then silence), "silence", "device" (the
  // default microphone) or "device:NAME" (a PulseAudio source).
  std::string input = "device";
  std::vector<IceServer> iceServers;
  std::vector<std::string> localAddresses;  // pin ICE to these (libnice skips loopback otherwise)
  bool relayOnly = false;
  int jitterBufferMs = 50;
  int bitrate = 32000;
  bool muted = false;
  // Measurements only: the audio as it enters the encoder (48 kHz mono S16), with the capture
  // time of its first sample on the monotonic clock (ns). Runs on a streaming thread.
  std::function<void(const std::int16_t*, std::size_t, std::int64_t)> sendTap;
};

struct RtpStats {
  bool haveInbound = false;
  std::uint64_t packetsReceived = 0;
  std::int64_t packetsLost = 0;
  double jitterS = 0;
  std::optional<double> rttS;           // from RTCP receiver reports (refreshed every few seconds)
  std::uint64_t candidatesRefused = 0;  // the other side's candidates that matched no section
  std::optional<MediaPath> path;        // the selected candidate pair, once there is one
};

enum class TransportEvent {
  ice_connected,
  ice_disconnected,
  ice_failed,
  dtls_connected,
  first_audio
};

class Transport {
 public:
  using Post = std::function<void(std::function<void()>)>;
  struct Callbacks {
    std::function<void(boost::json::object)> signal;  // an offer, answer or candidate to send
    std::function<void(TransportEvent)> event;
    std::function<void(RtpStats)> stats;
    std::function<void(ErrorCode, std::string)> error;  // the transport is unusable
  };
  virtual ~Transport() = default;

  // Builds the pipeline and starts it; an offerer creates its offer and starts gathering.
  virtual void start() = 0;
  // The other side's offer, answer or candidate (protocol "Media signaling").
  virtual void on_remote(const boost::json::object& data) = 0;
  virtual void set_muted(bool muted) = 0;
  // Tunes Opus for the loss the other side reports: FEC strength and bitrate.
  virtual void adapt_to_loss(int lossPercent) = 0;
  virtual void poll_stats() = 0;
  virtual void close() = 0;
  // The pipeline's base time on the monotonic clock (ns): a live source's sample at running
  // time t was captured at base + t. For latency measurements; 0 before start().
  virtual std::uint64_t base_time_ns() const = 0;
};

std::unique_ptr<Transport> make_webrtc_transport(TransportOptions opts,
                                                 std::shared_ptr<AudioOut> out,
                                                 Transport::Post post, Transport::Callbacks cb);

}  // namespace dialtone::media
