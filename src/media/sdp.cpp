#include "media/sdp.hpp"

#include <gst/sdp/sdp.h>

#include <cstdlib>

namespace dialtone::media {

std::optional<int> opus_payload_type(const std::string& sdp_text) {
  GstSDPMessage* sdp = nullptr;
  if (gst_sdp_message_new(&sdp) != GST_SDP_OK) return std::nullopt;
  if (gst_sdp_message_parse_buffer(reinterpret_cast<const guint8*>(sdp_text.data()),
                                   static_cast<guint>(sdp_text.size()), sdp) != GST_SDP_OK) {
    gst_sdp_message_free(sdp);
    return std::nullopt;
  }
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
  gst_sdp_message_free(sdp);
  return pt;
}

}  // namespace dialtone::media
