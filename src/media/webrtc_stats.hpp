// SPDX-License-Identifier: Apache-2.0
// webrtcbin's get-stats reply, read: the RTP figures CallMedia's quality needs and the selected
// candidate pair (without the relay's transport, which webrtcbin 1.22 does not know: see
// WebrtcTransport::relay_protocol_now).
#pragma once

#include <gst/gst.h>

#include "media/transport.hpp"

namespace dialtone::media {

RtpStats read_stats(const GstStructure* reply);

}  // namespace dialtone::media
