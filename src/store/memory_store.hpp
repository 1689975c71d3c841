// SPDX-License-Identifier: Apache-2.0
// An in-memory back end of the Store, for unit tests of what runs on the store thread (the call
// service): the same contract as SQLite and PostgreSQL (tests/store/store_conformance_test.cpp
// holds it to it), with transactions and savepoints as copies of the data. Calls are kept as their
// stored documents, so every write and read goes through the same serialization as on disk.
// Never for a server: nothing is durable.
#pragma once

#include <map>
#include <memory>
#include <set>
#include <vector>

#include "store/store.hpp"

namespace dialtone {

class MemoryStore final : public Store {
 public:
  struct Data {
    struct StoredCall {
      std::string callerId, receiverId;
      TimeMs created = 0;
      std::int64_t version = 0;
      std::optional<TimeMs> deadline;
      std::string doc;
    };
    std::map<std::string, std::pair<Profile, TimeMs>> users;
    std::set<std::pair<std::string, std::string>> contacts;
    std::map<std::string, StoredCall> calls;
    std::map<std::string, std::string> active;                          // user → call
    std::map<std::pair<std::string, std::string>, PushDevice> devices;  // (user, device)
    std::map<std::string, std::vector<TimelineEvent>> events;           // call → events
    std::map<std::string, std::string, std::less<>> secrets;
    struct Leased {
      QueuedPush push;
      std::string owner;
      TimeMs leaseUntil = 0;
    };
    std::map<std::string, Leased, std::less<>> pushes;  // push id → push
  };

  // `data` outlives the store when shared: a new store on it is what a restarted server sees.
  explicit MemoryStore(std::shared_ptr<Data> data = std::make_shared<Data>())
      : data_(std::move(data)) {}

  void begin() override;
  void commit() override;
  void rollback() override;
  void savepoint() override;
  void release_savepoint() override;
  void rollback_to_savepoint() override;

  std::optional<Profile> get_user(std::string_view userId) override;
  void upsert_user(const Profile& p, TimeMs now) override;
  std::vector<Profile> list_users(std::size_t limit) override;
  void add_contact(std::string_view userId, std::string_view contactId) override;
  bool remove_contact(std::string_view userId, std::string_view contactId) override;
  bool mutual_contacts(std::string_view a, std::string_view b) override;
  std::vector<Profile> list_mutual_contacts(std::string_view userId, std::size_t limit) override;

  std::optional<Call> get_call(std::string_view callId) override;
  void insert_call(const Call& call, std::optional<TimeMs> deadline, std::string_view doc) override;
  void update_call(const Call& call, std::optional<TimeMs> deadline, std::string_view doc) override;
  std::optional<std::string> active_call_of(std::string_view userId) override;
  void claim_active(std::string_view userId, std::string_view callId) override;
  void release_active(std::string_view callId) override;
  std::vector<std::string> due_calls(TimeMs now, std::size_t limit) override;
  std::optional<TimeMs> next_deadline() override;
  std::vector<Call> active_calls() override;
  std::vector<Call> history(std::string_view userId, TimeMs before, std::size_t limit) override;
  std::vector<Call> search_calls(std::string_view userId, TimeMs from, TimeMs to,
                                 std::size_t limit) override;
  std::size_t delete_calls_before(TimeMs before, std::size_t limit) override;
  std::size_t append_events(std::string_view callId, const std::vector<TimelineEvent>& events,
                            std::size_t max) override;
  std::vector<TimelineEvent> events_of(std::string_view callId) override;

  void put_device(const PushDevice& d) override;
  bool delete_device(std::string_view userId, std::string_view deviceId) override;
  void forget_push_token(std::string_view userId, std::string_view deviceId,
                         std::string_view token) override;
  std::vector<PushDevice> devices_of(std::string_view userId) override;
  std::string shared_secret(std::string_view name, std::string_view candidate) override;

  void add_push(const QueuedPush& p, std::string_view owner, TimeMs leaseUntil) override;
  void delete_push(std::string_view pushId) override;
  void delete_incoming_pushes(std::string_view callId) override;
  void renew_pushes(std::string_view owner, TimeMs leaseUntil) override;
  std::size_t purge_pushes(TimeMs now, int maxClaims) override;
  std::vector<QueuedPush> claim_pushes(std::string_view owner, TimeMs now, TimeMs leaseUntil,
                                       std::size_t limit, bool any) override;

 private:
  std::shared_ptr<Data> data_;
  std::vector<Data> undo_;  // [0]: as the transaction began; then one per open savepoint
};

}  // namespace dialtone
