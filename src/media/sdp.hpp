// What the SDK reads from a remote SDP (untrusted: it comes from the other party).
#pragma once

#include <optional>
#include <string>

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
}  // namespace dialtone::media
