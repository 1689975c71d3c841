// SPDX-License-Identifier: Apache-2.0
#include "sdk/call_media.hpp"

#include "media/sdp.hpp"

#include <spdlog/spdlog.h>

namespace dialtone::sdk {

namespace json = boost::json;
using media::TransportEvent;
using namespace std::chrono_literals;

QualityReport QualityTracker::update(const media::RtpStats& now, int recoverAbove) {
  QualityReport r;
  r.packetsReceived = now.packetsReceived;
  r.jitterMs = now.jitterS * 1000;
  if (now.rttS) r.rttMs = *now.rttS * 1000;
  if (last && now.haveInbound) {
    double received = double(now.packetsReceived) - double(last->packetsReceived);
    double lost = std::max(0.0, double(now.packetsLost) - double(last->packetsLost));
    if (received + lost > 0) r.lossPercent = 100.0 * lost / (received + lost);
    silentPolls = received <= 0 ? silentPolls + 1 : 0;
  } else if (last && !now.haveInbound) {
    ++silentPolls;
  }
  // Loss among the packets that came. A poll in which none came (the path is cut: the other
  // side sends all the time, silence included) lost everything, and the quality level and the
  // reports must say so (0 % before: a blackout looked perfect in the timeline). Recovery from
  // it is the stall's (silentPolls), not the loss's.
  bool silent = silentPolls > 0;
  highLossPolls = !silent && r.lossPercent > recoverAbove ? highLossPolls + 1 : 0;
  if (silent) r.lossPercent = 100;
  r.level = dialtone::quality_for_loss(r.lossPercent);
  last = now;
  return r;
}

CallMedia::CallMedia(boost::asio::io_context& ioc, std::string callId, media::Role role,
                     MediaConfig cfg, Env env)
    : ioc_(ioc),
      callId_(std::move(callId)),
      role_(role),
      cfg_(std::move(cfg)),
      env_(std::move(env)),
      statsTimer_(ioc),
      iceTimer_(ioc),
      giveUpTimer_(ioc),
      lostTimer_(ioc),
      relayTimer_(ioc) {}

CallMedia::~CallMedia() {
  close();
}

void CallMedia::prepare() {
  if (!transport_ && !closed_) start_transport();
}

void CallMedia::start_transport() {
  int gen = ++generation_;
  // The ICE servers may come after this call's media is gone (another device answered while
  // the credentials were being fetched): the callback must not touch a destroyed object.
  env_.iceServers(
      [this, gen, alive = std::weak_ptr<int>(alive_)](std::vector<media::IceServer> servers) {
        if (alive.expired() || closed_ || gen != generation_) return;
        media::TransportOptions o;
        o.role = role_;
        o.input = cfg_.input;
        o.iceServers = std::move(servers);
        o.localAddresses = cfg_.iceLocalAddresses;
        o.relayOnly = cfg_.relayOnly;
        o.jitterBufferMs = cfg_.jitterBufferMs;
        o.bitrate = cfg_.bitrate;
        o.muted = muted_;
        media::Transport::Callbacks cb;
        cb.signal = [this, gen](json::object d) {
          if (gen != generation_) return;
          remember_sdp(d, localSdp_);
          send(std::move(d));
        };
        cb.event = [this, gen](TransportEvent e) {
          if (gen == generation_) on_event(e);
        };
        cb.stats = [this, gen](media::RtpStats s) {
          if (gen == generation_) on_stats(s);
        };
        cb.error = [this, gen](ErrorCode code, std::string msg) {
          if (gen != generation_ || closed_) return;
          spdlog::warn("MEDIA_ERROR callId={} code={} {}", callId_, error_name(code), msg);
          if (code == ErrorCode::media_device || !readySent_) {
            env_.failed(code, msg);  // no microphone or no path at all: the call cannot go on
          } else {
            recover("transport error");
          }
        };
        auto out = env_.output();
        if (!out) return;
        transport_ = media::make_webrtc_transport(std::move(o), std::move(out), env_.post, cb);
        dtls_ = audio_ = offerApplied_ = false;
        // The offerer is ICE-controlling: it holds the other side's relay candidates a moment.
        relayHold_ = media::RelayHold(role_ == media::Role::offerer);
        heldRelays_.clear();
        relayTimer_.cancel();
        localSdp_.clear();
        remoteSdp_.clear();
        quality_ = {};  // a new transport counts packets from zero
        transport_->start();
        arm_stats();
        auto waiting = std::move(waiting_);
        for (auto& d : waiting) on_signal(d);
      });
}

void CallMedia::remember_sdp(const json::object& data, std::string& into) {
  auto* type = data.if_contains("type");
  auto* sdp = data.if_contains("sdp");
  if (type && type->is_string() &&
      (type->get_string() == "offer" || type->get_string() == "answer") && sdp && sdp->is_string())
    into = std::string(sdp->get_string());
}

void CallMedia::send(json::object data) {
  if (released_)
    env_.signal(std::move(data));
  else
    held_.push_back(std::move(data));
}

void CallMedia::release() {
  if (released_ || closed_) return;
  released_ = true;
  for (auto& d : held_) env_.signal(std::move(d));
  held_.clear();
  if (!transport_) start_transport();
  // No media within the server's media timeout fails the call there; here we give up a little
  // earlier with a clear reason if nothing ever connected.
  giveUpTimer_.expires_after(25s);
  // A timer's handler can already be queued when cancel() runs in close(): it would then see
  // success after this object is gone. Every handler checks `alive` first.
  giveUpTimer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (alive.expired()) return;
    if (!ec && !readySent_ && !closed_)
      env_.failed(ErrorCode::media_failed, "no media path within 25 s");
  });
}

void CallMedia::on_signal(const json::object& data) {
  if (closed_) return;
  auto* type = data.if_contains("type");
  if (!type || !type->is_string()) return;
  std::string_view t = type->get_string();
  if (t != "candidate") spdlog::debug("MEDIA_SIGNAL_IN callId={} type={}", callId_, t);
  if (t == "restart") {
    if (role_ == media::Role::offerer) recover("the other side asked");
    return;
  }
  bool sameConnection = false;  // the o= session of the offer we answered
  if (auto* sdp = data.if_contains("sdp");
      t == "offer" && sdp && sdp->is_string() && !remoteSdp_.empty()) {
    auto answered = media::session_id(remoteSdp_);
    sameConnection =
        !answered.empty() && answered == media::session_id(std::string(sdp->get_string()));
  }
  if (t == "offer" && role_ == media::Role::answerer && transport_ && offerApplied_ &&
      !sameConnection) {
    // A new offer from a new connection: the offerer rebuilt its transport. (An offer of the
    // same connection — a browser's ICE restart — goes to the transport we have: webrtcbin
    // takes a remote restart, and a rebuilt one would start DTLS the other side never left.)
    reconnecting("signaling");  // the other side rebuilt its path
    transport_.reset();
    start_transport();
  }
  if (!transport_) {
    waiting_.push_back(data);  // the transport waits for its ICE servers; keep the order
    return;
  }
  if (t == "offer") offerApplied_ = true;
  if (auto* c = data.if_contains("candidate");
      t == "candidate" && c && c->is_string() && !relayHold_.admit(c->get_string()))
    return hold_relay(data);
  remember_sdp(data, remoteSdp_);
  transport_->on_remote(data);
}

void CallMedia::hold_relay(const json::object& data) {
  heldRelays_.push_back(data);
  if (heldRelays_.size() > 1) return;
  relayTimer_.expires_after(media::kRelayHold);
  relayTimer_.async_wait(
      [this, gen = generation_, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
        if (ec || alive.expired() || closed_ || gen != generation_ || !transport_) return;
        relayHold_.release();
        auto held = std::move(heldRelays_);
        heldRelays_.clear();
        for (auto& d : held) transport_->on_remote(d);
      });
}

void CallMedia::set_muted(bool muted) {
  muted_ = muted;
  if (transport_) transport_->set_muted(muted);
}

namespace {

// The report's cause for why a recovery started.
const char* recovery_cause(const std::string& why) {
  if (why == "ICE failed") return "ice_failed";
  if (why == "ICE disconnected") return "ice_disconnected";
  if (why == "sustained loss") return "loss";
  if (why.find("no packets") != std::string::npos) return "stall";
  if (why == "the other side asked") return "signaling";
  if (why.rfind("network", 0) == 0) return "network_change";
  return "other";
}

}  // namespace

void CallMedia::report(json::object event) {
  if (env_.report) env_.report(std::move(event));
}

void CallMedia::recover(const std::string& why, bool at_once) {
  if (closed_ || !released_) return;
  auto now = std::chrono::steady_clock::now();
  if (now - lastRecovery_ < 4s && !at_once) return;  // one attempt at a time
  lastRecovery_ = now;
  spdlog::info("MEDIA_RECOVER callId={} role={} why={}", callId_,
               role_ == media::Role::offerer ? "offerer" : "answerer", why);
  reconnecting(recovery_cause(why));
  if (role_ == media::Role::offerer) {
    transport_.reset();
    start_transport();
  } else {
    env_.signal(json::object{{"type", "restart"}});  // the caller re-offers
  }
}

void CallMedia::reconnecting(const char* cause) {
  // Before media first came up there is nothing to reconnect: the call is still connecting,
  // and the 25 s limit of release() applies.
  if (recovering_ || !readySent_) return;
  recovering_ = true;
  lostAt_ = std::chrono::steady_clock::now();
  report(json::object{{"type", "recovery_started"}, {"cause", cause}});
  env_.event(MediaEvent::reconnecting);
  // Recovery goes on (a new transport, a restart asked of the other side) until this deadline;
  // then the call ends: someone waiting in "Reconnecting…" forever is worse than a failed call.
  lostTimer_.expires_after(std::chrono::seconds(cfg_.mediaRecoveryTimeoutS));
  lostTimer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (alive.expired() || ec || closed_ || !recovering_) return;
    spdlog::warn("MEDIA_LOST callId={} seconds={}", callId_, cfg_.mediaRecoveryTimeoutS);
    report(json::object{{"type", "recovery_ended"},
                        {"outcome", "gave_up"},
                        {"durationMs", cfg_.mediaRecoveryTimeoutS * 1000}});
    env_.failed(ErrorCode::network, "the media path was lost for " +
                                        std::to_string(cfg_.mediaRecoveryTimeoutS) +
                                        " s; the call has ended");
  });
}

void CallMedia::on_event(TransportEvent e) {
  switch (e) {
    case TransportEvent::dtls_connected:
      dtls_ = true;
      iceTimer_.cancel();
      // SRTP flows from here: the sender starts with DTLS.
      if (!sentReported_) {
        sentReported_ = true;
        report(json::object{{"type", "first_audio_sent"}});
      }
      break;
    case TransportEvent::first_audio:
      audio_ = true;
      if (!audioReported_) {
        audioReported_ = true;
        report(json::object{{"type", "first_audio_received"}});
      }
      break;
    case TransportEvent::ice_connected:
      iceTimer_.cancel();
      return;
    case TransportEvent::ice_disconnected:
      // Often transient (a few lost checks); recover only if it lasts.
      iceTimer_.expires_after(3s);
      iceTimer_.async_wait(
          [this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
            if (alive.expired()) return;
            if (!ec) recover("ICE disconnected");
          });
      return;
    case TransportEvent::ice_failed:
      recover("ICE failed");
      return;
  }
  if (!(dtls_ && audio_)) return;
  // The code of the SDPs this transport negotiated (a rebuilt transport has a new certificate,
  // so a new code).
  if (auto code = media::security_code(localSdp_, remoteSdp_); code && *code != code_) {
    code_ = *code;
    spdlog::info("MEDIA_SECURITY_CODE callId={} code=\"{}\"", callId_, code_);
    if (env_.securityCode) env_.securityCode(code_);
  }
  if (!readySent_) {
    readySent_ = true;
    giveUpTimer_.cancel();
    spdlog::info("MEDIA_CONNECTED callId={}", callId_);
    env_.ready();
    env_.event(MediaEvent::connected);
    if (transport_) transport_->poll_stats();  // the path now, not at the next poll
  } else if (recovering_) {
    recovering_ = false;
    lostTimer_.cancel();
    spdlog::info("MEDIA_RECONNECTED callId={}", callId_);
    report(json::object{{"type", "recovery_ended"},
                        {"outcome", "recovered"},
                        {"durationMs", std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::steady_clock::now() - lostAt_)
                                           .count()}});
    env_.event(MediaEvent::reconnected);
  }
}

void CallMedia::arm_stats() {
  statsTimer_.expires_after(std::chrono::milliseconds(cfg_.statsIntervalMs));
  statsTimer_.async_wait([this, alive = std::weak_ptr<int>(alive_)](boost::system::error_code ec) {
    if (alive.expired() || ec || closed_) return;
    if (transport_ && released_) transport_->poll_stats();
    arm_stats();
  });
}

void CallMedia::on_stats(const media::RtpStats& s) {
  if (!readySent_) return;
  QualityReport r = quality_.update(s, cfg_.recoverAfterLossPercent);
  spdlog::debug("CALL_QUALITY callId={} loss={:.1f} jitterMs={:.1f} level={}", callId_,
                r.lossPercent, r.jitterMs, static_cast<int>(r.level));
  env_.quality(r);
  auto now = std::chrono::steady_clock::now();
  if (now - lastSample_ >= 5s) {
    lastSample_ = now;
    json::object q{{"type", "quality"},
                   {"lossPercent", std::clamp(r.lossPercent, 0.0, 100.0)},
                   {"jitterMs", std::clamp(r.jitterMs, 0.0, 60'000.0)}};
    if (r.rttMs) q["rttMs"] = std::clamp(*r.rttMs, 0.0, 60'000.0);
    report(std::move(q));
  }
  auto known = [](const std::string& v, std::initializer_list<std::string_view> values) {
    return std::find(values.begin(), values.end(), v) != values.end();
  };
  if (s.path && s.path != path_ && known(s.path->local, {"host", "srflx", "prflx", "relay"}) &&
      known(s.path->remote, {"host", "srflx", "prflx", "relay"}) &&
      known(s.path->protocol, {"udp", "tcp", "tls"})) {
    report(json::object{{"type", path_ ? "path_changed" : "media_connected"},
                        {"local", s.path->local},
                        {"remote", s.path->remote},
                        {"protocol", s.path->protocol}});
    path_ = s.path;
    spdlog::info("MEDIA_PATH callId={} local={} remote={} protocol={}", callId_, path_->local,
                 path_->remote, path_->protocol);
    if (env_.path) env_.path(*path_);
  }
  if (transport_) transport_->adapt_to_loss(static_cast<int>(r.lossPercent));
  if (quality_.highLossPolls >= 2)
    recover("sustained loss");
  else if (quality_.silentPolls >= 2 && !recovering_)
    recover("no packets");
  else if (quality_.silentPolls >= 2) {
    lastRecovery_ = {};  // still nothing after a recovery: try again
    recover("still no packets");
  }
}

void CallMedia::close() {
  if (closed_) return;
  closed_ = true;
  statsTimer_.cancel();
  iceTimer_.cancel();
  giveUpTimer_.cancel();
  lostTimer_.cancel();
  relayTimer_.cancel();
  transport_.reset();
}

}  // namespace dialtone::sdk

namespace dialtone {

QualityLevel quality_for_loss(double loss) {
  if (loss <= 2) return QualityLevel::excellent;
  if (loss <= 5) return QualityLevel::good;
  if (loss <= 10) return QualityLevel::fair;
  if (loss <= 15) return QualityLevel::poor;
  return QualityLevel::very_poor;
}

std::string_view quality_name(QualityLevel level) {
  switch (level) {
    case QualityLevel::excellent:
      return "excellent";
    case QualityLevel::good:
      return "good";
    case QualityLevel::fair:
      return "fair";
    case QualityLevel::poor:
      return "poor";
    case QualityLevel::very_poor:
      return "very_poor";
  }
  return "very_poor";
}

}  // namespace dialtone
