// What the SDK reads from a remote SDP (untrusted: it comes from the other party).
#pragma once

#include <optional>
#include <string>

namespace dialtone::media {

// The payload type the offer gives Opus (rtpmap "PT opus/48000[/2]") in its first audio m-line
// that has one; nullopt for unparsable SDP or no Opus.
std::optional<int> opus_payload_type(const std::string& sdp);

}  // namespace dialtone::media
