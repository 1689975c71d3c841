// SPDX-License-Identifier: Apache-2.0
// The call service: everything that applies the call state machine, on the store thread inside
// the committer's batch — the ops of participants (create with its busy / glare / retry
// decisions, ringing, accept, ready, mute, reject, end, fail, signal), the ring and media
// deadlines, device presence, and push results. It reads and writes through the batch's
// transaction (Tx) and stages every effect; once the batch is durable the effects go to the
// Outbox in commit order. No I/O of its own: with an in-memory store and a recording outbox it
// runs in a unit test.
//
// Presence is per device. A call needs the caller's device from the start and the answering
// device from the answer; when every session of either has been gone for the grace period, the
// call ends with reason "network", whatever other devices the same people have online. A device
// back within the grace keeps the call. Ringing needs no device (any of the receiver's rings).
#pragma once

#include <deque>
#include <functional>
#include <optional>
#include <queue>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/jwt.hpp"
#include "core/request.hpp"
#include "core/timeline.hpp"
#include "server/calls/committer.hpp"
#include "server/calls/op_result.hpp"
#include "server/calls/outbox.hpp"
#include "server/calls/presence.hpp"

namespace dialtone {

// The device of an HTTP op that named none (no X-Device-Id): a call it placed or answered needs
// some device of that user online, not one in particular.
inline constexpr const char* kHttpDeviceId = "http";

struct CallOptions {
  TimeMs ringTimeoutMs = 45'000;
  TimeMs mediaTimeoutMs = 30'000;
  TimeMs presenceGraceMs = 20'000;
  // Keep active calls cached from one batch to the next: only when this service is the store's
  // only writer (SQLite). On a shared store each batch starts from what is committed.
  bool cacheAcrossBatches = true;
  // The push outbox: who this node is in its leases, and how long a lease lasts unrenewed.
  std::string pushOwner = "local";
  TimeMs pushLeaseMs = 30'000;
  std::size_t pushClaimLimit = 500;  // pushes taken over per round
  int pushMaxClaims = 5;  // a push taken over this often (its nodes keep dying on it) goes
};

class CallService final : public BatchOwner {
 public:
  CallService(CallOptions opts, const Presence& presence, Outbox& outbox);

  // Which push platforms can be reached (unset: none, the service reads no devices for pushes).
  void set_pushable(std::function<bool(Platform)> f) { pushable_ = std::move(f); }

  // Before the batches start: reads the active calls and the next deadline, and watches the
  // devices the calls need. Returns the active calls (for the hub's routes).
  std::vector<Call> load(Store& store, TimeMs now);

  // A participant's op (or a create) on `deviceId`.
  OpResult op(Tx& tx, const Principal& who, const std::string& deviceId, const Request& req);
  // Push results for a call's incoming-call notifications, counted into its `delivery`.
  void push_results(Tx& tx, const std::string& callId, std::int64_t sent, std::int64_t failed,
                    const std::vector<TimelineEvent>& events);
  // The push outbox's upkeep, a job of its own every third of a lease: this node's leases are
  // renewed, expired pushes go, and those of nodes that stopped renewing (all others' when
  // `alone`: this node is the store's only one, so they are its own from before a restart) are
  // taken over; returned to be sent after the commit.
  std::vector<PushPlan> tend_pushes(Tx& tx, bool alone);
  // A push of this node's is over: its row goes.
  void push_finished(Tx& tx, const std::string& pushId) { tx.store.delete_push(pushId); }
  // The server's own timeline events (push attempts, relayed-signal counts) for a stored call.
  void append_server_events(Tx& tx, const std::string& callId,
                            const std::vector<TimelineEvent>& events);
  // A device's first session opened (online) or its last one closed, here or on another node.
  void device_presence(Tx& tx, const std::string& userId, const std::string& deviceId, bool online,
                       TimeMs when);

  // BatchOwner
  std::optional<TimeMs> next_wake() override;
  void begin(Tx& tx) override;
  void prefetch(Tx& tx, const std::vector<std::string>& callIds) override;
  void before_commit(Tx& tx) override;
  std::size_t mark() override { return staged_.mark(); }
  void undo(std::size_t mark) override;
  std::function<void()> finish(Tx& tx, bool committed) override;

 private:
  struct Check {  // is this device of the call back yet?
    TimeMs at;
    std::string callId, userId, deviceId;
    bool operator>(const Check& o) const { return at > o.at; }
  };

  // A participant's media events for the call's timeline (see core/timeline.hpp).
  OpResult report(Tx& tx, const Principal& who, const std::string& deviceId, const Request& req);
  OpResult create(Tx& tx, const Principal& who, const std::string& deviceId, const Request& req);
  void fire_deadlines(Tx& tx);
  void fire_presence(Tx& tx);
  // Runs a server-driven change in its own savepoint; a version conflict (another node changed
  // the call first) rolls back only that change.
  void contended(Tx& tx, const std::function<void()>& fn);
  // Arms a check of the device `userId` needs for call `c`, unless that device is online.
  void watch(const Call& c, const std::string& userId);
  // The device has a session (for kHttpDeviceId: some device of the user has).
  bool here(const std::string& userId, const std::string& deviceId) const;
  TimeMs gone_since(const std::string& userId, const std::string& deviceId, TimeMs required);

  // Reads a call inside the batch, from the cache of active calls when it is there.
  std::optional<Call> load_call(Tx& tx, const std::string& callId);
  // Writes a change (or a new call) and stages it; returns the serialized public document.
  std::shared_ptr<const std::string> persist(Tx& tx, const Transition& t, CallState from,
                                             const std::string& actorDevice = {});
  std::shared_ptr<const std::string> insert(Tx& tx, const Call& c,
                                            std::vector<PushDevice> devices = {});
  // The user's devices the push service can reach.
  std::vector<PushDevice> push_targets(Tx& tx, const std::string& userId);
  std::vector<PushDevice> pushable(std::vector<PushDevice> devices) const;
  // A deadline written in this batch: fire_deadlines looks only once the earliest is due.
  void arm(std::optional<TimeMs> deadline);
  // The pushes a change sends (push_plan.hpp), written to the outbox leased to this node.
  std::vector<PushPlan> queue_pushes(Tx& tx, const Call& c, std::optional<CallState> from,
                                     const std::string& actorDevice,
                                     const std::vector<PushDevice>& devices);

  CallOptions opts_;
  const Presence& presence_;
  Outbox& outbox_;
  std::function<bool(Platform)> pushable_;

  // Store-thread state.
  Staged staged_;
  std::optional<TimeMs> next_deadline_;
  std::priority_queue<Check, std::vector<Check>, std::greater<>> checks_;
  std::unordered_map<std::string, TimeMs> gone_since_;  // "user\ndevice" → last session closed
  // The same entries oldest first, to forget them in O(1) each (an entry whose device went away
  // again since has a newer time in the map and stays).
  std::deque<std::pair<TimeMs, std::string>> gone_order_;
  TimeMs started_at_ = 0;
  // Active calls as written by this service (committed, or written earlier in the current
  // batch). Saves a read and a JSON parse per op; cleared whenever anything rolls back, and a
  // version conflict in the store (another writer) clears it and retries the job.
  std::unordered_map<std::string, std::shared_ptr<const Call>> cache_;
  // "call\nside" → the time of the side's last stored quality sample (thinning; bounded).
  std::unordered_map<std::string, TimeMs> last_sample_;
};

}  // namespace dialtone
