// SPDX-License-Identifier: Apache-2.0
// The Transport on GStreamer's webrtcbin. See ../shared notes on webrtcbin (Debian 12, 1.22):
// loopback needs explicit local addresses, TURN URLs need percent-escaped credentials, an answer
// must reuse the offer's Opus payload type, and no webrtcbin callback may block.
#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <nice/agent.h>

#include <spdlog/spdlog.h>
#include <boost/json.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <thread>

#include "core/errors.hpp"
#include "media/audio_out.hpp"
#include "media/ice_url.hpp"
#include "media/reaper.hpp"
#include "media/sdp.hpp"
#include "media/transport.hpp"
#include "media/webrtc_stats.hpp"

namespace dialtone::media {

namespace json = boost::json;

namespace {

std::string source_description(const std::string& spec) {
  auto rest = [&](size_t n) { return spec.substr(n); };
  if (spec.rfind("tone:", 0) == 0)
    return "audiotestsrc is-live=true wave=sine volume=0.3 freq=" + rest(5);
  if (spec.rfind("ticks:", 0) == 0)
    return "audiotestsrc is-live=true wave=ticks freq=1000 volume=0.8 tick-interval=" +
           std::to_string(std::stoll(rest(6)) * 1000000);
  if (spec == "silence") return "audiotestsrc is-live=true wave=silence";
  if (spec == "device") return "autoaudiosrc";
  if (spec.rfind("device:", 0) == 0) return "pulsesrc device=\"" + rest(7) + "\"";
  // A file plays once; a live silent source keeps the stream going (and paced) afterwards.
  std::string path = spec.rfind("file:", 0) == 0 ? rest(5) : spec;
  // The mixer comes last: the caller appends the rest of the sending branch to it.
  return "filesrc location=\"" + path +
         "\" ! wavparse ! audioconvert ! audioresample ! mix. "
         "audiotestsrc is-live=true wave=silence ! mix. audiomixer name=mix";
}

std::string escape(const std::string& s) {
  gchar* e = g_uri_escape_string(s.c_str(), nullptr, FALSE);
  std::string out(e);
  g_free(e);
  return out;
}

// "turn:host:port?transport=udp" + credentials -> "turn://user:pass@host:port?transport=udp".
std::string gst_ice_uri(const std::string& url, const IceServer& s) {
  auto colon = url.find(':');
  std::string scheme = url.substr(0, colon), rest = url.substr(colon + 1);
  while (!rest.empty() && rest.front() == '/') rest.erase(0, 1);
  if (scheme == "stun" || scheme == "stuns") return scheme + "://" + rest;
  return scheme + "://" + escape(s.username) + ":" + escape(s.credential) + "@" + rest;
}

GstCaps* rtp_caps(int pt) {
  return gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, "audio", "encoding-name",
                             G_TYPE_STRING, "OPUS", "clock-rate", G_TYPE_INT, 48000, "payload",
                             G_TYPE_INT, pt, "encoding-params", G_TYPE_STRING, "2", "useinbandfec",
                             G_TYPE_STRING, "1", nullptr);
}

// True when no interface that is up has an address other than loopback or link-local.
bool only_loopback() {
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return false;
  bool other = false;
  for (ifaddrs* i = list; i && !other; i = i->ifa_next) {
    if (!i->ifa_addr || !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK)) continue;
    if (i->ifa_addr->sa_family == AF_INET) other = true;
    if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* a6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      other = !IN6_IS_ADDR_LINKLOCAL(&a6->sin6_addr);
    }
  }
  freeifaddrs(list);
  return !other;
}

class WebrtcTransport;

// What GStreamer's threads may reach: immutable after construction, or atomic. They copy what
// they saw into a closure and post it; only the SDK loop turns `core` into a strong pointer.
struct Link {
  Transport::Post post;
  std::weak_ptr<WebrtcTransport> core;
  std::shared_ptr<AudioOut> out;
  std::atomic<bool> firstAudio{false};

  template <class F>
  void on_loop(F f) {
    post([w = core, f = std::move(f)]() mutable {
      if (auto c = w.lock()) f(*c);
    });
  }
};
using LinkPtr = std::shared_ptr<Link>;

LinkPtr& link_of(gpointer p) {
  return *static_cast<LinkPtr*>(p);
}
gpointer new_link_ref(const LinkPtr& l) {
  return new LinkPtr(l);
}
void free_link_ref(gpointer p, GClosure* = nullptr) {
  delete static_cast<LinkPtr*>(p);
}
void free_link_ref_notify(gpointer p) {
  delete static_cast<LinkPtr*>(p);
}

class WebrtcTransport : public std::enable_shared_from_this<WebrtcTransport> {
 public:
  WebrtcTransport(TransportOptions o, std::shared_ptr<AudioOut> out, Transport::Post post,
                  Transport::Callbacks cb)
      : opts_(std::move(o)), out_(std::move(out)), post_(std::move(post)), cb_(std::move(cb)) {}
  ~WebrtcTransport() { close(); }

  void start();
  void on_remote(const json::object& data);
  void set_muted(bool m) {
    if (volume_) g_object_set(volume_, "mute", m ? TRUE : FALSE, nullptr);
  }
  void adapt_to_loss(int loss);
  void poll_stats();
  void close();

  // Continuations, run on the SDK loop.
  void create_offer();
  void offer_created(GstWebRTCSessionDescription* offer);
  void remote_offer_set();
  void answer_created(GstWebRTCSessionDescription* answer);
  void fail(ErrorCode code, std::string msg) {
    if (closed_) return;
    if (cb_.error) cb_.error(code, std::move(msg));
  }
  // A state change that failed: with a device as input, the microphone is the likely cause.
  void fail_to_start(const std::string& what) {
    bool device = opts_.input.rfind("device", 0) == 0;
    fail(device ? ErrorCode::media_device : ErrorCode::media_failed,
         device ? "cannot open the audio input '" + opts_.input + "'" : what);
  }
  void event(TransportEvent e) {
    if (!closed_ && cb_.event) cb_.event(e);
  }
  void signal(json::object o) {
    if (!closed_ && cb_.signal) cb_.signal(std::move(o));
  }
  void stats(RtpStats s) {
    if (closed_) return;
    s.candidatesRefused = candidatesRefused_;
    if (s.path && s.path->local == "relay") s.path->protocol = relay_protocol_now();
    if (cb_.stats) cb_.stats(s);
  }
  std::string relay_protocol_now();
  // A candidate webrtcbin gathered for section `mline`: sent with that section's a=mid in our
  // local description (webrtcbin gives only the index) and the index.
  void local_candidate(guint mline, const std::string& c) {
    signal(json::object{{"type", "candidate"},
                        {"candidate", c},
                        {"sdpMid", candidate_mid(mline, localMids_)},
                        {"sdpMLineIndex", mline}});
  }
  const TransportOptions& options() const { return opts_; }
  std::uint64_t base_time_ns() const {
    return pipeline_ ? gst_element_get_base_time(pipeline_) : 0;
  }

 private:
  void build();
  void link_sender(int pt);
  template <class Fn>
  void connect(GObject* obj, const char* name, Fn fn) {
    g_signal_connect_data(obj, name, G_CALLBACK(fn), new_link_ref(link_), free_link_ref,
                          GConnectFlags(0));
  }

  TransportOptions opts_;
  std::shared_ptr<AudioOut> out_;
  Transport::Post post_;
  Transport::Callbacks cb_;
  LinkPtr link_;
  GstElement* pipeline_ = nullptr;
  GstElement* webrtc_ = nullptr;
  GstElement* source_ = nullptr;  // the sending branch: source ... rtpopuspay ! capsfilter
  GstElement* volume_ = nullptr;
  GstElement* encoder_ = nullptr;
  GstElement* payloader_ = nullptr;
  GstElement* rtpcaps_ = nullptr;
  bool senderLinked_ = false;
  bool offerRequested_ = false;
  bool closed_ = false;
  std::vector<std::string> localMids_;   // a=mid of each section of our local description
  std::vector<std::string> remoteMids_;  // … and of the remote one
  std::uint64_t candidatesRefused_ = 0;  // received candidates that matched no section
};

// --- GStreamer-thread callbacks: copy, post, return ------------------------------------------

void on_negotiation_needed(GstElement*, gpointer p) {
  link_of(p)->on_loop([](WebrtcTransport& t) { t.create_offer(); });
}

void on_ice_candidate(GstElement*, guint mline, gchar* candidate, gpointer p) {
  link_of(p)->on_loop(
      [mline, c = std::string(candidate)](WebrtcTransport& t) { t.local_candidate(mline, c); });
}

void on_gathering_state(GObject* obj, GParamSpec*, gpointer p) {
  GstWebRTCICEGatheringState s;
  g_object_get(obj, "ice-gathering-state", &s, nullptr);
  if (s != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE) return;
  link_of(p)->on_loop([](WebrtcTransport& t) {
    t.signal(json::object{{"type", "candidate"}, {"candidate", ""}});
  });
}

void on_ice_state(GObject* obj, GParamSpec*, gpointer p) {
  GstWebRTCICEConnectionState s;
  g_object_get(obj, "ice-connection-state", &s, nullptr);
  std::optional<TransportEvent> e;
  if (s == GST_WEBRTC_ICE_CONNECTION_STATE_CONNECTED ||
      s == GST_WEBRTC_ICE_CONNECTION_STATE_COMPLETED)
    e = TransportEvent::ice_connected;
  else if (s == GST_WEBRTC_ICE_CONNECTION_STATE_DISCONNECTED)
    e = TransportEvent::ice_disconnected;
  else if (s == GST_WEBRTC_ICE_CONNECTION_STATE_FAILED)
    e = TransportEvent::ice_failed;
  if (e) link_of(p)->on_loop([e = *e](WebrtcTransport& t) { t.event(e); });
}

void on_connection_state(GObject* obj, GParamSpec*, gpointer p) {
  GstWebRTCPeerConnectionState s;
  g_object_get(obj, "connection-state", &s, nullptr);
  if (s == GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED)
    link_of(p)->on_loop([](WebrtcTransport& t) { t.event(TransportEvent::dtls_connected); });
}

GstFlowReturn on_decoded(GstAppSink* sink, gpointer p) {
  GstSample* sample = gst_app_sink_pull_sample(sink);
  if (!sample) return GST_FLOW_EOS;
  auto& link = link_of(p);
  if (GstBuffer* buf = gst_sample_get_buffer(sample)) link->out->push(buf);
  gst_sample_unref(sample);
  if (!link->firstAudio.exchange(true))
    link->on_loop([](WebrtcTransport& t) { t.event(TransportEvent::first_audio); });
  return GST_FLOW_OK;
}

// Runs on a streaming thread: builds and links the receiving branch (GStreamer objects only).
// Its appsink does not preroll (async=false): a sink added to a playing pipeline that prerolls
// makes the pipeline lose its PLAYING state until it has, which stalled this side's sending for
// ~50 ms right when the other side's first audio was on its way (measured: the other side's
// jitter buffer got one packet, then the next 47 ms later; mouth-to-ear 61 → 37 ms without it).
void on_pad_added(GstElement* webrtc, GstPad* pad, gpointer p) {
  if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC) return;
  GError* err = nullptr;
  GstElement* bin = gst_parse_bin_from_description(
      "rtpopusdepay ! opusdec plc=true use-inband-fec=true ! audioconvert ! audioresample ! "
      "audio/x-raw,format=S16LE,rate=48000,channels=1,layout=interleaved ! "
      "appsink name=out sync=false async=false max-buffers=50 drop=true",
      TRUE, &err);
  if (err) {
    link_of(p)->on_loop([m = std::string(err->message)](WebrtcTransport& t) {
      t.fail(ErrorCode::media_failed, "receive branch: " + m);
    });
    g_error_free(err);
    return;
  }
  GstElement* appsink = gst_bin_get_by_name(GST_BIN(bin), "out");
  GstAppSinkCallbacks cbs{};
  cbs.new_sample = on_decoded;
  gst_app_sink_set_callbacks(GST_APP_SINK(appsink), &cbs, new_link_ref(link_of(p)),
                             free_link_ref_notify);
  gst_object_unref(appsink);
  GstElement* pipeline = GST_ELEMENT(gst_element_get_parent(webrtc));
  gst_bin_add(GST_BIN(pipeline), bin);
  gst_element_sync_state_with_parent(bin);
  GstPad* sinkpad = gst_element_get_static_pad(bin, "sink");
  if (gst_pad_link(pad, sinkpad) != GST_PAD_LINK_OK)
    link_of(p)->on_loop([](WebrtcTransport& t) {
      t.fail(ErrorCode::media_failed, "cannot link the received stream");
    });
  gst_object_unref(sinkpad);
  gst_object_unref(pipeline);
}

GstBusSyncReply on_bus(GstBus*, GstMessage* msg, gpointer p) {
  if (GST_MESSAGE_TYPE(msg) == GST_MESSAGE_ERROR) {
    GError* err = nullptr;
    gchar* dbg = nullptr;
    gst_message_parse_error(msg, &err, &dbg);
    std::string where = GST_OBJECT_NAME(GST_MESSAGE_SRC(msg));
    std::string text = err ? err->message : "unknown error";
    // Errors from the capture side mean no usable microphone (or no permission).
    bool device = false;
    for (GstObject* o = GST_MESSAGE_SRC(msg); o; o = GST_OBJECT_PARENT(o))
      if (g_strcmp0(GST_OBJECT_NAME(o), "sender") == 0) device = true;
    link_of(p)->on_loop([device, where, text](WebrtcTransport& t) {
      bool dev = device && t.options().input.rfind("device", 0) == 0;
      t.fail(dev ? ErrorCode::media_device : ErrorCode::media_failed,
             (dev ? "audio input: " : "media: ") + text + " (" + where + ")");
    });
    if (err) g_error_free(err);
    g_free(dbg);
  }
  return GST_BUS_DROP;
}

void on_stats(GstPromise* promise, gpointer p) {
  RtpStats r;
  if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED)
    if (const GstStructure* reply = gst_promise_get_reply(promise)) r = read_stats(reply);
  gst_promise_unref(promise);
  link_of(p)->on_loop([r](WebrtcTransport& t) { t.stats(r); });
}

using Desc = std::shared_ptr<GstWebRTCSessionDescription>;
Desc take_desc(GstWebRTCSessionDescription* d) {
  return Desc(d, [](GstWebRTCSessionDescription* x) { gst_webrtc_session_description_free(x); });
}

void on_offer(GstPromise* promise, gpointer p) {
  GstWebRTCSessionDescription* offer = nullptr;
  if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED)
    gst_structure_get(gst_promise_get_reply(promise), "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                      &offer, nullptr);
  gst_promise_unref(promise);
  link_of(p)->on_loop([d = take_desc(offer)](WebrtcTransport& t) {
    t.offer_created(gst_webrtc_session_description_copy(d.get()));
  });
}

void on_remote_offer_set(GstPromise* promise, gpointer p) {
  gst_promise_unref(promise);
  link_of(p)->on_loop([](WebrtcTransport& t) { t.remote_offer_set(); });
}

void on_answer(GstPromise* promise, gpointer p) {
  GstWebRTCSessionDescription* answer = nullptr;
  if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED)
    gst_structure_get(gst_promise_get_reply(promise), "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION,
                      &answer, nullptr);
  gst_promise_unref(promise);
  link_of(p)->on_loop([d = take_desc(answer)](WebrtcTransport& t) {
    t.answer_created(gst_webrtc_session_description_copy(d.get()));
  });
}

GstPromise* promise_to(GstPromiseChangeFunc fn, const LinkPtr& link) {
  return gst_promise_new_with_change_func(fn, new_link_ref(link), free_link_ref_notify);
}

std::string sdp_text(const GstWebRTCSessionDescription* d) {
  gchar* t = gst_sdp_message_as_text(d->sdp);
  std::string s(t);
  g_free(t);
  return s;
}

// --- The SDK-loop side --------------------------------------------------------------------

void WebrtcTransport::start() {
  link_ = std::make_shared<Link>();
  link_->post = post_;
  link_->core = weak_from_this();
  link_->out = out_;
  try {
    build();
  } catch (const Error& e) {
    fail(e.code(), e.what());
    return;
  }
  if (opts_.role == Role::offerer) link_sender(111);
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    fail_to_start("the media pipeline did not start");
  }
}

void WebrtcTransport::build() {
  ensure_gstreamer();
  pipeline_ = gst_pipeline_new("call");
  webrtc_ = gst_element_factory_make("webrtcbin", "webrtc");
  if (!webrtc_) throw Error(ErrorCode::media_failed, "webrtcbin is not installed");
  gst_bin_add(GST_BIN(pipeline_), webrtc_);
  g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency",
               static_cast<guint>(opts_.jitterBufferMs), nullptr);
  // The jitter buffer holds the first packet for its whole latency before it lets anything
  // through (then in-order packets go at once, and the latency is only how long it waits for
  // a missing one): with fast start it lets audio through once two packets in a row have come,
  // ~40 ms sooner. (GStreamer 1.22's rtpjitterbuffer; webrtcbin's rtpbin makes one per stream.)
  if (GstElement* rtpbin = gst_bin_get_by_name(GST_BIN(webrtc_), "rtpbin")) {
    g_signal_connect(
        rtpbin, "new-jitterbuffer",
        G_CALLBACK(+[](GstElement*, GstElement* jb, guint, guint, gpointer) {
          if (g_object_class_find_property(G_OBJECT_GET_CLASS(jb), "faststart-min-packets"))
            g_object_set(jb, "faststart-min-packets", 2u, nullptr);
        }),
        nullptr);
    gst_object_unref(rtpbin);
  }
  if (opts_.relayOnly)
    g_object_set(webrtc_, "ice-transport-policy", GST_WEBRTC_ICE_TRANSPORT_POLICY_RELAY, nullptr);
  bool haveStun = false;
  for (const auto& s : opts_.iceServers)
    for (const auto& url : s.urls) {
      if (url.rfind("stun:", 0) == 0 && !haveStun) {
        g_object_set(webrtc_, "stun-server", gst_ice_uri(url, s).c_str(), nullptr);
        haveStun = true;
      } else if (url.rfind("turn", 0) == 0) {
        gboolean ok = FALSE;
        g_signal_emit_by_name(webrtc_, "add-turn-server",
                              gst_ice_uri(as_libnice_sees_it(url), s).c_str(), &ok);
      }
    }
  {
    GObject* ice = nullptr;
    g_object_get(webrtc_, "ice-agent", &ice, nullptr);
    NiceAgent* agent = nullptr;
    if (ice) g_object_get(ice, "agent", &agent, nullptr);
    // ICE over UDP only (TURN over TCP/TLS still works: it is a relay, not ICE-TCP); fewer pairs
    // to check makes connecting faster.
    if (ice) g_object_set(ice, "ice-tcp", FALSE, nullptr);
    if (agent) {
      // No UPnP port mapping (libnice's default sends SSDP multicast to the LAN and waits up to
      // 200 ms for an answer); TURN covers what UPnP would.
      g_object_set(agent, "upnp", FALSE, nullptr);
      // Pace connectivity checks every 5 ms instead of 20 (a handful of pairs for one audio
      // stream; RFC 8445 allows a lower Ta when the checks are few).
      g_object_set(agent, "stun-pacing-timer", 5u, nullptr);
      // libnice skips loopback interfaces: on a host whose only network is loopback (a
      // container, a test namespace) a call would gather nothing and sit in `new`. There, use
      // the loopback addresses rather than none.
      auto addresses = opts_.localAddresses;
      if (addresses.empty() && only_loopback()) addresses = {"127.0.0.1", "::1"};
      for (const auto& a : addresses) {
        NiceAddress addr;
        if (nice_address_set_from_string(&addr, a.c_str()))
          nice_agent_add_local_address(agent, &addr);
      }
      g_object_unref(agent);
    }
    if (ice) g_object_unref(ice);
  }

  std::string desc =
      source_description(opts_.input) +
      " ! audioconvert ! audioresample ! audio/x-raw,format=S16LE,rate=48000,channels=1 ! "
      "volume name=volume ! opusenc name=enc audio-type=voice frame-size=20 "
      "inband-fec=true dtx=true packet-loss-percentage=5 bitrate=" +
      std::to_string(opts_.bitrate) + " ! rtpopuspay name=pay ! capsfilter name=rtpcaps";
  GError* err = nullptr;
  source_ = gst_parse_bin_from_description(desc.c_str(), TRUE, &err);
  if (err) {
    std::string m = err->message;
    g_error_free(err);
    throw Error(ErrorCode::media_failed, "sending branch: " + m);
  }
  gst_object_set_name(GST_OBJECT(source_), "sender");
  // A live source must not run unlinked (it stops with not-linked): the sending branch joins
  // the pipeline when it is linked — at once for an offerer, at the offer for an answerer.
  gst_object_ref_sink(source_);
  volume_ = gst_bin_get_by_name(GST_BIN(source_), "volume");
  encoder_ = gst_bin_get_by_name(GST_BIN(source_), "enc");
  payloader_ = gst_bin_get_by_name(GST_BIN(source_), "pay");
  rtpcaps_ = gst_bin_get_by_name(GST_BIN(source_), "rtpcaps");
  set_muted(opts_.muted);
  if (opts_.sendTap) {
    // The tap's data lives in the probe's user data; only GStreamer objects are touched.
    struct Tap {
      std::function<void(const std::int16_t*, std::size_t, std::int64_t)> fn;
      GstElement* pipeline;
    };
    GstPad* pad = gst_element_get_static_pad(volume_, "src");
    gst_pad_add_probe(
        pad, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer p) -> GstPadProbeReturn {
          auto* tap = static_cast<Tap*>(p);
          GstBuffer* buf = GST_PAD_PROBE_INFO_BUFFER(info);
          GstMapInfo map;
          if (GST_BUFFER_PTS_IS_VALID(buf) && gst_buffer_map(buf, &map, GST_MAP_READ)) {
            auto capture = static_cast<std::int64_t>(gst_element_get_base_time(tap->pipeline) +
                                                     GST_BUFFER_PTS(buf));
            tap->fn(reinterpret_cast<const std::int16_t*>(map.data), map.size / 2, capture);
            gst_buffer_unmap(buf, &map);
          }
          return GST_PAD_PROBE_OK;
        },
        new Tap{opts_.sendTap, pipeline_}, [](gpointer p) { delete static_cast<Tap*>(p); });
    gst_object_unref(pad);
  }

  GObject* w = G_OBJECT(webrtc_);
  connect(w, "on-negotiation-needed", on_negotiation_needed);
  connect(w, "on-ice-candidate", on_ice_candidate);
  connect(w, "pad-added", on_pad_added);
  connect(w, "notify::ice-gathering-state", on_gathering_state);
  connect(w, "notify::ice-connection-state", on_ice_state);
  connect(w, "notify::connection-state", on_connection_state);
  GstBus* bus = gst_element_get_bus(pipeline_);
  gst_bus_set_sync_handler(bus, on_bus, new_link_ref(link_), free_link_ref_notify);
  gst_object_unref(bus);
}

void WebrtcTransport::link_sender(int pt) {
  if (senderLinked_) return;
  senderLinked_ = true;
  g_object_set(payloader_, "pt", static_cast<guint>(pt), nullptr);
  GstCaps* caps = rtp_caps(pt);
  g_object_set(rtpcaps_, "caps", caps, nullptr);
  gst_caps_unref(caps);
  gst_bin_add(GST_BIN(pipeline_), source_);
  GstPad* src = gst_element_get_static_pad(source_, "src");
  GstPad* sink = gst_element_request_pad_simple(webrtc_, "sink_%u");
  if (gst_pad_link(src, sink) != GST_PAD_LINK_OK)
    fail(ErrorCode::media_failed, "cannot link the sending branch");
  gst_object_unref(src);
  gst_object_unref(sink);
  if (!gst_element_sync_state_with_parent(source_)) {
    fail_to_start("the sending branch did not start");
  }
}

void WebrtcTransport::create_offer() {
  if (closed_ || opts_.role != Role::offerer || offerRequested_) return;
  offerRequested_ = true;
  // Answered on webrtcbin's thread; the promise posts the offer back to the loop.
  g_signal_emit_by_name(webrtc_, "create-offer", nullptr, promise_to(on_offer, link_));
}

void WebrtcTransport::offer_created(GstWebRTCSessionDescription* offer) {
  if (closed_) {
    if (offer) gst_webrtc_session_description_free(offer);
    return;
  }
  if (!offer) return fail(ErrorCode::media_failed, "webrtcbin produced no offer");
  g_signal_emit_by_name(webrtc_, "set-local-description", offer, nullptr);
  std::string text = sdp_text(offer);
  localMids_ = media_mids(text);
  signal(json::object{{"type", "offer"}, {"sdp", std::move(text)}});
  gst_webrtc_session_description_free(offer);
}

void WebrtcTransport::remote_offer_set() {
  if (closed_) return;
  g_signal_emit_by_name(webrtc_, "create-answer", nullptr, promise_to(on_answer, link_));
}

void WebrtcTransport::answer_created(GstWebRTCSessionDescription* answer) {
  if (closed_ || !answer) {
    if (answer)
      gst_webrtc_session_description_free(answer);
    else
      fail(ErrorCode::media_failed, "webrtcbin produced no answer");
    return;
  }
  g_signal_emit_by_name(webrtc_, "set-local-description", answer, nullptr);
  std::string text = sdp_text(answer);
  localMids_ = media_mids(text);
  signal(json::object{{"type", "answer"}, {"sdp", std::move(text)}});
  gst_webrtc_session_description_free(answer);
}

void WebrtcTransport::on_remote(const json::object& data) {
  if (closed_ || !webrtc_) return;
  auto* type = data.if_contains("type");
  if (!type || !type->is_string()) return;
  std::string_view t = type->get_string();
  if (t == "offer" || t == "answer") {
    auto* sdp = data.if_contains("sdp");
    if (!sdp || !sdp->is_string()) return fail(ErrorCode::media_failed, "SDP without text");
    std::string text(sdp->get_string());
    bool isOffer = t == "offer";
    if (isOffer != (opts_.role == Role::answerer)) return;  // not ours to take
    GstSDPMessage* msg = nullptr;
    if (gst_sdp_message_new_from_text(text.c_str(), &msg) != GST_SDP_OK)
      return fail(ErrorCode::media_failed, "unreadable SDP");
    if (isOffer) {
      auto pt = opus_payload_type(text);
      if (!pt) {
        gst_sdp_message_free(msg);
        return fail(ErrorCode::media_failed, "the offer has no Opus audio");
      }
      link_sender(*pt);
    }
    remoteMids_ = media_mids(text);
    GstWebRTCSessionDescription* d = gst_webrtc_session_description_new(
        isOffer ? GST_WEBRTC_SDP_TYPE_OFFER : GST_WEBRTC_SDP_TYPE_ANSWER, msg);
    g_signal_emit_by_name(webrtc_, "set-remote-description", d,
                          isOffer ? promise_to(on_remote_offer_set, link_) : nullptr);
    gst_webrtc_session_description_free(d);
  } else if (t == "candidate") {
    auto* c = data.if_contains("candidate");
    if (!c || !c->is_string() || c->get_string().empty()) return;  // end of candidates
    // W3C addIceCandidate: the mid names the section, else the index; one that matches no
    // section of the remote description is refused — counted and said, never applied elsewhere.
    std::optional<std::string> mid;
    if (auto* m = data.if_contains("sdpMid"); m && m->is_string())
      mid = std::string(m->get_string());
    std::optional<long long> index;
    if (auto* m = data.if_contains("sdpMLineIndex"); m && m->is_int64()) index = m->get_int64();
    auto target = candidate_target(mid, index, remoteMids_);
    if (!target.mline) {
      ++candidatesRefused_;
      spdlog::debug("MEDIA_CANDIDATE_REFUSED {} (refused in this call: {})", target.why,
                    candidatesRefused_);
      return;
    }
    std::string cand(c->get_string());
    g_signal_emit_by_name(webrtc_, "add-ice-candidate", *target.mline, cand.c_str());
  }
}

void WebrtcTransport::adapt_to_loss(int loss) {
  if (!encoder_) return;
  // More loss: more FEC redundancy, less bitrate so the redundancy does not add congestion.
  int bitrate = loss < 2 ? opts_.bitrate : loss < 10 ? opts_.bitrate * 3 / 4 : opts_.bitrate / 2;
  g_object_set(encoder_, "packet-loss-percentage", std::clamp(loss, 5, 50), "bitrate",
               std::max(bitrate, 12000), nullptr);
}

// webrtcbin 1.22 reports every relay's protocol as "none"; libnice knows which TURN server the
// selected relay candidate came from and whether it was reached over UDP (its type preference).
std::string WebrtcTransport::relay_protocol_now() {
  std::string protocol = "udp";
  GObject* ice = nullptr;
  g_object_get(webrtc_, "ice-agent", &ice, nullptr);
  NiceAgent* agent = nullptr;
  if (ice) g_object_get(ice, "agent", &agent, nullptr);
  if (agent) {
    for (guint stream = 1; stream <= 4; ++stream) {
      NiceCandidate *local = nullptr, *remote = nullptr;  // owned by the agent
      if (!nice_agent_get_selected_pair(agent, stream, 1, &local, &remote) ||
          local->type != NICE_CANDIDATE_TYPE_RELAYED)
        continue;
      NiceAddress server;
      nice_candidate_relay_address(local, &server);
      char host[NICE_ADDRESS_STRING_LEN] = {};
      nice_address_to_string(&server, host);
      // libnice: type preference 30 for a relay over UDP, 20 over TCP or TLS.
      bool overUdp = (local->priority >> 24) >= 30;
      std::vector<std::string> urls;
      for (const auto& s : opts_.iceServers)
        for (const auto& u : s.urls) urls.push_back(as_libnice_sees_it(u));
      protocol =
          relay_protocol(urls, host, static_cast<int>(nice_address_get_port(&server)), overUdp);
      break;
    }
    g_object_unref(agent);
  }
  if (ice) g_object_unref(ice);
  return protocol;
}

void WebrtcTransport::poll_stats() {
  if (closed_ || !webrtc_) return;
  g_signal_emit_by_name(webrtc_, "get-stats", nullptr, promise_to(on_stats, link_));
}

void WebrtcTransport::close() {
  if (closed_) return;
  closed_ = true;
  for (GstElement** e : {&volume_, &encoder_, &payloader_, &rtpcaps_})
    if (*e) gst_object_unref(*e), *e = nullptr;
  GstElement *pipeline = pipeline_, *webrtc = webrtc_, *source = source_;
  pipeline_ = webrtc_ = source_ = nullptr;
  bool turn = false;
  for (const auto& s : opts_.iceServers)
    for (const auto& u : s.urls) turn = turn || u.rfind("turn", 0) == 0;
  // Off the SDK thread: with TURN, first release the relay allocations (libnice sends a Refresh
  // with lifetime 0 when a stream is removed; torn down at once, the allocation would hold a
  // relay port on the TURN server until it expires), then stop the pipeline.
  retire([pipeline, webrtc, source, turn] {
    if (pipeline && webrtc && turn) {
      // Stop the streams first, so that nothing is sent on a stream being removed.
      gst_element_set_state(pipeline, GST_STATE_READY);
      GObject* ice = nullptr;
      g_object_get(webrtc, "ice-agent", &ice, nullptr);
      NiceAgent* agent = nullptr;
      if (ice) g_object_get(ice, "agent", &agent, nullptr);
      if (agent) {
        for (guint id = 1; id <= 4; ++id) nice_agent_remove_stream(agent, id);
        g_object_unref(agent);
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
      }
      if (ice) g_object_unref(ice);
    }
    if (pipeline) {
      GstBus* bus = gst_element_get_bus(pipeline);
      gst_element_set_state(pipeline, GST_STATE_NULL);
      gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
      gst_object_unref(bus);
    }
    if (source) {
      gst_element_set_state(source, GST_STATE_NULL);  // when it never joined the pipeline
      gst_object_unref(source);
    }
    if (pipeline) gst_object_unref(pipeline);
  });
}

class TransportHandle : public Transport {
 public:
  explicit TransportHandle(std::shared_ptr<WebrtcTransport> t) : t_(std::move(t)) {}
  ~TransportHandle() override { t_->close(); }
  void start() override { t_->start(); }
  void on_remote(const json::object& data) override { t_->on_remote(data); }
  void set_muted(bool m) override { t_->set_muted(m); }
  void adapt_to_loss(int loss) override { t_->adapt_to_loss(loss); }
  void poll_stats() override { t_->poll_stats(); }
  void close() override { t_->close(); }
  std::uint64_t base_time_ns() const override { return t_->base_time_ns(); }

 private:
  std::shared_ptr<WebrtcTransport> t_;
};

}  // namespace

std::unique_ptr<Transport> make_webrtc_transport(TransportOptions opts,
                                                 std::shared_ptr<AudioOut> out,
                                                 Transport::Post post, Transport::Callbacks cb) {
  return std::make_unique<TransportHandle>(std::make_shared<WebrtcTransport>(
      std::move(opts), std::move(out), std::move(post), std::move(cb)));
}

}  // namespace dialtone::media
