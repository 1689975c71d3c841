// SPDX-License-Identifier: Apache-2.0
// SQLite back end of the Store: WAL mode, one connection owned by the store thread,
// prepared statements cached, every call stored as its JSON document plus indexed columns.
#include <sqlite3.h>

#include <boost/json.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "store/schema.hpp"
#include "store/store.hpp"

namespace dialtone {

namespace json = boost::json;

namespace {

// Versioned migrations shared with the PostgreSQL store (store/schema.hpp).
using schema::kMigrations;

constexpr std::int64_t kWalSizeLimit = 64 << 20;  // bytes the WAL keeps after it starts over

class Stmt {
 public:
  Stmt(sqlite3* db, const char* sql) : db_(db) {
    if (sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st_, nullptr) != SQLITE_OK)
      throw StoreError(StoreError::Kind::failure,
                       std::string("prepare failed: ") + sqlite3_errmsg(db));
  }
  ~Stmt() { sqlite3_finalize(st_); }
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  Stmt& reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    return *this;
  }
  Stmt& bind(int i, std::string_view s) {
    sqlite3_bind_text(st_, i, s.data(), static_cast<int>(s.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Stmt& bind(int i, std::int64_t v) {
    sqlite3_bind_int64(st_, i, v);
    return *this;
  }
  Stmt& bind(int i, std::optional<std::int64_t> v) {
    if (v)
      sqlite3_bind_int64(st_, i, *v);
    else
      sqlite3_bind_null(st_, i);
    return *this;
  }
  // true: a row is available.
  bool step() {
    int rc = sqlite3_step(st_);
    if (rc == SQLITE_ROW) return true;
    if (rc == SQLITE_DONE) return false;
    int ext = sqlite3_extended_errcode(db_);
    std::string msg = sqlite3_errmsg(db_);
    sqlite3_reset(st_);
    if (ext == SQLITE_CONSTRAINT_PRIMARYKEY || ext == SQLITE_CONSTRAINT_UNIQUE)
      throw StoreError(StoreError::Kind::conflict, msg);
    throw StoreError(StoreError::Kind::failure, msg);
  }
  void run() {
    step();
    sqlite3_reset(st_);
  }
  std::string_view text(int col) {
    auto* p = reinterpret_cast<const char*>(sqlite3_column_text(st_, col));
    return p ? std::string_view(p, static_cast<size_t>(sqlite3_column_bytes(st_, col)))
             : std::string_view();
  }
  std::int64_t int64(int col) { return sqlite3_column_int64(st_, col); }
  bool is_null(int col) { return sqlite3_column_type(st_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
};

json::object event_data(std::string_view text) {
  json::value v = json::parse(text);
  return v.is_object() ? v.get_object() : json::object{};
}

Call parse_doc(std::string_view text) {
  json::value v = json::parse(text);
  return call_from_storage_json(v.as_object());
}

// Copies the WAL back into the database on its own thread and connection, so that the store
// thread never waits for a checkpoint (and the two fsyncs it costs in synchronous=NORMAL).
// The writer's connection has automatic checkpoints off; its WAL hook wakes this thread.
// Its passive checkpoints never block the writer, but under steady writes the WAL is never all
// copied at the moment the writer begins, so it never starts over from its beginning; a RESTART
// checkpoint from here would have to win the write lock from a writer that takes it back at once
// (starved under load). So the writer itself, past kRestartFrames and between transactions, runs
// a passive checkpoint for the few frames left: the WAL is then all copied, and its next
// transaction starts the WAL over.
class Checkpointer {
 public:
  explicit Checkpointer(const std::string& path) {
    if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nullptr) !=
        SQLITE_OK)
      throw StoreError(StoreError::Kind::failure, "cannot open checkpoint connection");
    sqlite3_busy_timeout(db_, 1000);
    // A connection finds the WAL only when it first reads the database; until then a checkpoint
    // on it is a no-op ("not in WAL mode": the WAL grew without bound while the server ran).
    if (sqlite3_exec(db_, "PRAGMA journal_mode=WAL", nullptr, nullptr, nullptr) != SQLITE_OK) {
      std::string msg = sqlite3_errmsg(db_);
      sqlite3_close(db_);
      throw StoreError(StoreError::Kind::failure, "checkpoint connection: " + msg);
    }
    thread_ = std::thread([this] { loop(); });
  }
  ~Checkpointer() {
    {
      std::lock_guard lk(mu_);
      stop_ = true;
    }
    cv_.notify_one();
    thread_.join();
    sqlite3_close(db_);
  }
  // Held during each of this thread's checkpoints.
  std::mutex& pass() { return pass_; }
  void wal_grew(int frames) {
    if (frames < kFrames) return;
    std::lock_guard lk(mu_);
    pending_ = true;
    cv_.notify_one();
  }

 private:
  static constexpr int kFrames = 1000;
  // At most one pass per interval: each pass syncs the WAL and the database (two fdatasyncs in
  // synchronous=NORMAL), and passes back to back under a steady write load (every commit leaves
  // more than kFrames in the WAL) made hundreds of syncs a second.
  static constexpr auto kInterval = std::chrono::milliseconds(100);
  void loop() {
    std::unique_lock lk(mu_);
    while (!stop_) {
      cv_.wait_for(lk, std::chrono::seconds(1), [this] { return pending_ || stop_; });
      pending_ = false;
      lk.unlock();
      auto started = std::chrono::steady_clock::now();
      {
        std::lock_guard pass(pass_);
        sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
      }
      lk.lock();
      cv_.wait_until(lk, started + kInterval, [this] { return stop_; });
    }
  }
  sqlite3* db_ = nullptr;
  std::mutex mu_, pass_;
  std::condition_variable cv_;
  bool pending_ = false;
  bool stop_ = false;
  std::thread thread_;
};

class SqliteStore final : public Store {
 public:
  SqliteStore(const std::string& path, const std::string& synchronous) {
    if (sqlite3_open_v2(path.c_str(), &db_,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                        nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      throw StoreError(StoreError::Kind::failure, "cannot open " + path + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 5000);
    exec("PRAGMA journal_mode=WAL");
    exec("PRAGMA synchronous=" + synchronous);
    exec("PRAGMA foreign_keys=ON");
    exec("PRAGMA cache_size=-16384");  // 16 MiB
    exec("PRAGMA temp_store=MEMORY");  // savepoints' statement journals stay off the disk
    migrate();
    exec("PRAGMA wal_autocheckpoint=0");
    // When the WAL starts over after a checkpoint, a file a burst made large shrinks back.
    exec("PRAGMA journal_size_limit=" + std::to_string(kWalSizeLimit));
    checkpointer_ = std::make_unique<Checkpointer>(path);
    sqlite3_wal_hook(
        db_,
        [](void* self, sqlite3*, const char*, int frames) {
          auto* store = static_cast<SqliteStore*>(self);
          store->walFrames_ = frames;
          store->checkpointer_->wal_grew(frames);
          return SQLITE_OK;
        },
        this);
  }
  ~SqliteStore() override {
    sqlite3_wal_hook(db_, nullptr, nullptr);
    checkpointer_.reset();
    stmts_.clear();
    sqlite3_close(db_);  // the last connection to close checkpoints the rest
  }

  void begin() override { stmt("BEGIN IMMEDIATE").reset().run(); }
  void commit() override {
    stmt("COMMIT").reset().run();
    if (walFrames_ >= kHardFrames) {
      // The checkpoint thread cannot keep up (starved of CPU under a write storm, it is copying
      // whenever the writer looks): the writer waits for its pass to end and copies the rest
      // itself, so the WAL starts over and stays bounded.
      std::lock_guard pass(checkpointer_->pass());
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
    } else if (walFrames_ >= kRestartFrames)  // see Checkpointer; busy (it is copying): next time
      sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  void rollback() override {
    if (!sqlite3_get_autocommit(db_)) stmt("ROLLBACK").reset().run();
  }
  void savepoint() override { stmt("SAVEPOINT op").reset().run(); }
  void release_savepoint() override { stmt("RELEASE op").reset().run(); }
  void rollback_to_savepoint() override {
    stmt("ROLLBACK TO op").reset().run();
    stmt("RELEASE op").reset().run();
  }

  std::optional<Profile> get_user(std::string_view userId) override {
    auto& s = stmt("SELECT name, photo FROM users WHERE user_id = ?1").reset().bind(1, userId);
    if (!s.step()) return std::nullopt;
    Profile p{std::string(userId), std::string(s.text(0)), std::string(s.text(1))};
    s.reset();
    return p;
  }

  void upsert_user(const Profile& p, TimeMs now) override {
    stmt(
        "INSERT INTO users (user_id, name, photo, updated_ms) VALUES (?1, ?2, ?3, ?4) "
        "ON CONFLICT (user_id) DO UPDATE SET name = excluded.name, photo = excluded.photo, "
        "updated_ms = excluded.updated_ms")
        .reset()
        .bind(1, p.userId)
        .bind(2, p.name)
        .bind(3, p.photo)
        .bind(4, std::int64_t{now})
        .run();
  }

  std::vector<Profile> list_users(std::size_t limit) override {
    auto& s = stmt("SELECT user_id, name, photo FROM users ORDER BY user_id LIMIT ?1")
                  .reset()
                  .bind(1, static_cast<std::int64_t>(limit));
    std::vector<Profile> out;
    while (s.step())
      out.push_back({std::string(s.text(0)), std::string(s.text(1)), std::string(s.text(2))});
    return out;
  }

  void add_contact(std::string_view userId, std::string_view contactId) override {
    stmt("INSERT INTO contacts (user_id, contact_id) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
        .reset()
        .bind(1, userId)
        .bind(2, contactId)
        .run();
  }

  bool remove_contact(std::string_view userId, std::string_view contactId) override {
    stmt("DELETE FROM contacts WHERE user_id = ?1 AND contact_id = ?2")
        .reset()
        .bind(1, userId)
        .bind(2, contactId)
        .run();
    return sqlite3_changes(db_) > 0;
  }

  bool mutual_contacts(std::string_view a, std::string_view b) override {
    auto& s = stmt(
                  "SELECT COUNT(*) FROM contacts WHERE (user_id = ?1 AND contact_id = ?2) OR "
                  "(user_id = ?2 AND contact_id = ?1)")
                  .reset()
                  .bind(1, a)
                  .bind(2, b);
    bool both = s.step() && s.int64(0) == 2;
    s.reset();
    return both;
  }

  std::vector<Profile> list_mutual_contacts(std::string_view userId, std::size_t limit) override {
    auto& s =
        stmt(
            "SELECT u.user_id, u.name, u.photo FROM contacts c "
            "JOIN contacts back ON back.user_id = c.contact_id AND back.contact_id = c.user_id "
            "JOIN users u ON u.user_id = c.contact_id "
            "WHERE c.user_id = ?1 ORDER BY u.user_id LIMIT ?2")
            .reset()
            .bind(1, userId)
            .bind(2, static_cast<std::int64_t>(limit));
    std::vector<Profile> out;
    while (s.step())
      out.push_back({std::string(s.text(0)), std::string(s.text(1)), std::string(s.text(2))});
    return out;
  }

  std::optional<Call> get_call(std::string_view callId) override {
    auto& s = stmt("SELECT doc FROM calls WHERE call_id = ?1").reset().bind(1, callId);
    if (!s.step()) return std::nullopt;
    Call c = parse_doc(s.text(0));
    s.reset();
    return c;
  }

  void insert_call(const Call& c, std::optional<TimeMs> deadline, std::string_view doc) override {
    stmt(
        "INSERT INTO calls (call_id, caller_id, receiver_id, state, created_ms, version, "
        "deadline_ms, doc) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")
        .reset()
        .bind(1, c.callId)
        .bind(2, c.callerId)
        .bind(3, c.receiverId)
        .bind(4, state_name(c.state))
        .bind(5, std::int64_t{c.timestamp})
        .bind(6, std::int64_t{c.version})
        .bind(7, deadline)
        .bind(8, doc)
        .run();
  }

  void update_call(const Call& c, std::optional<TimeMs> deadline, std::string_view doc) override {
    stmt(
        "UPDATE calls SET state = ?2, version = ?3, deadline_ms = ?4, doc = ?5 "
        "WHERE call_id = ?1 AND version = ?6")
        .reset()
        .bind(1, c.callId)
        .bind(2, state_name(c.state))
        .bind(3, std::int64_t{c.version})
        .bind(4, deadline)
        .bind(5, doc)
        .bind(6, std::int64_t{c.version - 1})
        .run();
    if (sqlite3_changes(db_) != 1)
      throw StoreError(StoreError::Kind::conflict, "call " + c.callId + " changed concurrently");
  }

  std::optional<std::string> active_call_of(std::string_view userId) override {
    auto& s = stmt("SELECT call_id FROM active_calls WHERE user_id = ?1").reset().bind(1, userId);
    if (!s.step()) return std::nullopt;
    std::string id(s.text(0));
    s.reset();
    return id;
  }

  void claim_active(std::string_view userId, std::string_view callId) override {
    stmt("INSERT INTO active_calls (user_id, call_id) VALUES (?1, ?2)")
        .reset()
        .bind(1, userId)
        .bind(2, callId)
        .run();
  }

  void release_active(std::string_view callId) override {
    stmt("DELETE FROM active_calls WHERE call_id = ?1").reset().bind(1, callId).run();
  }

  std::vector<std::string> due_calls(TimeMs now, std::size_t limit) override {
    auto& s = stmt(
                  "SELECT call_id FROM calls WHERE deadline_ms IS NOT NULL AND deadline_ms <= ?1 "
                  "ORDER BY deadline_ms LIMIT ?2")
                  .reset()
                  .bind(1, std::int64_t{now})
                  .bind(2, static_cast<std::int64_t>(limit));
    std::vector<std::string> out;
    while (s.step()) out.emplace_back(s.text(0));
    return out;
  }

  std::optional<TimeMs> next_deadline() override {
    auto& s = stmt("SELECT MIN(deadline_ms) FROM calls WHERE deadline_ms IS NOT NULL").reset();
    if (!s.step() || s.is_null(0)) {
      s.reset();
      return std::nullopt;
    }
    TimeMs t = s.int64(0);
    s.reset();
    return t;
  }

  std::vector<Call> active_calls() override {
    auto& s =
        stmt("SELECT DISTINCT c.doc FROM calls c JOIN active_calls a ON a.call_id = c.call_id")
            .reset();
    std::vector<Call> out;
    while (s.step()) out.push_back(parse_doc(s.text(0)));
    return out;
  }

  std::vector<Call> history(std::string_view userId, TimeMs before, std::size_t limit) override {
    auto& s = stmt(
                  "SELECT doc, created_ms FROM calls WHERE caller_id = ?1 AND created_ms < ?2 "
                  "UNION ALL "
                  "SELECT doc, created_ms FROM calls WHERE receiver_id = ?1 AND created_ms < ?2 "
                  "ORDER BY created_ms DESC LIMIT ?3")
                  .reset()
                  .bind(1, userId)
                  .bind(2, std::int64_t{before})
                  .bind(3, static_cast<std::int64_t>(limit));
    std::vector<Call> out;
    while (s.step()) out.push_back(parse_doc(s.text(0)));
    return out;
  }

  std::vector<Call> search_calls(std::string_view userId, TimeMs from, TimeMs to,
                                 std::size_t limit) override {
    auto& s = userId.empty()
                  ? stmt(
                        "SELECT doc FROM calls WHERE created_ms >= ?2 AND created_ms < ?3 "
                        "ORDER BY created_ms DESC LIMIT ?4")
                  : stmt(
                        "SELECT doc, created_ms FROM calls WHERE caller_id = ?1 AND "
                        "created_ms >= ?2 AND created_ms < ?3 "
                        "UNION ALL "
                        "SELECT doc, created_ms FROM calls WHERE receiver_id = ?1 AND "
                        "caller_id <> ?1 AND created_ms >= ?2 AND created_ms < ?3 "
                        "ORDER BY created_ms DESC LIMIT ?4");
    s.reset().bind(1, userId).bind(2, std::int64_t{from}).bind(3, std::int64_t{to});
    s.bind(4, static_cast<std::int64_t>(limit));
    std::vector<Call> out;
    while (s.step()) out.push_back(parse_doc(s.text(0)));
    return out;
  }

  std::size_t delete_calls_before(TimeMs before, std::size_t limit) override {
    auto& pick = stmt(
        "SELECT call_id FROM calls WHERE created_ms < ?1 AND call_id NOT IN "
        "(SELECT call_id FROM active_calls) ORDER BY created_ms LIMIT ?2");
    pick.reset().bind(1, std::int64_t{before}).bind(2, static_cast<std::int64_t>(limit));
    std::vector<std::string> ids;
    while (pick.step()) ids.emplace_back(pick.text(0));
    for (const auto& id : ids) {
      stmt("DELETE FROM call_events WHERE call_id = ?1").reset().bind(1, id).run();
      stmt("DELETE FROM calls WHERE call_id = ?1").reset().bind(1, id).run();
    }
    return ids.size();
  }

  std::size_t append_events(std::string_view callId, const std::vector<TimelineEvent>& events,
                            std::size_t max) override {
    auto& count =
        stmt("SELECT COUNT(*), COALESCE(MAX(seq), 0) FROM call_events WHERE call_id = ?1");
    count.reset().bind(1, callId);
    count.step();
    auto have = static_cast<std::size_t>(count.int64(0));
    std::int64_t seq = count.int64(1);
    count.reset();
    std::size_t n = 0;
    auto& ins = stmt(
        "INSERT INTO call_events (call_id, seq, at_ms, side, device, type, data) "
        "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) "
        "ON CONFLICT (call_id, at_ms, side, device, type, data) DO NOTHING");
    for (const auto& e : events) {
      if (have + n >= max) break;
      ins.reset().bind(1, callId).bind(2, ++seq).bind(3, std::int64_t{e.at}).bind(4, e.side);
      ins.bind(5, e.device).bind(6, e.type).bind(7, event_data_string(e)).run();
      n += static_cast<std::size_t>(sqlite3_changes(db_));  // 0: stored already (call_events_once)
    }
    return n;
  }

  std::vector<TimelineEvent> events_of(std::string_view callId) override {
    auto& s = stmt(
        "SELECT at_ms, side, device, type, data FROM call_events WHERE call_id = ?1 ORDER BY seq");
    s.reset().bind(1, callId);
    std::vector<TimelineEvent> out;
    while (s.step()) {
      out.push_back(TimelineEvent{s.int64(0), std::string(s.text(1)), std::string(s.text(2)),
                                  std::string(s.text(3)), event_data(s.text(4))});
    }
    return out;
  }

  void put_device(const PushDevice& d) override {
    std::string platform(platform_name(d.platform));
    stmt(
        "DELETE FROM devices WHERE platform = ?1 AND token = ?2 "
        "AND NOT (user_id = ?3 AND device_id = ?4)")
        .reset()
        .bind(1, platform)
        .bind(2, d.token)
        .bind(3, d.userId)
        .bind(4, d.deviceId)
        .run();
    stmt(
        "INSERT INTO devices (user_id, device_id, platform, token, alert_token, environment, "
        "updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (user_id, device_id) DO "
        "UPDATE SET platform = excluded.platform, token = excluded.token, "
        "alert_token = excluded.alert_token, environment = excluded.environment, "
        "updated_ms = excluded.updated_ms")
        .reset()
        .bind(1, d.userId)
        .bind(2, d.deviceId)
        .bind(3, platform)
        .bind(4, d.token)
        .bind(5, d.alertToken)
        .bind(6, d.environment)
        .bind(7, std::int64_t{d.updatedAt})
        .run();
    stmt(
        "DELETE FROM devices WHERE user_id = ?1 AND device_id NOT IN (SELECT device_id FROM "
        "devices WHERE user_id = ?1 ORDER BY updated_ms DESC, device_id LIMIT ?2)")
        .reset()
        .bind(1, d.userId)
        .bind(2, static_cast<std::int64_t>(kMaxDevicesPerUser))
        .run();
  }

  bool delete_device(std::string_view userId, std::string_view deviceId) override {
    stmt("DELETE FROM devices WHERE user_id = ?1 AND device_id = ?2")
        .reset()
        .bind(1, userId)
        .bind(2, deviceId)
        .run();
    return sqlite3_changes(db_) > 0;
  }

  void forget_push_token(std::string_view userId, std::string_view deviceId,
                         std::string_view token) override {
    stmt("DELETE FROM devices WHERE user_id = ?1 AND device_id = ?2 AND token = ?3")
        .reset()
        .bind(1, userId)
        .bind(2, deviceId)
        .bind(3, token)
        .run();
    stmt(
        "UPDATE devices SET alert_token = '' WHERE user_id = ?1 AND device_id = ?2 AND "
        "alert_token = ?3")
        .reset()
        .bind(1, userId)
        .bind(2, deviceId)
        .bind(3, token)
        .run();
  }

  std::vector<PushDevice> devices_of(std::string_view userId) override {
    auto& s = stmt(
                  "SELECT device_id, platform, token, alert_token, environment, updated_ms FROM "
                  "devices WHERE user_id = ?1 ORDER BY device_id")
                  .reset()
                  .bind(1, userId);
    std::vector<PushDevice> out;
    while (s.step()) {
      auto platform = parse_platform(s.text(1));
      if (!platform) continue;
      out.push_back({std::string(userId), std::string(s.text(0)), *platform, std::string(s.text(2)),
                     std::string(s.text(3)), std::string(s.text(4)), s.int64(5)});
    }
    return out;
  }

  std::string shared_secret(std::string_view name, std::string_view candidate) override {
    stmt("INSERT INTO shared_secrets (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING")
        .reset()
        .bind(1, name)
        .bind(2, candidate)
        .run();
    auto& s = stmt("SELECT value FROM shared_secrets WHERE name = ?1").reset().bind(1, name);
    if (!s.step()) throw StoreError(StoreError::Kind::failure, "shared secret vanished");
    std::string value(s.text(0));
    s.reset();  // a statement left on a row holds its snapshot: the WAL could never be reset
    return value;
  }

  void add_push(const QueuedPush& p, std::string_view owner, TimeMs leaseUntil) override {
    stmt(
        "INSERT INTO push_outbox (push_id, call_id, kind, user_id, device_id, notice, "
        "expires_ms, owner, lease_ms, claims) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)")
        .reset()
        .bind(1, p.pushId)
        .bind(2, p.callId)
        .bind(3, p.kind)
        .bind(4, p.userId)
        .bind(5, p.deviceId)
        .bind(6, p.notice)
        .bind(7, std::int64_t{p.expiresAt})
        .bind(8, owner)
        .bind(9, std::int64_t{leaseUntil})
        .bind(10, std::int64_t{p.claims})
        .run();
  }

  void delete_push(std::string_view pushId) override {
    stmt("DELETE FROM push_outbox WHERE push_id = ?1").reset().bind(1, pushId).run();
  }

  void delete_incoming_pushes(std::string_view callId) override {
    stmt("DELETE FROM push_outbox WHERE call_id = ?1 AND kind = 'incoming_call'")
        .reset()
        .bind(1, callId)
        .run();
  }

  void renew_pushes(std::string_view owner, TimeMs leaseUntil) override {
    stmt("UPDATE push_outbox SET lease_ms = ?2 WHERE owner = ?1")
        .reset()
        .bind(1, owner)
        .bind(2, std::int64_t{leaseUntil})
        .run();
  }

  std::size_t purge_pushes(TimeMs now, int maxClaims) override {
    stmt("DELETE FROM push_outbox WHERE expires_ms <= ?1 OR claims >= ?2")
        .reset()
        .bind(1, std::int64_t{now})
        .bind(2, std::int64_t{maxClaims})
        .run();
    return static_cast<std::size_t>(sqlite3_changes(db_));
  }

  std::vector<QueuedPush> claim_pushes(std::string_view owner, TimeMs now, TimeMs leaseUntil,
                                       std::size_t limit, bool any) override {
    // One writer (this process): no other node can claim between the select and the update.
    auto& s = stmt(
                  "UPDATE push_outbox SET owner = ?1, lease_ms = ?3, claims = claims + 1 "
                  "WHERE push_id IN (SELECT push_id FROM push_outbox WHERE owner <> ?1 AND "
                  "(?5 OR lease_ms < ?2) ORDER BY lease_ms LIMIT ?4) "
                  "RETURNING push_id, call_id, kind, user_id, device_id, notice, expires_ms, "
                  "claims")
                  .reset()
                  .bind(1, owner)
                  .bind(2, std::int64_t{now})
                  .bind(3, std::int64_t{leaseUntil})
                  .bind(4, static_cast<std::int64_t>(limit))
                  .bind(5, std::int64_t{any ? 1 : 0});
    std::vector<QueuedPush> out;
    while (s.step())
      out.push_back({std::string(s.text(0)), std::string(s.text(1)), std::string(s.text(2)),
                     std::string(s.text(3)), std::string(s.text(4)), std::string(s.text(5)),
                     s.int64(6), static_cast<int>(s.int64(7))});
    s.reset();
    return out;
  }

 private:
  void exec(const std::string& sql) {
    char* err = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
      std::string msg = err ? err : "unknown error";
      sqlite3_free(err);
      throw StoreError(StoreError::Kind::failure, sql.substr(0, 40) + ": " + msg);
    }
  }

  void migrate() {
    exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)");
    exec("BEGIN IMMEDIATE");
    try {
      std::int64_t have = 0;
      {
        Stmt s(db_, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
        if (s.step()) have = s.int64(0);
      }
      const std::int64_t want = std::size(kMigrations);
      if (have > want)
        throw StoreError(
            StoreError::Kind::failure,
            "database schema is newer than this dialtoned (version " + std::to_string(have) + ")");
      for (std::int64_t v = have + 1; v <= want; ++v) {
        exec(kMigrations[v - 1]);
        exec("INSERT INTO schema_migrations (version) VALUES (" + std::to_string(v) + ")");
      }
      exec("COMMIT");
    } catch (...) {
      exec("ROLLBACK");
      throw;
    }
  }

  Stmt& stmt(const char* sql) {
    auto it = stmts_.find(sql);
    if (it == stmts_.end()) it = stmts_.emplace(sql, std::make_unique<Stmt>(db_, sql)).first;
    return *it->second;
  }

  sqlite3* db_ = nullptr;
  std::unique_ptr<Checkpointer> checkpointer_;
  int walFrames_ = 0;  // frames in the WAL after the last commit (the WAL hook's count)
  static constexpr int kRestartFrames = 8000;  // ~32 MiB of 4 KiB pages
  static constexpr int kHardFrames = 12000;    // ~48 MiB: the writer checkpoints itself
  std::unordered_map<const char*, std::unique_ptr<Stmt>> stmts_;
};

}  // namespace

std::unique_ptr<Store> open_sqlite_store(const std::string& path, const std::string& synchronous) {
  return std::make_unique<SqliteStore>(path, synchronous);
}

std::int64_t sqlite_memory_bytes() {
  sqlite3_int64 current = 0, highwater = 0;
  if (sqlite3_status64(SQLITE_STATUS_MEMORY_USED, &current, &highwater, 0) != SQLITE_OK) return -1;
  return current;
}

}  // namespace dialtone
