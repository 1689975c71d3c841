// SPDX-License-Identifier: Apache-2.0
#include "media/webrtc_stats.hpp"

#include <gst/webrtc/webrtc.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <map>
#include <string>

namespace dialtone::media {

namespace {

// What one get-stats reply holds, gathered field by field: the RTP figures, and the pieces of
// the selected path (the transport names its selected pair, the pair names its candidates).
// Candidates are matched by id: their type labels alone can be swapped.
struct StatsScan {
  struct Candidate {
    std::string type, protocol, relayProtocol;
  };
  RtpStats r;
  std::string selectedPair;
  std::map<std::string, std::pair<std::string, std::string>> pairs;  // id → (local, remote)
  std::map<std::string, Candidate> candidates;
};

std::string field_text(const GstStructure* s, const char* name) {
  const GValue* v = gst_structure_get_value(s, name);
  if (!v) return {};
  if (G_VALUE_HOLDS_STRING(v)) return g_value_get_string(v) ? g_value_get_string(v) : "";
  if (G_VALUE_HOLDS_ENUM(v)) {
    GEnumClass* k = static_cast<GEnumClass*>(g_type_class_ref(G_VALUE_TYPE(v)));
    GEnumValue* e = g_enum_get_value(k, g_value_get_enum(v));
    std::string out = e ? e->value_nick : "";
    g_type_class_unref(k);
    return out;
  }
  return {};
}

gboolean stats_field(GQuark, const GValue* v, gpointer out) {
  if (!GST_VALUE_HOLDS_STRUCTURE(v)) return TRUE;
  const GstStructure* s = gst_value_get_structure(v);
  GstWebRTCStatsType type;
  if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr)) return TRUE;
  auto* scan = static_cast<StatsScan*>(out);
  RtpStats* r = &scan->r;
  if (type == GST_WEBRTC_STATS_INBOUND_RTP) {
    guint64 received = 0;
    gint64 lost = 0;
    double jitter = 0;
    gst_structure_get_uint64(s, "packets-received", &received);
    gst_structure_get_int64(s, "packets-lost", &lost);
    gst_structure_get_double(s, "jitter", &jitter);
    r->haveInbound = true;
    r->packetsReceived += received;
    r->packetsLost += lost;
    r->jitterS = std::max(r->jitterS, jitter);
  } else if (type == GST_WEBRTC_STATS_REMOTE_INBOUND_RTP) {
    double rtt = 0;
    if (gst_structure_get_double(s, "round-trip-time", &rtt) && rtt > 0) r->rttS = rtt;
  } else if (type == GST_WEBRTC_STATS_TRANSPORT) {
    if (auto id = field_text(s, "selected-candidate-pair-id"); !id.empty()) scan->selectedPair = id;
  } else if (type == GST_WEBRTC_STATS_CANDIDATE_PAIR) {
    scan->pairs[field_text(s, "id")] = {field_text(s, "local-candidate-id"),
                                        field_text(s, "remote-candidate-id")};
  } else if (type == GST_WEBRTC_STATS_LOCAL_CANDIDATE ||
             type == GST_WEBRTC_STATS_REMOTE_CANDIDATE) {
    scan->candidates[field_text(s, "id")] = {field_text(s, "candidate-type"),
                                             field_text(s, "protocol"),
                                             field_text(s, "relay-protocol")};
  }
  {
    gchar* text = gst_structure_to_string(s);
    spdlog::trace("MEDIA_STATS {}", text);
    g_free(text);
  }
  return TRUE;
}

// RFC 8445's short names for libnice's/webrtcbin's candidate types.
std::string candidate_type_name(std::string t) {
  if (t == "server-reflexive") return "srflx";
  if (t == "peer-reflexive") return "prflx";
  if (t == "relayed") return "relay";
  return t;
}

std::optional<MediaPath> selected_path(const StatsScan& scan) {
  auto pair = scan.pairs.find(scan.selectedPair);
  if (pair == scan.pairs.end()) return std::nullopt;
  auto local = scan.candidates.find(pair->second.first);
  auto remote = scan.candidates.find(pair->second.second);
  if (local == scan.candidates.end() || remote == scan.candidates.end()) return std::nullopt;
  MediaPath p;
  p.local = candidate_type_name(local->second.type);
  p.remote = candidate_type_name(remote->second.type);
  p.protocol = p.local == "relay" && !local->second.relayProtocol.empty()
                   ? local->second.relayProtocol
                   : local->second.protocol;
  return p;
}

}  // namespace

RtpStats read_stats(const GstStructure* reply) {
  StatsScan scan;
  gst_structure_foreach(reply, stats_field, &scan);
  scan.r.path = selected_path(scan);
  return scan.r;
}

}  // namespace dialtone::media
