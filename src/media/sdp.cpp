// SPDX-License-Identifier: Apache-2.0
#include "media/sdp.hpp"

#include <gst/sdp/sdp.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <memory>

#include "util/crypto.hpp"

namespace dialtone::media {

namespace {

struct SdpFree {
  void operator()(GstSDPMessage* m) const { gst_sdp_message_free(m); }
};
using Sdp = std::unique_ptr<GstSDPMessage, SdpFree>;

// nullptr when the text does not parse.
Sdp parse(const std::string& text) {
  GstSDPMessage* sdp = nullptr;
  if (gst_sdp_message_new(&sdp) != GST_SDP_OK) return nullptr;
  Sdp out(sdp);
  if (gst_sdp_message_parse_buffer(reinterpret_cast<const guint8*>(text.data()),
                                   static_cast<guint>(text.size()), sdp) != GST_SDP_OK)
    return nullptr;
  return out;
}

}  // namespace

std::optional<int> opus_payload_type(const std::string& sdp_text) {
  Sdp owned = parse(sdp_text);
  if (!owned) return std::nullopt;
  GstSDPMessage* sdp = owned.get();
  std::optional<int> pt;
  for (guint i = 0; i < gst_sdp_message_medias_len(sdp) && !pt; ++i) {
    const GstSDPMedia* m = gst_sdp_message_get_media(sdp, i);
    if (g_strcmp0(gst_sdp_media_get_media(m), "audio") != 0) continue;
    for (guint j = 0; j < gst_sdp_media_attributes_len(m); ++j) {
      const GstSDPAttribute* a = gst_sdp_media_get_attribute(m, j);
      if (g_strcmp0(a->key, "rtpmap") != 0 || !a->value) continue;
      gchar* lower = g_ascii_strdown(a->value, -1);
      bool opus = g_strrstr(lower, " opus/48000") != nullptr;
      g_free(lower);
      char* end = nullptr;
      long v = std::strtol(a->value, &end, 10);
      if (opus && end != a->value && v >= 0 && v <= 127) {
        pt = static_cast<int>(v);
        break;
      }
    }
  }
  return pt;
}

namespace {

std::optional<std::string> normalize_fingerprint(const char* value) {
  if (!value) return std::nullopt;
  std::string v(value);
  auto space = v.find(' ');
  if (space == std::string::npos || space == 0 || space > 16) return std::nullopt;
  std::string algo = v.substr(0, space), hex = v.substr(space + 1);
  while (!hex.empty() && (hex.back() == ' ' || hex.back() == '\r')) hex.pop_back();
  for (char& c : algo) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return std::nullopt;
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  // Pairs of hex digits separated by colons: at least 16 bytes (MD5), at most 64 (SHA-512).
  if (hex.size() < 47 || hex.size() > 191 || hex.size() % 3 != 2) return std::nullopt;
  for (std::size_t i = 0; i < hex.size(); ++i) {
    char& c = hex[i];
    if (i % 3 == 2) {
      if (c != ':') return std::nullopt;
    } else {
      if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
  }
  return algo + " " + hex;
}

}  // namespace

std::optional<std::string> dtls_fingerprint(const std::string& sdp_text) {
  Sdp sdp = parse(sdp_text);
  if (!sdp) return std::nullopt;
  const gchar* value = gst_sdp_message_get_attribute_val(sdp.get(), "fingerprint");
  for (guint i = 0; !value && i < gst_sdp_message_medias_len(sdp.get()); ++i)
    value = gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(sdp.get(), i), "fingerprint");
  return normalize_fingerprint(value);
}

std::string security_code_of(const std::string& a, const std::string& b) {
  const std::string& lo = std::min(a, b);
  const std::string& hi = std::max(a, b);
  std::string digest = sha256("dialtone-sas-1\n" + lo + "\n" + hi);
  auto byte = [&](int i) {
    return static_cast<std::uint32_t>(static_cast<unsigned char>(digest[i]));
  };
  std::uint32_t n = (byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3)) % 1000000;
  char buf[8];
  std::snprintf(buf, sizeof buf, "%03u %03u", n / 1000, n % 1000);
  return buf;
}

std::optional<std::string> security_code(const std::string& localSdp,
                                         const std::string& remoteSdp) {
  auto a = dtls_fingerprint(localSdp), b = dtls_fingerprint(remoteSdp);
  if (!a || !b) return std::nullopt;
  return security_code_of(*a, *b);
}

std::vector<std::string> media_mids(const std::string& sdp_text) {
  std::vector<std::string> mids;
  Sdp owned = parse(sdp_text);
  if (!owned) return mids;
  for (guint i = 0; i < gst_sdp_message_medias_len(owned.get()); ++i) {
    const gchar* mid =
        gst_sdp_media_get_attribute_val(gst_sdp_message_get_media(owned.get(), i), "mid");
    mids.emplace_back(mid ? mid : "");
  }
  return mids;
}

CandidateTarget candidate_target(const std::optional<std::string>& sdpMid,
                                 std::optional<long long> sdpMLineIndex,
                                 const std::vector<std::string>& mids) {
  if (sdpMid) {
    for (std::size_t i = 0; i < mids.size(); ++i)
      if (!mids[i].empty() && mids[i] == *sdpMid) return {static_cast<unsigned>(i), ""};
    return {std::nullopt, "no media section with mid '" + *sdpMid + "'"};
  }
  if (sdpMLineIndex) {
    if (*sdpMLineIndex >= 0 && static_cast<unsigned long long>(*sdpMLineIndex) < mids.size())
      return {static_cast<unsigned>(*sdpMLineIndex), ""};
    return {std::nullopt, "no media section at index " + std::to_string(*sdpMLineIndex)};
  }
  return {std::nullopt, "neither sdpMid nor sdpMLineIndex"};
}

std::string candidate_mid(unsigned mline, const std::vector<std::string>& localMids) {
  if (mline < localMids.size() && !localMids[mline].empty()) return localMids[mline];
  return std::to_string(mline);
}

std::string session_id(const std::string& sdp) {
  GstSDPMessage* msg = nullptr;
  if (gst_sdp_message_new_from_text(sdp.c_str(), &msg) != GST_SDP_OK) return {};
  const GstSDPOrigin* o = gst_sdp_message_get_origin(msg);
  std::string id = o && o->sess_id ? o->sess_id : "";
  gst_sdp_message_free(msg);
  return id;
}

}  // namespace dialtone::media
