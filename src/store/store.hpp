// SPDX-License-Identifier: Apache-2.0
// The store: where calls, users and the one-active-call-per-user rule live.
//
// One implementation per back end (sqlite_store.cpp, postgres_store.cpp, and memory_store.cpp
// for unit tests). No back-end type leaks through this interface. It is used from one thread (the
// engine's store thread): a batch of ops runs in one transaction (group commit), each op inside
// its own savepoint so that a failed op leaves no trace while the others still commit — or, on a
// back end that pipelines, without savepoints, the whole batch being run again with them when
// anything in it failed.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "core/call.hpp"
#include "core/device.hpp"
#include "core/state_machine.hpp"
#include "core/timeline.hpp"

namespace dialtone {

class StoreError : public std::runtime_error {
 public:
  enum class Kind { conflict, failure };
  StoreError(Kind kind, std::string msg) : std::runtime_error(std::move(msg)), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

// A push notification in the outbox: written in the transaction of the change that planned it,
// leased to the node that sends it, deleted once it has its final answer.
struct QueuedPush {
  std::string pushId, callId, kind, userId, deviceId;
  std::string notice;  // the serialized Notice (push/notice.cpp)
  TimeMs expiresAt = 0;
  int claims = 0;  // how many times a node took it over from another
};

class Store {
 public:
  virtual ~Store() = default;

  virtual void begin() = 0;
  virtual void commit() = 0;
  virtual void rollback() = 0;
  virtual void savepoint() = 0;
  virtual void release_savepoint() = 0;
  virtual void rollback_to_savepoint() = 0;

  // Pipelined transactions, for a store across the network (PostgreSQL): writes are sent without
  // waiting for their answers, so a batch costs about one round trip per read instead of one
  // per statement. begin_pipelined() starts one and returns true, or returns false and starts
  // nothing when the back end runs statements in-process and would gain nothing. Inside one, a
  // write's failure (an error, or a version-checked update that found another version) is
  // thrown by the next read or shown by commit_pipelined(), and the transaction can then only be
  // rolled back.
  virtual bool begin_pipelined() { return false; }
  // Commits a pipelined transaction in one round trip: true when committed; false when a
  // statement in it failed, so that PostgreSQL committed nothing (the batch may run again;
  // rollback() ends it); throws StoreError when the answer was lost (committed or not: unknown).
  virtual bool commit_pipelined() {
    commit();
    return true;
  }
  // Data writes sent in this transaction so far (pipelined transactions count them: a job that
  // gave up after writing cannot be undone without a savepoint).
  virtual std::uint64_t writes() const { return 0; }

  virtual std::optional<Profile> get_user(std::string_view userId) = 0;
  virtual void upsert_user(const Profile& p, TimeMs now) = 0;
  virtual std::vector<Profile> list_users(std::size_t limit) = 0;

  // Contacts: `userId` has `contactId` (a call between them, or the user added it). Adding one
  // that exists changes nothing; remove_contact is false when there was none.
  virtual void add_contact(std::string_view userId, std::string_view contactId) = 0;
  virtual bool remove_contact(std::string_view userId, std::string_view contactId) = 0;
  // Both have each other.
  virtual bool mutual_contacts(std::string_view a, std::string_view b) = 0;
  // The profiles of the users whom `userId` has as contacts and who have `userId` too, by id.
  virtual std::vector<Profile> list_mutual_contacts(std::string_view userId, std::size_t limit) = 0;

  virtual std::optional<Call> get_call(std::string_view callId) = 0;
  // The calls of those ids that exist, in any order (one query where that saves round trips).
  virtual std::vector<Call> get_calls(const std::vector<std::string>& callIds) {
    std::vector<Call> out;
    for (const auto& id : callIds)
      if (auto c = get_call(id)) out.push_back(std::move(*c));
    return out;
  }
  // `deadline` is the call's next server-driven deadline (nullopt when none is armed); `doc` is
  // to_storage_string(call, …), serialized once by the caller.
  virtual void insert_call(const Call& call, std::optional<TimeMs> deadline,
                           std::string_view doc) = 0;
  // Writes `call`, which must be the stored version + 1; throws StoreError(conflict) otherwise.
  virtual void update_call(const Call& call, std::optional<TimeMs> deadline,
                           std::string_view doc) = 0;

  virtual std::optional<std::string> active_call_of(std::string_view userId) = 0;

  // What creating a call from `callerId` to `receiverId` reads first: the receiver's profile,
  // both users' active calls and, withDevices, the receiver's push devices (in one round trip on
  // PostgreSQL).
  struct CreateReads {
    std::optional<Profile> receiver;
    std::optional<std::string> callerActive, receiverActive;
    std::vector<PushDevice> devices;
  };
  virtual CreateReads create_reads(std::string_view callerId, std::string_view receiverId,
                                   bool withDevices) {
    CreateReads r{get_user(receiverId), active_call_of(callerId), active_call_of(receiverId), {}};
    if (withDevices) r.devices = devices_of(receiverId);
    return r;
  }
  // The unique key of the database enforces one active call per user: a second claim throws
  // StoreError(conflict).
  virtual void claim_active(std::string_view userId, std::string_view callId) = 0;
  virtual void release_active(std::string_view callId) = 0;

  virtual std::vector<std::string> due_calls(TimeMs now, std::size_t limit) = 0;
  virtual std::optional<TimeMs> next_deadline() = 0;
  virtual std::vector<Call> active_calls() = 0;
  // The user's calls with timestamp < before, newest first.
  virtual std::vector<Call> history(std::string_view userId, TimeMs before, std::size_t limit) = 0;

  // Operators: calls created in [from, to), of `userId` when it is not empty, newest first.
  virtual std::vector<Call> search_calls(std::string_view userId, TimeMs from, TimeMs to,
                                         std::size_t limit) = 0;
  // Deletes up to `limit` calls that ended and were created before `before`, with their
  // timelines; returns how many went.
  virtual std::size_t delete_calls_before(TimeMs before, std::size_t limit) = 0;

  // The timeline's events of a call (its trail is in the call record), in the order stored.
  // append_events stores them in order while the call has fewer than `max`, each once (an event
  // equal to a stored one in time, side, device, type and data is a re-sent report's: skipped);
  // returns how many were stored (the rest are dropped: the timeline is bounded).
  virtual std::size_t append_events(std::string_view callId,
                                    const std::vector<TimelineEvent>& events, std::size_t max) = 0;
  virtual std::vector<TimelineEvent> events_of(std::string_view callId) = 0;

  // Push targets. put_device replaces the user's registration of that device, removes the same
  // token registered for any other device or user (the app was signed into another account),
  // and keeps the user's kMaxDevicesPerUser most recent registrations.
  virtual void put_device(const PushDevice& d) = 0;
  virtual bool delete_device(std::string_view userId, std::string_view deviceId) = 0;
  // A push service said `token` is dead: the registration goes if it is its main token, only
  // the alert token is cleared if it is that; nothing happens if the device re-registered since.
  virtual void forget_push_token(std::string_view userId, std::string_view deviceId,
                                 std::string_view token) = 0;
  virtual std::vector<PushDevice> devices_of(std::string_view userId) = 0;

  // The secret every node of this store uses under `name` (the development-token key): the one
  // stored, or else `candidate`, stored now — the first node to ask decides.
  virtual std::string shared_secret(std::string_view name, std::string_view candidate) = 0;

  // The push outbox. add_push: a new push, leased to `owner` until `leaseUntil`.
  virtual void add_push(const QueuedPush& p, std::string_view owner, TimeMs leaseUntil) = 0;
  virtual void delete_push(std::string_view pushId) = 0;
  // The call stopped ringing: its incoming-call pushes are no longer wanted.
  virtual void delete_incoming_pushes(std::string_view callId) = 0;
  // `owner`'s pushes are leased until `leaseUntil` (0: released, for anyone to take at once).
  virtual void renew_pushes(std::string_view owner, TimeMs leaseUntil) = 0;
  // Deletes the pushes that expired by `now` or were taken over `maxClaims` times; how many.
  virtual std::size_t purge_pushes(TimeMs now, int maxClaims) = 0;
  // Takes up to `limit` pushes of other owners whose lease ran out before `now` (all of theirs
  // when `any`: this node is the only one), leases them to `owner` until `leaseUntil` and counts
  // the claim; oldest lease first. On PostgreSQL a row another node is claiming meanwhile is
  // skipped (SKIP LOCKED), never waited for.
  virtual std::vector<QueuedPush> claim_pushes(std::string_view owner, TimeMs now,
                                               TimeMs leaseUntil, std::size_t limit, bool any) = 0;
};

// Opens (creating and migrating if needed) the SQLite database at `path`.
// `synchronous` is SQLite's PRAGMA synchronous: "normal" (durable against a process crash in
// WAL mode) or "full" (also against power loss).
std::unique_ptr<Store> open_sqlite_store(const std::string& path, const std::string& synchronous);
// What SQLite holds in this process (page caches, schema, prepared statements), in bytes: SQLite's
// own global count, safe to read from any thread.
std::int64_t sqlite_memory_bytes();

// Connects to PostgreSQL at `url` (postgres://user@host:port/db?…, libpq's syntax) and applies
// the schema migrations (under an advisory lock: safe when several nodes start at once).
// Throws StoreError(failure) when it cannot connect. A broken connection is re-established at the
// next transaction.
std::unique_ptr<Store> open_postgres_store(const std::string& url);

}  // namespace dialtone
