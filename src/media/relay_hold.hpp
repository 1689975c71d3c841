// SPDX-License-Identifier: Apache-2.0
// Which of the other side's ICE candidates the controlling side applies at once.
//
// libnice 0.1.21 (webrtcbin's agent, regular nomination, fixed when webrtcbin creates it)
// nominates, as the controlling agent, the best pair as soon as two pairs are valid, and never
// nominates again. Pairs through the other side's relay need no hole punched and are valid
// first; a direct pair between two endpoint-independent NATs waits for the other side's first
// check to open our NAT. So a C++ caller would keep the relay where a direct path works (the
// browser, controlling, moves to a better pair when one succeeds; libnice controlled follows).
// The hold: while the other side has shown a server-reflexive candidate (its UDP gets out, a
// direct path may work), its relay candidates wait `kRelayHold` before they reach libnice —
// time for the direct checks to succeed first. A relay the call needs comes late by that much;
// without a srflx (no UDP out there) nothing is held.
#pragma once

#include <chrono>
#include <string>
#include <string_view>

namespace dialtone::media {

inline constexpr std::chrono::milliseconds kRelayHold{300};

// The type of an ICE candidate ("candidate:… typ host|srflx|prflx|relay …"); "" when it has none.
std::string candidate_type(std::string_view candidate);

class RelayHold {
 public:
  explicit RelayHold(bool controlling) : controlling_(controlling) {}
  // True: apply `candidate` now. False: hold it until release().
  bool admit(std::string_view candidate);
  // The hold is over: what was held is applied, and from now on everything passes.
  void release() { released_ = true; }

 private:
  bool controlling_;
  bool sawSrflx_ = false;
  bool released_ = false;
};

}  // namespace dialtone::media
