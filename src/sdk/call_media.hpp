// SPDX-License-Identifier: Apache-2.0
// One call's media, from the SDK's point of view: prepared while ringing, released on accept,
// `ready` only once audio really flows, quality from stats, recovery of the path without ending
// the call. The transports (one per attempt) do the GStreamer work; this decides.
// Runs on the SDK thread only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <dialtone/client.hpp>

#include "media/relay_hold.hpp"
#include "media/transport.hpp"

namespace dialtone::sdk {

// Pure: quality from two consecutive stats polls.
struct QualityTracker {
  std::optional<media::RtpStats> last;
  int highLossPolls = 0;  // consecutive polls above the recovery threshold
  int silentPolls = 0;    // consecutive polls with no packet at all
  QualityReport update(const media::RtpStats& now, int recoverAbove);
};

class CallMedia {
 public:
  struct Env {
    std::function<void(boost::json::object data)> signal;  // through the server's `signal` op
    std::function<void()> ready;                           // the `ready` op, once
    std::function<void(ErrorCode, std::string)> failed;    // media cannot work: fail the call
    std::function<void(MediaEvent)> event;
    std::function<void(const QualityReport&)> quality;
    std::function<void(const MediaPath&)> path;            // the selected candidate pair, on change
    std::function<void(const std::string&)> securityCode;  // once media is up, and on change
    // A media event for the call's timeline (the server's `report` op; docs/protocol.md).
    std::function<void(boost::json::object)> report;
    // Current ICE servers, refreshed first when the TURN credentials are near expiry.
    std::function<void(std::function<void(std::vector<media::IceServer>)>)> iceServers;
    std::function<std::shared_ptr<media::AudioOut>()> output;
    media::Transport::Post post;
  };

  CallMedia(boost::asio::io_context& ioc, std::string callId, media::Role role, MediaConfig cfg,
            Env env);
  ~CallMedia();

  // While ringing: build the pipeline; an offerer also creates its offer and gathers.
  void prepare();
  // Accepted: what an offerer prepared goes out; from now on signals flow directly.
  void release();
  void on_signal(const boost::json::object& data);
  void set_muted(bool muted);
  // Builds a fresh transport (webrtcbin 1.22 ignores ice-restart offers it creates itself).
  // `now`: at once, even within the pause between attempts (the network changed).
  void recover(const std::string& why, bool now = false);
  void close();

 private:
  void start_transport();
  void on_event(media::TransportEvent e);
  void on_stats(const media::RtpStats& s);
  void arm_stats();
  // The path is lost (`cause`: a report's recovery cause): tell the app once, and give it a
  // deadline.
  void reconnecting(const char* cause);
  void report(boost::json::object event);
  void send(boost::json::object data);
  void hold_relay(const boost::json::object& data);  // media/relay_hold.hpp
  static void remember_sdp(const boost::json::object& data, std::string& into);

  boost::asio::io_context& ioc_;
  std::string callId_;
  media::Role role_;
  MediaConfig cfg_;
  Env env_;
  std::unique_ptr<media::Transport> transport_;
  std::vector<boost::json::object> held_;     // our signals prepared before accept
  std::vector<boost::json::object> waiting_;  // theirs, arrived before our transport
  bool released_ = false, closed_ = false, muted_ = false;
  bool dtls_ = false, audio_ = false, offerApplied_ = false, readySent_ = false,
       recovering_ = false;
  int generation_ = 0;
  std::string localSdp_, remoteSdp_;  // the offer/answer pair of the current transport
  std::string code_;                  // the security code shown
  std::optional<MediaPath> path_;     // the path last reported
  QualityTracker quality_;
  media::RelayHold relayHold_{false};  // the other side's relay candidates, held a moment
  std::vector<boost::json::object> heldRelays_;
  boost::asio::steady_timer statsTimer_, iceTimer_, giveUpTimer_, lostTimer_, relayTimer_;
  std::chrono::steady_clock::time_point lastRecovery_{};
  std::chrono::steady_clock::time_point lostAt_{};      // this recovery began
  std::chrono::steady_clock::time_point lastSample_{};  // the last quality sample reported
  bool audioReported_ = false, sentReported_ = false;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // expires with this object
};

}  // namespace dialtone::sdk
