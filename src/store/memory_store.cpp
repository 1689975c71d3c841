// SPDX-License-Identifier: Apache-2.0
#include "store/memory_store.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <limits>

namespace dialtone {

namespace {

Call parse(const std::string& doc) {
  return call_from_storage_json(boost::json::parse(doc).as_object());
}

}  // namespace

void MemoryStore::begin() {
  undo_.assign(1, *data_);
}

void MemoryStore::commit() {
  undo_.clear();
}

void MemoryStore::rollback() {
  if (!undo_.empty()) *data_ = std::move(undo_.front());
  undo_.clear();
}

void MemoryStore::savepoint() {
  undo_.push_back(*data_);
}

void MemoryStore::release_savepoint() {
  if (undo_.size() > 1) undo_.pop_back();
}

void MemoryStore::rollback_to_savepoint() {
  if (undo_.size() < 2) return;
  *data_ = std::move(undo_.back());
  undo_.pop_back();
}

std::optional<Profile> MemoryStore::get_user(std::string_view userId) {
  auto it = data_->users.find(std::string(userId));
  if (it == data_->users.end()) return std::nullopt;
  return it->second.first;
}

void MemoryStore::upsert_user(const Profile& p, TimeMs now) {
  data_->users[p.userId] = {p, now};
}

std::vector<Profile> MemoryStore::list_users(std::size_t limit) {
  std::vector<Profile> out;
  for (auto& [id, u] : data_->users) {
    if (out.size() == limit) break;
    out.push_back(u.first);
  }
  return out;
}

void MemoryStore::add_contact(std::string_view userId, std::string_view contactId) {
  data_->contacts.emplace(userId, contactId);
}

bool MemoryStore::remove_contact(std::string_view userId, std::string_view contactId) {
  return data_->contacts.erase({std::string(userId), std::string(contactId)}) > 0;
}

bool MemoryStore::mutual_contacts(std::string_view a, std::string_view b) {
  auto& c = data_->contacts;
  return c.count({std::string(a), std::string(b)}) && c.count({std::string(b), std::string(a)});
}

std::vector<Profile> MemoryStore::list_mutual_contacts(std::string_view userId, std::size_t limit) {
  std::vector<Profile> out;
  for (auto& [id, u] : data_->users) {
    if (out.size() == limit) break;
    if (id != userId && mutual_contacts(userId, id)) out.push_back(u.first);
  }
  return out;
}

std::optional<Call> MemoryStore::get_call(std::string_view callId) {
  auto it = data_->calls.find(std::string(callId));
  if (it == data_->calls.end()) return std::nullopt;
  return parse(it->second.doc);
}

void MemoryStore::insert_call(const Call& c, std::optional<TimeMs> deadline, std::string_view doc) {
  if (data_->calls.count(c.callId))
    throw StoreError(StoreError::Kind::conflict, "call " + c.callId + " exists");
  data_->calls[c.callId] = {c.callerId, c.receiverId, c.timestamp,
                            c.version,  deadline,     std::string(doc)};
}

void MemoryStore::update_call(const Call& c, std::optional<TimeMs> deadline, std::string_view doc) {
  auto it = data_->calls.find(c.callId);
  if (it == data_->calls.end() || it->second.version != c.version - 1)
    throw StoreError(StoreError::Kind::conflict, "call " + c.callId + " changed concurrently");
  it->second.version = c.version;
  it->second.deadline = deadline;
  it->second.doc = std::string(doc);
}

std::optional<std::string> MemoryStore::active_call_of(std::string_view userId) {
  auto it = data_->active.find(std::string(userId));
  if (it == data_->active.end()) return std::nullopt;
  return it->second;
}

void MemoryStore::claim_active(std::string_view userId, std::string_view callId) {
  if (!data_->active.emplace(userId, callId).second)
    throw StoreError(StoreError::Kind::conflict, "user " + std::string(userId) + " is in a call");
}

void MemoryStore::release_active(std::string_view callId) {
  std::erase_if(data_->active, [&](auto& kv) { return kv.second == callId; });
}

std::vector<std::string> MemoryStore::due_calls(TimeMs now, std::size_t limit) {
  std::vector<std::pair<TimeMs, std::string>> due;
  for (auto& [id, c] : data_->calls)
    if (c.deadline && *c.deadline <= now) due.emplace_back(*c.deadline, id);
  std::sort(due.begin(), due.end());
  std::vector<std::string> out;
  for (auto& [at, id] : due) {
    if (out.size() == limit) break;
    out.push_back(id);
  }
  return out;
}

std::optional<TimeMs> MemoryStore::next_deadline() {
  std::optional<TimeMs> next;
  for (auto& [id, c] : data_->calls)
    if (c.deadline) next = std::min(next.value_or(*c.deadline), *c.deadline);
  return next;
}

std::vector<Call> MemoryStore::active_calls() {
  std::set<std::string> ids;
  for (auto& [user, call] : data_->active) ids.insert(call);
  std::vector<Call> out;
  for (auto& id : ids)
    if (auto c = get_call(id)) out.push_back(std::move(*c));
  return out;
}

std::vector<Call> MemoryStore::history(std::string_view userId, TimeMs before, std::size_t limit) {
  return search_calls(userId, std::numeric_limits<TimeMs>::min(), before, limit);
}

std::vector<Call> MemoryStore::search_calls(std::string_view userId, TimeMs from, TimeMs to,
                                            std::size_t limit) {
  std::vector<std::pair<TimeMs, const std::string*>> found;
  for (auto& [id, c] : data_->calls)
    if ((userId.empty() || c.callerId == userId || c.receiverId == userId) && c.created >= from &&
        c.created < to)
      found.emplace_back(c.created, &c.doc);
  std::sort(found.begin(), found.end(), [](auto& a, auto& b) { return a.first > b.first; });
  std::vector<Call> out;
  for (auto& [at, doc] : found) {
    if (out.size() == limit) break;
    out.push_back(parse(*doc));
  }
  return out;
}

std::size_t MemoryStore::delete_calls_before(TimeMs before, std::size_t limit) {
  std::size_t n = 0;
  for (auto it = data_->calls.begin(); it != data_->calls.end() && n < limit;) {
    bool active = std::any_of(data_->active.begin(), data_->active.end(),
                              [&](auto& kv) { return kv.second == it->first; });
    if (it->second.created < before && !active) {
      data_->events.erase(it->first);
      it = data_->calls.erase(it);
      ++n;
    } else {
      ++it;
    }
  }
  return n;
}

std::size_t MemoryStore::append_events(std::string_view callId,
                                       const std::vector<TimelineEvent>& events, std::size_t max) {
  auto& mine = data_->events[std::string(callId)];
  std::size_t n = 0;
  for (const auto& e : events) {
    if (mine.size() >= max) break;
    auto same = [&](const TimelineEvent& o) {
      return o.at == e.at && o.side == e.side && o.device == e.device && o.type == e.type &&
             o.data == e.data;
    };
    if (std::any_of(mine.begin(), mine.end(), same)) continue;  // stored once, as in SQL
    mine.push_back(e);
    ++n;
  }
  return n;
}

std::vector<TimelineEvent> MemoryStore::events_of(std::string_view callId) {
  auto it = data_->events.find(std::string(callId));
  return it == data_->events.end() ? std::vector<TimelineEvent>{} : it->second;
}

void MemoryStore::put_device(const PushDevice& d) {
  auto& devices = data_->devices;
  // The same token elsewhere: the app was signed into another account.
  std::erase_if(devices, [&](auto& kv) {
    const PushDevice& o = kv.second;
    return o.platform == d.platform && o.token == d.token &&
           !(o.userId == d.userId && o.deviceId == d.deviceId);
  });
  devices[{d.userId, d.deviceId}] = d;
  std::vector<const PushDevice*> mine;
  for (auto& [key, o] : devices)
    if (o.userId == d.userId) mine.push_back(&o);
  if (mine.size() <= kMaxDevicesPerUser) return;
  std::sort(mine.begin(), mine.end(), [](auto* a, auto* b) {
    return a->updatedAt != b->updatedAt ? a->updatedAt > b->updatedAt : a->deviceId < b->deviceId;
  });
  std::vector<std::pair<std::string, std::string>> drop;
  for (std::size_t i = kMaxDevicesPerUser; i < mine.size(); ++i)
    drop.emplace_back(mine[i]->userId, mine[i]->deviceId);
  for (auto& k : drop) devices.erase(k);
}

bool MemoryStore::delete_device(std::string_view userId, std::string_view deviceId) {
  return data_->devices.erase({std::string(userId), std::string(deviceId)}) > 0;
}

void MemoryStore::forget_push_token(std::string_view userId, std::string_view deviceId,
                                    std::string_view token) {
  auto it = data_->devices.find({std::string(userId), std::string(deviceId)});
  if (it == data_->devices.end()) return;
  if (it->second.token == token)
    data_->devices.erase(it);
  else if (it->second.alertToken == token)
    it->second.alertToken.clear();
}

std::vector<PushDevice> MemoryStore::devices_of(std::string_view userId) {
  std::vector<PushDevice> out;
  for (auto& [key, d] : data_->devices)
    if (key.first == userId) out.push_back(d);
  return out;  // ordered by device id, as the map is
}

std::string MemoryStore::shared_secret(std::string_view name, std::string_view candidate) {
  return data_->secrets.try_emplace(std::string(name), candidate).first->second;
}

void MemoryStore::add_push(const QueuedPush& p, std::string_view owner, TimeMs leaseUntil) {
  if (!data_->pushes.try_emplace(p.pushId, Data::Leased{p, std::string(owner), leaseUntil}).second)
    throw StoreError(StoreError::Kind::conflict, "push_outbox: duplicate push id");
}

void MemoryStore::delete_push(std::string_view pushId) {
  if (auto it = data_->pushes.find(pushId); it != data_->pushes.end()) data_->pushes.erase(it);
}

void MemoryStore::delete_incoming_pushes(std::string_view callId) {
  std::erase_if(data_->pushes, [&](const auto& kv) {
    return kv.second.push.callId == callId && kv.second.push.kind == "incoming_call";
  });
}

void MemoryStore::renew_pushes(std::string_view owner, TimeMs leaseUntil) {
  for (auto& [id, l] : data_->pushes)
    if (l.owner == owner) l.leaseUntil = leaseUntil;
}

std::size_t MemoryStore::purge_pushes(TimeMs now, int maxClaims) {
  return std::erase_if(data_->pushes, [&](const auto& kv) {
    return kv.second.push.expiresAt <= now || kv.second.push.claims >= maxClaims;
  });
}

std::vector<QueuedPush> MemoryStore::claim_pushes(std::string_view owner, TimeMs now,
                                                  TimeMs leaseUntil, std::size_t limit, bool any) {
  std::vector<Data::Leased*> due;
  for (auto& [id, l] : data_->pushes)
    if (l.owner != owner && (any || l.leaseUntil < now)) due.push_back(&l);
  std::stable_sort(due.begin(), due.end(),
                   [](auto* a, auto* b) { return a->leaseUntil < b->leaseUntil; });
  if (due.size() > limit) due.resize(limit);
  std::vector<QueuedPush> out;
  for (auto* l : due) {
    l->owner = owner;
    l->leaseUntil = leaseUntil;
    l->push.claims++;
    out.push_back(l->push);
  }
  return out;
}

}  // namespace dialtone
