// SPDX-License-Identifier: Apache-2.0
// The hub: which WebSocket sessions are live for which user and device, and the route of every
// active call (its latest committed document). The call path's outbox publishes each committed
// change here, in commit order; the hub hands the snapshot to every live session of both
// participants. Presence is per device: the listener hears when a device's first session opens
// and its last one closes (here, or on another node when no node has it any more).
// With other nodes (Peers, see cluster.hpp) the hub also hands each change, signal and presence
// change to them, and takes theirs: routes keep only the newest version of a call, so snapshots
// arriving from several nodes in any order never move a call backwards.
#pragma once

#include <array>

#include <boost/json/value.hpp>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "core/call.hpp"
#include "server/calls/presence.hpp"

namespace dialtone {

using Message = std::shared_ptr<const std::string>;

// What the hub needs of a session. deliver() must be thread-safe and must not call back into
// the hub (it only queues the message on the session's strand).
class SessionSink {
 public:
  virtual ~SessionSink() = default;
  virtual void deliver(Message msg) = 0;
  virtual void shutdown() = 0;  // close with "going away" (server shutdown)
  virtual const std::string& user_id() const = 0;
  virtual const std::string& device_id() const = 0;
};

// The other nodes of a cluster, as the hub sees them. Called without the hub's lock held.
class Peers {
 public:
  virtual ~Peers() = default;
  virtual void call_changed(const Call& call) = 0;  // committed here
  virtual void signal(const std::string& toUser, const std::string& toDevice,
                      const Message& msg) = 0;
  // The first session of the device opened here, or its last one here closed.
  virtual void local_presence(const std::string& userId, const std::string& deviceId,
                              bool online) = 0;
  // On some other node.
  virtual bool user_online(const std::string& userId) const = 0;
  virtual bool device_online(const std::string& userId, const std::string& deviceId) const = 0;
};

// What others see of a user (the `watch` op, GET /v1/users): in a call while the user has an
// active call, else online while some device has a session on some node, else offline.
enum class UserStatus { offline, online, in_call };
std::string_view user_status_name(UserStatus s);

class Hub final : public Presence {
 public:
  // Set before any session joins.
  void set_peers(Peers* p) { peers_ = p; }

  // (userId, deviceId, online, when): the first session of a device opened, or its last one
  // closed.
  using PresenceListener =
      std::function<void(const std::string&, const std::string&, bool, std::int64_t)>;
  void set_presence_listener(PresenceListener l) { presence_ = std::move(l); }

  // Signals relayed from this node for one call, by the sending side and the data's type.
  struct SignalCounts {
    std::array<std::int64_t, 4> caller{}, receiver{};  // offer, answer, candidate, restart
  };
  static constexpr std::array<const char*, 4> kSignalTypes = {"offer", "answer", "candidate",
                                                              "restart"};
  // Called (without the lock) once a call this node relayed signals for has ended, with the
  // counts; set before any session joins.
  using SignalsListener = std::function<void(const Call&, const SignalCounts&)>;
  void set_signals_listener(SignalsListener l) { signals_listener_ = std::move(l); }

  // Registers a session and queues `hello` plus the user's active call on it, atomically with
  // respect to publish(): no snapshot can be missed or arrive out of order.
  void join(const std::shared_ptr<SessionSink>& s, Message hello);
  void leave(const SessionSink* s);
  // Presence: a session here or on another node.
  bool user_online(const std::string& userId) const override;
  bool device_online(const std::string& userId, const std::string& deviceId) const override;
  bool user_in_call(const std::string& userId) const override;
  bool online_here(const std::string& userId) const;
  bool device_here(const std::string& userId, const std::string& deviceId) const;
  std::size_t session_count() const;
  // The (user, device) pairs with a session here.
  std::vector<std::pair<std::string, std::string>> local_devices() const;

  // Called by the outbox, in commit order, for every committed change; `doc` is the call's
  // public document, already serialized.
  // The hub keeps `call` itself (not a copy) as the active call's route.
  void publish(const std::shared_ptr<const Call>& call,
               const std::shared_ptr<const std::string>& doc);
  // Seeds the routes with the active calls found in the store at start-up.
  void seed(const std::vector<Call>& active);
  // The latest committed document of an active call, or nullptr.
  std::shared_ptr<const Call> route(const std::string& callId) const;

  // Relays `data` from `fromUser` to the other participant's device in the call. Returns how
  // many sessions it was queued on.
  std::size_t relay_signal(const Call& call, const std::string& fromUser,
                           const boost::json::value& data);

  // From other nodes: a change they committed, a signal for a device that may be here, and a
  // device's presence there having changed (the peers' view is already updated).
  void remote_publish(const Call& call);
  std::size_t remote_signal(const std::string& toUser, const std::string& toDevice,
                            const Message& msg);
  void remote_presence(const std::string& userId, const std::string& deviceId, bool online,
                       std::int64_t when);

  // The session is told of these users' status (replacing whom it watched): a `presence`
  // message with each one's status now is queued on it at once, and one more whenever one's
  // status changes, here or on another node, until it watches others or leaves. The caller
  // checked that it may see them; a session that has left watches nothing.
  void watch(const std::shared_ptr<SessionSink>& s, const std::vector<std::string>& userIds);

  void shutdown_all();

 private:
  UserStatus status_locked(const std::string& userId) const;
  // Tells the user's watchers when the user's status is not the one they were told last.
  void announce_locked(const std::string& userId);
  void unwatch_locked(const SessionSink* s);
  // Queues `msg` for both participants; false (nothing done) if the hub already has a newer
  // version of the call. Takes the lock.
  bool deliver(const std::shared_ptr<const Call>& call, const Message& msg);
  bool deliver_locked(const std::shared_ptr<const Call>& shared, const Message& msg,
                      std::optional<SignalCounts>& counts);
  bool device_here_locked(const std::string& userId, const std::string& deviceId) const;
  std::size_t deliver_signal(const std::string& toUser, const std::string& toDevice,
                             const Message& msg);

  mutable std::mutex mu_;
  std::unordered_map<std::string, std::vector<std::shared_ptr<SessionSink>>> sessions_;
  std::unordered_map<std::string, std::shared_ptr<const Call>> routes_;
  std::unordered_map<std::string, std::string> active_by_user_;
  // Calls that ended lately, so that a late snapshot of one cannot revive its route: the ids,
  // and (when, id) in the order they ended, for forgetting the oldest.
  std::unordered_set<std::string> ended_;
  std::deque<std::pair<std::int64_t, std::string>> endedOrder_;
  static constexpr std::int64_t kEndedForMs = 120'000;
  static constexpr std::size_t kEndedMax = 200'000;
  PresenceListener presence_;
  SignalsListener signals_listener_;
  std::unordered_map<std::string, SignalCounts> signal_counts_;  // under mu_, active calls
  Peers* peers_ = nullptr;
  // Presence watches (under mu_): who watches each user, whom each session watches, and the
  // status the watchers of a user were told last.
  std::unordered_map<std::string, std::vector<std::shared_ptr<SessionSink>>> watchers_;
  std::unordered_map<const SessionSink*, std::vector<std::string>> watching_;
  std::unordered_map<std::string, UserStatus> told_;
};

Message call_message(const Call& call);
Message call_message(std::string_view doc);

}  // namespace dialtone
