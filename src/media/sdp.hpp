// SPDX-License-Identifier: Apache-2.0
// What the SDK reads from a remote SDP (untrusted: it comes from the other party).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dialtone::media {

// The payload type the offer gives Opus (rtpmap "PT opus/48000[/2]") in its first audio m-line
// that has one; nullopt for unparsable SDP or no Opus.
std::optional<int> opus_payload_type(const std::string& sdp);

// The DTLS certificate fingerprint an SDP declares (RFC 8122 a=fingerprint: the session-level
// one, else the first media's), normalized to "<hash function, lower case> <HEX:HEX:…, upper
// case>"; nullopt when there is none or it is malformed.
std::optional<std::string> dtls_fingerprint(const std::string& sdp);

// The short authentication code both sides of a call show (docs/protocol.md, "Security code"):
// from the two fingerprints in the SDP each side actually used, in either order, six digits as
// "123 456". A signaling server that swapped fingerprints would make the two sides' codes
// differ. nullopt unless both SDPs carry a fingerprint.
std::optional<std::string> security_code(const std::string& localSdp, const std::string& remoteSdp);
std::string security_code_of(const std::string& fingerprintA, const std::string& fingerprintB);

// The session id of the o= line (RFC 4566 §5.2): the same through every renegotiation of one
// connection (an ICE restart), new when the other side built a new one; "" when absent.
std::string session_id(const std::string& sdp);

// The a=mid of each media section, in order ("" for a section without one); empty for SDP that
// does not parse.
std::vector<std::string> media_mids(const std::string& sdp);

// Where a received ICE candidate belongs, by the W3C addIceCandidate rules against the media
// sections (`mids`) of the description it refers to: a non-null sdpMid names the section (no
// section with that mid: refused, whatever the index says); else sdpMLineIndex is the section's
// index (out of range: refused); neither: refused. On refusal `why` says why.
struct CandidateTarget {
  std::optional<unsigned> mline;
  std::string why;
};
CandidateTarget candidate_target(const std::optional<std::string>& sdpMid,
                                 std::optional<long long> sdpMLineIndex,
                                 const std::vector<std::string>& mids);

// The sdpMid a local candidate of section `mline` carries: that section's a=mid in our local
// description; the index as text only when the description names none (never seen in practice).
std::string candidate_mid(unsigned mline, const std::vector<std::string>& localMids);
}  // namespace dialtone::media
