// SPDX-License-Identifier: Apache-2.0
// Web Push (RFC 8030) to any push service a browser subscribed with: the message is encrypted
// for the subscription (RFC 8291) and signed for with our VAPID key (RFC 8292).
#pragma once

#include <memory>
#include <vector>

#include "push/provider.hpp"
#include "push/webpush_crypto.hpp"

namespace dialtone {

// Push services a subscription's endpoint may point at: a host matches an entry equal to it or
// a parent domain of it. Anything else is refused, so that a client cannot make the server
// POST to an arbitrary address.
bool push_host_allowed(std::string_view endpoint, const std::vector<std::string>& allowed);
extern const std::vector<std::string> kDefaultWebPushHosts;

std::unique_ptr<PushProvider> make_webpush_provider(std::shared_ptr<Vapid> vapid,
                                                    std::vector<std::string> allowedHosts);

}  // namespace dialtone
