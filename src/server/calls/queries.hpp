// SPDX-License-Identifier: Apache-2.0
// The reads of the API, and the writes that are not calls (profiles, contacts, push devices).
// Each runs on the store thread inside a batch, like the call service's ops, so that it sees
// every change acknowledged before it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "auth/jwt.hpp"
#include "core/device.hpp"
#include "core/timeline.hpp"
#include "server/calls/committer.hpp"
#include "server/calls/op_result.hpp"
#include "server/calls/presence.hpp"
#include "server/config.hpp"

namespace dialtone::queries {

// A call `userId` takes part in (else not_found, as for an unknown call).
OpResult get_call(Tx& tx, const std::string& userId, const std::string& callId);
// The user's calls before `before`, newest first, each with its direction for the user.
OpResult history(Tx& tx, const std::string& userId, TimeMs before, std::size_t limit);
// A call's details: its document, timeline and summary ({"call","timeline","summary"}). For a
// participant (`userId`), or for an operator (`userId` empty).
OpResult timeline(Tx& tx, const std::string& userId, const std::string& callId,
                  const SummaryLimits& limits);
// Operators: calls created in [from, to), of `userId` when not empty, newest first, each with
// its summary.
OpResult search_calls(Tx& tx, const std::string& userId, TimeMs from, TimeMs to, std::size_t limit,
                      const SummaryLimits& limits);

// Reads of other people, as the directory policy lets `viewer` see them: a profile, online and
// busy only of someone `viewer` may see (else not_found, as for an unknown user); the list of
// every user (open), of `viewer`'s mutual contacts (contacts), or none.
OpResult users(Tx& tx, const Presence& presence, const std::string& viewer,
               const std::optional<std::string>& userId, Directory policy);
OpResult busy(Tx& tx, const std::string& viewer, const std::string& userId, Directory policy);
// Of `userIds`, those who exist and whom `viewer` may see, in the order given: the body is
// {"userIds":[…]} (the `watch` op watches only those).
OpResult visible(Tx& tx, const std::string& viewer, const std::vector<std::string>& userIds,
                 Directory policy);

OpResult add_contact(Tx& tx, const std::string& userId, const std::string& contactId);
OpResult remove_contact(Tx& tx, const std::string& userId, const std::string& contactId);

OpResult upsert_user(Tx& tx, const Profile& p);

OpResult register_device(Tx& tx, PushDevice d);
OpResult delete_device(Tx& tx, const std::string& userId, const std::string& deviceId);
OpResult devices(Tx& tx, const std::string& userId, const std::string& apnsEnvironment);
// A push service said the device's `token` is dead.
OpResult forget_push_token(Tx& tx, const PushDevice& d, const std::string& token);

}  // namespace dialtone::queries
