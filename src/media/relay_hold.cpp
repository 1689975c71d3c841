// SPDX-License-Identifier: Apache-2.0
#include "media/relay_hold.hpp"

#include <sstream>

namespace dialtone::media {

std::string candidate_type(std::string_view candidate) {
  // RFC 8839 §5.1: foundation component transport priority address port "typ" type [extensions]
  std::istringstream in{std::string(candidate)};
  std::string word;
  while (in >> word)
    if (word == "typ") return in >> word ? word : std::string();
  return {};
}

bool RelayHold::admit(std::string_view candidate) {
  if (!controlling_ || released_) return true;
  auto type = candidate_type(candidate);
  if (type == "srflx") sawSrflx_ = true;
  return !(type == "relay" && sawSrflx_);
}

}  // namespace dialtone::media
