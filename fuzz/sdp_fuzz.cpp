// SPDX-License-Identifier: Apache-2.0
// A remote offer's SDP or candidate (from the other party, untrusted) → the Opus payload type, the DTLS
// fingerprint, the security code, the sections' mids and where candidates land among them.
#include <cstddef>
#include <cstdint>
#include <string>

#include "media/ice_url.hpp"
#include "media/relay_hold.hpp"
#include "media/sdp.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  // The same bytes as a STUN/TURN URL (from the server's iceServers).
  if (auto u = dialtone::media::parse_ice_url(text)) {
    if (u->port < 1 || u->port > 65535 || u->host.empty()) __builtin_trap();
    if (!dialtone::media::parse_ice_url(dialtone::media::as_libnice_sees_it(text)))
      __builtin_trap();
    auto p = dialtone::media::relay_protocol({text}, u->host, u->port, false);
    if (p != "tcp" && p != "tls") __builtin_trap();
  }
  // The same bytes as a trickled candidate: its type, and the hold never refuses a non-relay.
  auto type = dialtone::media::candidate_type(text);
  dialtone::media::RelayHold hold(true);
  if (!hold.admit(text) && type != "relay") __builtin_trap();
  auto pt = dialtone::media::opus_payload_type(text);
  if (pt && (*pt < 0 || *pt > 127)) __builtin_trap();
  auto fp = dialtone::media::dtls_fingerprint(text);
  if (fp && fp->find(' ') == std::string::npos) __builtin_trap();
  auto code = dialtone::media::security_code(text, text);
  if (code && code->size() != 7) __builtin_trap();
  auto mids = dialtone::media::media_mids(text);
  for (unsigned m = 0; m < mids.size(); ++m) {
    // Whatever the sections are called, a candidate sent for one lands on a section with that mid.
    auto t = dialtone::media::candidate_target(dialtone::media::candidate_mid(m, mids), m, mids);
    if (!mids[m].empty() && (!t.mline || *t.mline >= mids.size() || mids[*t.mline] != mids[m]))
      __builtin_trap();
  }
  return 0;
}
