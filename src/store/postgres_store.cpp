// SPDX-License-Identifier: Apache-2.0
// PostgreSQL back end of the Store: the SQL, every call stored as its JSON document plus indexed
// columns — the same shapes as the SQLite store — over one connection owned by the store thread
// (pg_connection.hpp: prepared statements, pipelined batches). Several dialtoned nodes may share
// the database: the one-active-call-per-user rule is its primary key, writes are
// version-checked, and due deadlines are taken with FOR UPDATE SKIP LOCKED so that exactly one
// node fires each.
#include <boost/json.hpp>

#include <algorithm>
#include <memory>
#include <optional>

#include "store/pg_connection.hpp"
#include "store/schema.hpp"
#include "store/store.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

// The shared migrations (store/schema.hpp), applied under an advisory lock so that nodes
// starting together migrate once.
using schema::kMigrations;

constexpr long long kMigrationLock = 0x6469616c746f6e65;  // "dialtone"

using pg::Params;
using pg::Result;
using pg::text;

constexpr const char* kNextDeadline =
    "SELECT MIN(deadline_ms) FROM calls WHERE deadline_ms IS NOT NULL";

constexpr const char* kGetUser = "SELECT name, photo FROM users WHERE user_id = $1";
constexpr const char* kActiveCallOf = "SELECT call_id FROM active_calls WHERE user_id = $1";
constexpr const char* kDevicesOf =
    "SELECT device_id, platform, token, alert_token, environment, updated_ms FROM devices "
    "WHERE user_id = $1 ORDER BY device_id";

constexpr std::size_t kMaxIdsPerRead = 64;

// "SELECT doc FROM calls WHERE call_id IN ($1, …, $n)" for n = 1…kMaxIdsPerRead; the texts live
// for the process (prepared statements are keyed by their text's address).
const char* get_calls_sql(std::size_t n) {
  static const std::vector<std::string> texts = [] {
    std::vector<std::string> t(kMaxIdsPerRead + 1);
    for (std::size_t k = 1; k <= kMaxIdsPerRead; ++k) {
      std::string sql = "SELECT doc FROM calls WHERE call_id IN (";
      for (std::size_t i = 1; i <= k; ++i) sql += (i > 1 ? ", $" : "$") + std::to_string(i);
      t[k] = sql + ")";
    }
    return t;
  }();
  return texts.at(n).c_str();
}

class PostgresStore final : public Store {
 public:
  explicit PostgresStore(const std::string& url) : conn_(url) { migrate(); }

  void begin() override {
    next_deadline_after_commit_.reset();
    conn_.begin();
  }
  void commit() override { conn_.commit(); }
  void rollback() override {
    next_deadline_after_commit_.reset();
    conn_.rollback();
  }
  void savepoint() override { conn_.control("SAVEPOINT op"); }
  void release_savepoint() override { conn_.control("RELEASE SAVEPOINT op"); }
  void rollback_to_savepoint() override {
    conn_.control("ROLLBACK TO SAVEPOINT op");
    conn_.control("RELEASE SAVEPOINT op");
  }

  bool begin_pipelined() override {
    next_deadline_after_commit_.reset();
    return conn_.begin_pipelined();
  }
  bool commit_pipelined() override {
    // The next deadline, which the engine asks for after every batch, comes with the COMMIT.
    Result rows(nullptr, PQclear);
    if (!conn_.commit_pipelined(kNextDeadline, &rows)) return false;
    next_deadline_after_commit_ = deadline_of(rows);
    return true;
  }
  std::uint64_t writes() const override { return conn_.writes(); }

  std::optional<Profile> get_user(std::string_view userId) override {
    return profile_of(userId, conn_.run(kGetUser, Params().add(userId)));
  }

  CreateReads create_reads(std::string_view callerId, std::string_view receiverId,
                           bool withDevices) override {
    std::vector<std::pair<const char*, Params>> reads;
    reads.emplace_back(kGetUser, Params().add(receiverId));
    reads.emplace_back(kActiveCallOf, Params().add(callerId));
    reads.emplace_back(kActiveCallOf, Params().add(receiverId));
    if (withDevices) reads.emplace_back(kDevicesOf, Params().add(receiverId));
    auto r = conn_.run_together(reads);
    CreateReads out;
    out.receiver = profile_of(receiverId, r[0]);
    out.callerActive = first_text(r[1]);
    out.receiverActive = first_text(r[2]);
    if (withDevices) out.devices = devices_from(receiverId, r[3]);
    return out;
  }

  void upsert_user(const Profile& p, TimeMs now) override {
    conn_.write(
        "INSERT INTO users (user_id, name, photo, updated_ms) VALUES ($1, $2, $3, $4) "
        "ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, photo = excluded.photo, "
        "updated_ms = excluded.updated_ms",
        Params().add(p.userId).add(p.name).add(p.photo).add(std::int64_t{now}));
  }

  std::vector<Profile> list_users(std::size_t limit) override {
    Result r = conn_.run("SELECT user_id, name, photo FROM users ORDER BY user_id LIMIT $1",
                         Params().add(static_cast<std::int64_t>(limit)));
    std::vector<Profile> out;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      out.push_back({text(r, i, 0), text(r, i, 1), text(r, i, 2)});
    return out;
  }

  void add_contact(std::string_view userId, std::string_view contactId) override {
    conn_.write("INSERT INTO contacts (user_id, contact_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                Params().add(userId).add(contactId));
  }

  bool remove_contact(std::string_view userId, std::string_view contactId) override {
    Result r = conn_.run("DELETE FROM contacts WHERE user_id = $1 AND contact_id = $2",
                         Params().add(userId).add(contactId));
    return std::string_view(PQcmdTuples(r.get())) != "0";
  }

  bool mutual_contacts(std::string_view a, std::string_view b) override {
    Result r = conn_.run(
        "SELECT COUNT(*) FROM contacts WHERE (user_id = $1 AND contact_id = $2) OR "
        "(user_id = $2 AND contact_id = $1)",
        Params().add(a).add(b));
    return text(r, 0, 0) == "2";
  }

  std::vector<Profile> list_mutual_contacts(std::string_view userId, std::size_t limit) override {
    Result r = conn_.run(
        "SELECT u.user_id, u.name, u.photo FROM contacts c "
        "JOIN contacts back ON back.user_id = c.contact_id AND back.contact_id = c.user_id "
        "JOIN users u ON u.user_id = c.contact_id "
        "WHERE c.user_id = $1 ORDER BY u.user_id LIMIT $2",
        Params().add(userId).add(static_cast<std::int64_t>(limit)));
    std::vector<Profile> out;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      out.push_back({text(r, i, 0), text(r, i, 1), text(r, i, 2)});
    return out;
  }

  std::optional<Call> get_call(std::string_view callId) override {
    Result r = conn_.run("SELECT doc FROM calls WHERE call_id = $1", Params().add(callId));
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return parse_doc(r, 0);
  }

  std::vector<Call> get_calls(const std::vector<std::string>& callIds) override {
    // One statement per number of ids, `call_id IN ($1, …, $n)`: PostgreSQL plans it once, as
    // an index lookup per id. (`= ANY($1::text[])` was planned anew at every execution, since
    // its generic plan guesses ten ids: 0.2 ms of PostgreSQL's CPU each time.)
    std::vector<Call> out;
    for (std::size_t at = 0; at < callIds.size(); at += kMaxIdsPerRead) {
      std::size_t n = std::min(kMaxIdsPerRead, callIds.size() - at);
      Params p;
      for (std::size_t k = 0; k < n; ++k) p.add(callIds[at + k]);
      Result r = conn_.run(get_calls_sql(n), p);
      for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(parse_doc(r, i));
    }
    return out;
  }

  void insert_call(const Call& c, std::optional<TimeMs> deadline, std::string_view doc) override {
    conn_.write(
        "INSERT INTO calls (call_id, caller_id, receiver_id, state, created_ms, version, "
        "deadline_ms, doc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        Params()
            .add(c.callId)
            .add(c.callerId)
            .add(c.receiverId)
            .add(state_name(c.state))
            .add(std::int64_t{c.timestamp})
            .add(std::int64_t{c.version})
            .add(deadline)
            .add(doc));
  }

  void update_call(const Call& c, std::optional<TimeMs> deadline, std::string_view doc) override {
    // The version check fails as an error (1 / 0 when no row was updated: division_by_zero,
    // taken for a conflict), not as a count: in a pipeline an error makes PostgreSQL skip the
    // rest, the COMMIT included, so a batch can be committed without waiting for this answer.
    conn_.write(
        "WITH u AS (UPDATE calls SET state = $2, version = $3, deadline_ms = $4, doc = $5 "
        "WHERE call_id = $1 AND version = $6 RETURNING 1) "
        "SELECT 1 / (COUNT(*) = 1)::int FROM u",
        Params()
            .add(c.callId)
            .add(state_name(c.state))
            .add(std::int64_t{c.version})
            .add(deadline)
            .add(doc)
            .add(std::int64_t{c.version - 1}));
  }

  std::optional<std::string> active_call_of(std::string_view userId) override {
    return first_text(conn_.run(kActiveCallOf, Params().add(userId)));
  }

  void claim_active(std::string_view userId, std::string_view callId) override {
    conn_.write("INSERT INTO active_calls (user_id, call_id) VALUES ($1, $2)",
                Params().add(userId).add(callId));
  }

  void release_active(std::string_view callId) override {
    conn_.write("DELETE FROM active_calls WHERE call_id = $1", Params().add(callId));
  }

  std::vector<std::string> due_calls(TimeMs now, std::size_t limit) override {
    // Rows another node's open transaction is firing are skipped: each deadline fires once.
    Result r = conn_.run(
        "SELECT call_id FROM calls WHERE deadline_ms IS NOT NULL AND deadline_ms <= $1 "
        "ORDER BY deadline_ms LIMIT $2 FOR UPDATE SKIP LOCKED",
        Params().add(std::int64_t{now}).add(static_cast<std::int64_t>(limit)));
    std::vector<std::string> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(text(r, i, 0));
    return out;
  }

  std::optional<TimeMs> next_deadline() override {
    if (next_deadline_after_commit_) {
      auto known = *next_deadline_after_commit_;
      next_deadline_after_commit_.reset();
      return known;
    }
    return deadline_of(conn_.run(kNextDeadline, Params()));
  }

  std::vector<Call> active_calls() override {
    Result r =
        conn_.run("SELECT DISTINCT c.doc FROM calls c JOIN active_calls a ON a.call_id = c.call_id",
                  Params());
    std::vector<Call> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(parse_doc(r, i));
    return out;
  }

  std::vector<Call> history(std::string_view userId, TimeMs before, std::size_t limit) override {
    Result r = conn_.run(
        "SELECT doc, created_ms FROM calls WHERE caller_id = $1 AND created_ms < $2 "
        "UNION ALL "
        "SELECT doc, created_ms FROM calls WHERE receiver_id = $1 AND created_ms < $2 "
        "ORDER BY created_ms DESC LIMIT $3",
        Params().add(userId).add(std::int64_t{before}).add(static_cast<std::int64_t>(limit)));
    std::vector<Call> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(parse_doc(r, i));
    return out;
  }

  std::vector<Call> search_calls(std::string_view userId, TimeMs from, TimeMs to,
                                 std::size_t limit) override {
    Params p;
    p.add(userId)
        .add(std::int64_t{from})
        .add(std::int64_t{to})
        .add(static_cast<std::int64_t>(limit));
    Result r = userId.empty() ? conn_.run(
                                    "SELECT doc FROM calls WHERE $1 = '' AND created_ms >= $2 AND "
                                    "created_ms < $3 ORDER BY created_ms DESC LIMIT $4",
                                    p)
                              : conn_.run(
                                    "SELECT doc, created_ms FROM calls WHERE caller_id = $1 AND "
                                    "created_ms >= $2 AND created_ms < $3 "
                                    "UNION ALL "
                                    "SELECT doc, created_ms FROM calls WHERE receiver_id = $1 AND "
                                    "caller_id <> $1 AND created_ms >= $2 AND created_ms < $3 "
                                    "ORDER BY created_ms DESC LIMIT $4",
                                    p);
    std::vector<Call> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) out.push_back(parse_doc(r, i));
    return out;
  }

  std::size_t delete_calls_before(TimeMs before, std::size_t limit) override {
    // One round trip: the batch's calls (not active ones, none another node is deleting) and
    // their timelines.
    Result r = conn_.run(
        "WITH doomed AS (SELECT call_id FROM calls WHERE created_ms < $1 AND call_id NOT IN "
        "(SELECT call_id FROM active_calls) ORDER BY created_ms LIMIT $2 FOR UPDATE SKIP LOCKED), "
        "events AS (DELETE FROM call_events WHERE call_id IN (SELECT call_id FROM doomed)) "
        "DELETE FROM calls WHERE call_id IN (SELECT call_id FROM doomed)",
        Params().add(std::int64_t{before}).add(static_cast<std::int64_t>(limit)));
    return static_cast<std::size_t>(std::stoull(PQcmdTuples(r.get())));
  }

  std::size_t append_events(std::string_view callId, const std::vector<TimelineEvent>& events,
                            std::size_t max) override {
    Result c =
        conn_.run("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM call_events WHERE call_id = $1",
                  Params().add(callId));
    auto have = static_cast<std::size_t>(std::stoll(text(c, 0, 0)));
    std::int64_t seq = std::stoll(text(c, 0, 1));
    std::size_t n = 0;
    // Only an event stored already (call_events_once) is skipped. Another node appending to the
    // same call took the same positions: that is a unique violation on (call_id, seq), a
    // conflict, and the job runs again on what is committed — its events are not lost.
    for (const auto& e : events) {
      if (have + n >= max) break;
      Result r = conn_.run(
          "INSERT INTO call_events (call_id, seq, at_ms, side, device, type, data) "
          "VALUES ($1, $2, $3, $4, $5, $6, $7) "
          "ON CONFLICT (call_id, at_ms, side, device, type, data) DO NOTHING",
          Params()
              .add(callId)
              .add(++seq)
              .add(std::int64_t{e.at})
              .add(e.side)
              .add(e.device)
              .add(e.type)
              .add(event_data_string(e)));
      if (std::string_view(PQcmdTuples(r.get())) == "1") ++n;  // else stored already
    }
    return n;
  }

  std::vector<TimelineEvent> events_of(std::string_view callId) override {
    Result r = conn_.run(
        "SELECT at_ms, side, device, type, data FROM call_events WHERE call_id = $1 ORDER BY seq",
        Params().add(callId));
    std::vector<TimelineEvent> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      json::value d = json::parse(text(r, i, 4));
      out.push_back(TimelineEvent{std::stoll(text(r, i, 0)), text(r, i, 1), text(r, i, 2),
                                  text(r, i, 3), d.is_object() ? d.get_object() : json::object{}});
    }
    return out;
  }

  void put_device(const PushDevice& d) override {
    std::string platform(platform_name(d.platform));
    conn_.write(
        "DELETE FROM devices WHERE platform = $1 AND token = $2 "
        "AND NOT (user_id = $3 AND device_id = $4)",
        Params().add(platform).add(d.token).add(d.userId).add(d.deviceId));
    conn_.write(
        "INSERT INTO devices (user_id, device_id, platform, token, alert_token, environment, "
        "updated_ms) VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (user_id, device_id) DO "
        "UPDATE SET platform = excluded.platform, token = excluded.token, "
        "alert_token = excluded.alert_token, environment = excluded.environment, "
        "updated_ms = excluded.updated_ms",
        Params()
            .add(d.userId)
            .add(d.deviceId)
            .add(platform)
            .add(d.token)
            .add(d.alertToken)
            .add(d.environment)
            .add(std::int64_t{d.updatedAt}));
    conn_.write(
        "DELETE FROM devices WHERE user_id = $1 AND device_id NOT IN (SELECT device_id FROM "
        "devices WHERE user_id = $1 ORDER BY updated_ms DESC, device_id LIMIT $2)",
        Params().add(d.userId).add(static_cast<std::int64_t>(kMaxDevicesPerUser)));
  }

  bool delete_device(std::string_view userId, std::string_view deviceId) override {
    Result r = conn_.run("DELETE FROM devices WHERE user_id = $1 AND device_id = $2",
                         Params().add(userId).add(deviceId));
    return std::string_view(PQcmdTuples(r.get())) != "0";
  }

  void forget_push_token(std::string_view userId, std::string_view deviceId,
                         std::string_view token) override {
    conn_.write("DELETE FROM devices WHERE user_id = $1 AND device_id = $2 AND token = $3",
                Params().add(userId).add(deviceId).add(token));
    conn_.write(
        "UPDATE devices SET alert_token = '' WHERE user_id = $1 AND device_id = $2 AND "
        "alert_token = $3",
        Params().add(userId).add(deviceId).add(token));
  }

  std::vector<PushDevice> devices_of(std::string_view userId) override {
    return devices_from(userId, conn_.run(kDevicesOf, Params().add(userId)));
  }

  static std::optional<Profile> profile_of(std::string_view userId, const Result& r) {
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return Profile{std::string(userId), text(r, 0, 0), text(r, 0, 1)};
  }
  static std::optional<std::string> first_text(const Result& r) {
    if (PQntuples(r.get()) == 0) return std::nullopt;
    return text(r, 0, 0);
  }
  static std::vector<PushDevice> devices_from(std::string_view userId, const Result& r) {
    std::vector<PushDevice> out;
    for (int i = 0; i < PQntuples(r.get()); ++i) {
      auto platform = parse_platform(text(r, i, 1));
      if (!platform) continue;
      out.push_back({std::string(userId), text(r, i, 0), *platform, text(r, i, 2), text(r, i, 3),
                     text(r, i, 4), std::stoll(text(r, i, 5))});
    }
    return out;
  }

  std::string shared_secret(std::string_view name, std::string_view candidate) override {
    conn_.run("INSERT INTO shared_secrets (name, value) VALUES ($1, $2) ON CONFLICT DO NOTHING",
              Params().add(name).add(candidate));
    Result r = conn_.run("SELECT value FROM shared_secrets WHERE name = $1", Params().add(name));
    if (PQntuples(r.get()) != 1)
      throw StoreError(StoreError::Kind::failure, "shared secret vanished");
    return text(r, 0, 0);
  }

  void add_push(const QueuedPush& p, std::string_view owner, TimeMs leaseUntil) override {
    conn_.write(
        "INSERT INTO push_outbox (push_id, call_id, kind, user_id, device_id, notice, "
        "expires_ms, owner, lease_ms, claims) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        Params()
            .add(p.pushId)
            .add(p.callId)
            .add(p.kind)
            .add(p.userId)
            .add(p.deviceId)
            .add(p.notice)
            .add(std::int64_t{p.expiresAt})
            .add(owner)
            .add(std::int64_t{leaseUntil})
            .add(std::int64_t{p.claims}));
  }

  void delete_push(std::string_view pushId) override {
    conn_.write("DELETE FROM push_outbox WHERE push_id = $1", Params().add(pushId));
  }

  void delete_incoming_pushes(std::string_view callId) override {
    conn_.write("DELETE FROM push_outbox WHERE call_id = $1 AND kind = 'incoming_call'",
                Params().add(callId));
  }

  void renew_pushes(std::string_view owner, TimeMs leaseUntil) override {
    conn_.write("UPDATE push_outbox SET lease_ms = $2 WHERE owner = $1",
                Params().add(owner).add(std::int64_t{leaseUntil}));
  }

  std::size_t purge_pushes(TimeMs now, int maxClaims) override {
    Result r = conn_.run("DELETE FROM push_outbox WHERE expires_ms <= $1 OR claims >= $2",
                         Params().add(std::int64_t{now}).add(std::int64_t{maxClaims}));
    return static_cast<std::size_t>(std::stoull(PQcmdTuples(r.get())));
  }

  std::vector<QueuedPush> claim_pushes(std::string_view owner, TimeMs now, TimeMs leaseUntil,
                                       std::size_t limit, bool any) override {
    // SKIP LOCKED: the rows another node is claiming in its open transaction are left to it;
    // this node takes the next ones instead of waiting (and then finding them taken).
    Result r = conn_.run(
        "UPDATE push_outbox SET owner = $1, lease_ms = $3, claims = claims + 1 "
        "WHERE push_id IN (SELECT push_id FROM push_outbox WHERE owner <> $1 AND "
        "($5::bigint = 1 OR lease_ms < $2) ORDER BY lease_ms LIMIT $4 FOR UPDATE SKIP LOCKED) "
        "RETURNING push_id, call_id, kind, user_id, device_id, notice, expires_ms, claims",
        Params()
            .add(owner)
            .add(std::int64_t{now})
            .add(std::int64_t{leaseUntil})
            .add(static_cast<std::int64_t>(limit))
            .add(std::int64_t{any ? 1 : 0}));
    std::vector<QueuedPush> out;
    for (int i = 0; i < PQntuples(r.get()); ++i)
      out.push_back({text(r, i, 0), text(r, i, 1), text(r, i, 2), text(r, i, 3), text(r, i, 4),
                     text(r, i, 5), std::stoll(text(r, i, 6)), std::stoi(text(r, i, 7))});
    return out;
  }

 private:
  static std::optional<TimeMs> deadline_of(const Result& r) {
    if (!r || PQntuples(r.get()) == 0 || PQgetisnull(r.get(), 0, 0)) return std::nullopt;
    return std::stoll(text(r, 0, 0));
  }

  static Call parse_doc(const Result& r, int row) {
    json::value v = json::parse(text(r, row, 0));
    return call_from_storage_json(v.as_object());
  }

  void migrate() {
    conn_.exec("BEGIN");
    try {
      // Nodes starting together: one migrates, the others wait here and then find it done.
      conn_.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
      conn_.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)");
      Result r = conn_.exec("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
      std::int64_t have = std::stoll(text(r, 0, 0));
      const std::int64_t want = std::size(kMigrations);
      if (have > want)
        throw StoreError(StoreError::Kind::failure,
                         "database schema is newer than this dialtoned "
                         "(version " +
                             std::to_string(have) + ")");
      for (std::int64_t v = have + 1; v <= want; ++v) {
        conn_.exec(kMigrations[v - 1]);
        conn_.exec("INSERT INTO schema_migrations (version) VALUES (" + std::to_string(v) + ")");
      }
      conn_.exec("COMMIT");
    } catch (...) {
      try {
        conn_.rollback();
      } catch (const StoreError&) {
        // the first error is the one to report
      }
      throw;
    }
  }

  pg::Connection conn_;
  // Read in the commit's round trip (std::nullopt inside: no deadline is armed).
  std::optional<std::optional<TimeMs>> next_deadline_after_commit_;
};

}  // namespace

std::unique_ptr<Store> open_postgres_store(const std::string& url) {
  return std::make_unique<PostgresStore>(url);
}

}  // namespace dialtone
