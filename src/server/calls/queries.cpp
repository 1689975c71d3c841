// SPDX-License-Identifier: Apache-2.0
#include "server/calls/queries.hpp"

#include <boost/json.hpp>

namespace dialtone::queries {

namespace json = boost::json;

namespace {

json::object profile_json(const Profile& p, const Presence& presence) {
  bool online = presence.user_online(p.userId);
  std::string_view status =
      presence.user_in_call(p.userId) ? "in_call" : (online ? "online" : "offline");
  return {{"userId", p.userId},
          {"name", p.name},
          {"photo", p.photo},
          {"online", online},
          {"status", status}};
}

OpResult with_body(json::value body) {
  OpResult r;
  r.body = std::move(body);
  return r;
}

// May `viewer` see `user` (profile, online, busy) under `policy`? Everyone sees themselves.
bool may_see(Store& store, const std::string& viewer, const std::string& user, Directory policy) {
  if (viewer == user) return true;
  switch (policy) {
    case Directory::open:
      return true;
    case Directory::contacts:
      return store.mutual_contacts(viewer, user);
    case Directory::none:
      return false;
  }
  return false;
}

}  // namespace

OpResult get_call(Tx& tx, const std::string& userId, const std::string& callId) {
  auto call = tx.store.get_call(callId);
  if (!call || !call->is_participant(userId))
    return OpResult::fail(ErrorCode::not_found, "no such call");
  OpResult r;
  r.call = std::move(call);
  return r;
}

OpResult history(Tx& tx, const std::string& userId, TimeMs before, std::size_t limit) {
  json::array calls;
  for (const auto& c : tx.store.history(userId, before, limit)) {
    json::object o = to_public_json(c);
    o["direction"] = direction_name(direction_for(c, userId));
    calls.push_back(std::move(o));
  }
  return with_body(json::object{{"calls", std::move(calls)}});
}

OpResult timeline(Tx& tx, const std::string& userId, const std::string& callId,
                  const SummaryLimits& limits) {
  auto call = tx.store.get_call(callId);
  if (!call || (!userId.empty() && !call->is_participant(userId)))
    return OpResult::fail(ErrorCode::not_found, "no such call");
  auto events = tx.store.events_of(callId);
  return with_body(json::object{{"call", to_public_json(*call)},
                                {"timeline", timeline_json(*call, events)},
                                {"summary", summarize(*call, events, limits)}});
}

OpResult search_calls(Tx& tx, const std::string& userId, TimeMs from, TimeMs to, std::size_t limit,
                      const SummaryLimits& limits) {
  json::array calls;
  for (const auto& c : tx.store.search_calls(userId, from, to, limit)) {
    json::object o = to_public_json(c);
    o["summary"] = summarize(c, tx.store.events_of(c.callId), limits);
    calls.push_back(std::move(o));
  }
  return with_body(json::object{{"calls", std::move(calls)}});
}

OpResult users(Tx& tx, const Presence& presence, const std::string& viewer,
               const std::optional<std::string>& userId, Directory policy) {
  if (userId) {
    auto p = tx.store.get_user(*userId);
    // Someone you may not see is answered as someone who does not exist.
    if (!p || !may_see(tx.store, viewer, *userId, policy))
      return OpResult::fail(ErrorCode::not_found, "unknown user");
    return with_body(profile_json(*p, presence));
  }
  std::vector<Profile> people;
  switch (policy) {
    case Directory::open:
      people = tx.store.list_users(1000);
      break;
    case Directory::contacts:
      people = tx.store.list_mutual_contacts(viewer, 1000);
      break;
    case Directory::none:
      break;
  }
  json::array list;
  for (const auto& p : people) list.push_back(profile_json(p, presence));
  return with_body(json::object{{"users", std::move(list)}});
}

OpResult busy(Tx& tx, const std::string& viewer, const std::string& userId, Directory policy) {
  if (!tx.store.get_user(userId) || !may_see(tx.store, viewer, userId, policy))
    return OpResult::fail(ErrorCode::not_found, "unknown user");
  return with_body(json::object{{"busy", tx.store.active_call_of(userId).has_value()}});
}

OpResult visible(Tx& tx, const std::string& viewer, const std::vector<std::string>& userIds,
                 Directory policy) {
  json::array ids;
  for (const auto& u : userIds)
    if (tx.store.get_user(u) && may_see(tx.store, viewer, u, policy)) ids.emplace_back(u);
  return with_body(json::object{{"userIds", std::move(ids)}});
}

OpResult add_contact(Tx& tx, const std::string& userId, const std::string& contactId) {
  if (!tx.store.get_user(contactId)) return OpResult::fail(ErrorCode::not_found, "unknown user");
  tx.store.add_contact(userId, contactId);
  return with_body(
      json::object{{"userId", contactId}, {"mutual", tx.store.mutual_contacts(userId, contactId)}});
}

OpResult remove_contact(Tx& tx, const std::string& userId, const std::string& contactId) {
  if (!tx.store.remove_contact(userId, contactId))
    return OpResult::fail(ErrorCode::not_found, "no such contact");
  return with_body(json::object{{"userId", contactId}, {"deleted", true}});
}

OpResult upsert_user(Tx& tx, const Profile& p) {
  tx.store.upsert_user(p, tx.now);
  return OpResult{};
}

OpResult register_device(Tx& tx, PushDevice d) {
  d.updatedAt = tx.now;
  tx.store.put_device(d);
  return with_body(json::object{{"deviceId", d.deviceId}, {"platform", platform_name(d.platform)}});
}

OpResult delete_device(Tx& tx, const std::string& userId, const std::string& deviceId) {
  if (!tx.store.delete_device(userId, deviceId))
    return OpResult::fail(ErrorCode::not_found, "no such device");
  return with_body(json::object{{"deviceId", deviceId}, {"deleted", true}});
}

OpResult devices(Tx& tx, const std::string& userId, const std::string& apnsEnvironment) {
  json::array list;
  for (const auto& d : tx.store.devices_of(userId)) {
    json::object o{{"deviceId", d.deviceId},
                   {"platform", platform_name(d.platform)},
                   {"updatedAt", format_iso(d.updatedAt)}};
    if (d.platform == Platform::apns) {
      // Registered without one, a device is pushed in the server's configured environment.
      o["environment"] = d.environment.empty() ? apnsEnvironment : d.environment;
      o["alertToken"] = !d.alertToken.empty();
    }
    list.push_back(std::move(o));
  }
  return with_body(json::object{{"devices", std::move(list)}});
}

OpResult forget_push_token(Tx& tx, const PushDevice& d, const std::string& token) {
  tx.store.forget_push_token(d.userId, d.deviceId, token);
  return OpResult{};
}

}  // namespace dialtone::queries
