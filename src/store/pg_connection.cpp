// SPDX-License-Identifier: Apache-2.0
#include "store/pg_connection.hpp"

namespace dialtone::pg {

namespace {

std::string trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string text(const Result& r, int row, int col) {
  return std::string(PQgetvalue(r.get(), row, col),
                     static_cast<size_t>(PQgetlength(r.get(), row, col)));
}

Connection::Connection(std::string url) : url_(std::move(url)) {
  connect();
}

Connection::~Connection() {
  if (conn_) PQfinish(conn_);
}

void Connection::connect() {
  conn_ = PQconnectdb(url_.c_str());
  if (PQstatus(conn_) != CONNECTION_OK) {
    std::string msg = PQerrorMessage(conn_);
    PQfinish(conn_);
    conn_ = nullptr;
    throw StoreError(StoreError::Kind::failure, "cannot connect to PostgreSQL: " + trim(msg));
  }
  PQsetNoticeProcessor(
      conn_, [](void*, const char*) {}, nullptr);
  prepared_.clear();
}

// The connection broke (PostgreSQL restarted, network): a new one, statements prepared anew.
void Connection::reconnect() {
  if (!conn_) {
    connect();
    return;
  }
  PQreset(conn_);
  prepared_.clear();
  if (PQstatus(conn_) != CONNECTION_OK)
    throw StoreError(StoreError::Kind::failure,
                     "PostgreSQL is unreachable: " + trim(PQerrorMessage(conn_)));
}

void Connection::begin() {
  if (PQstatus(conn_) != CONNECTION_OK) reconnect();
  try {
    exec("BEGIN");
  } catch (const StoreError&) {
    // PostgreSQL restarted since the last batch: libpq learns it only now. Once more, anew.
    if (PQstatus(conn_) == CONNECTION_OK) throw;
    reconnect();
    exec("BEGIN");
  }
}

void Connection::commit() {
  if (pipelined_) {
    if (!commit_pipelined())
      throw failure_.value_or(StoreError(StoreError::Kind::failure, "not committed"));
    return;
  }
  exec("COMMIT");
}

void Connection::rollback() {
  if (pipelined_) {
    // Whatever is still in flight is answered (and ignored) before the connection can run a
    // synchronous statement again.
    if (PQstatus(conn_) == CONNECTION_OK) sync_and_drain();
    leave_pipeline();
  }
  if (PQstatus(conn_) == CONNECTION_OK && PQtransactionStatus(conn_) != PQTRANS_IDLE)
    exec("ROLLBACK");
}

bool Connection::begin_pipelined() {
  if (PQstatus(conn_) != CONNECTION_OK) reconnect();
  if (PQenterPipelineMode(conn_) != 1) fail(nullptr, "pipeline mode");
  pipelined_ = true;
  failure_.reset();
  statement_failed_ = false;
  writes_ = 0;
  send_control("BEGIN");
  return true;
}

bool Connection::commit_pipelined(const char* then, Result* thenRows) {
  // COMMIT (and `then`) sent after everything in flight: one round trip. A statement that
  // failed before it made PostgreSQL skip the rest, the COMMIT too: nothing was committed, for
  // certain.
  send_control("COMMIT");
  if (then) {
    send(then, Params(), Expect::rows, "query", /*write=*/false);
    pending_.back().wanted = true;
  }
  auto wanted = sync_and_drain();
  leave_pipeline();
  if (!failure_) {
    if (thenRows && !wanted.empty()) *thenRows = std::move(wanted.front());
    return true;
  }
  if (statement_failed_) return false;  // (the transaction is left to rollback())
  StoreError e = *failure_;             // the connection broke: committed or not, unknown
  throw e;
}

StoreError Connection::error_of(PGresult* res, std::string_view what) {
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string msg =
      std::string(what) + ": " + trim(res ? PQresultErrorMessage(res) : PQerrorMessage(conn_));
  std::string code = state ? state : "";
  // unique_violation; serialization_failure and deadlock_detected: another writer won;
  // division_by_zero: update_call's version check found another version.
  if (code == "23505" || code == "40001" || code == "40P01" || code == "22012")
    return StoreError(StoreError::Kind::conflict, msg);
  return StoreError(StoreError::Kind::failure, msg);
}
void Connection::fail(PGresult* res, std::string_view what) {
  throw error_of(res, what);
}

Result Connection::exec(const std::string& sql) {
  Result r(PQexec(conn_, sql.c_str()), PQclear);
  auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r.get(), sql.substr(0, 40));
  return r;
}

// The name of `sql`'s prepared statement on this connection, preparing it first if needed
// (in a pipeline, the preparation is sent ahead like any statement).
const std::string& Connection::prepared(const char* sql, int params) {
  auto it = prepared_.find(sql);
  if (it != prepared_.end()) return it->second;
  std::string name = "s" + std::to_string(next_id_++);
  if (pipelined_) {
    if (PQsendPrepare(conn_, name.c_str(), sql, params, nullptr) != 1) lost("prepare");
    pending_.push_back({"prepare", Expect::done, sql});
  } else {
    Result p(PQprepare(conn_, name.c_str(), sql, params, nullptr), PQclear);
    if (!p || PQresultStatus(p.get()) != PGRES_COMMAND_OK) fail(p.get(), "prepare");
  }
  return prepared_.emplace(sql, std::move(name)).first->second;
}

Result Connection::run(const char* sql, const Params& params) {
  if (pipelined_) return std::move(run_together({{sql, params}}).front());
  auto values = params.pointers();
  Result r(PQexecPrepared(conn_, prepared(sql, params.size()).c_str(), params.size(), values.data(),
                          nullptr, nullptr, 0),
           PQclear);
  auto status = r ? PQresultStatus(r.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(r.get(), "query");
  return r;
}

std::vector<Result> Connection::run_together(
    const std::vector<std::pair<const char*, Params>>& reads) {
  std::vector<Result> out;
  if (!pipelined_) {
    for (const auto& [sql, params] : reads) out.push_back(run(sql, params));
    return out;
  }
  for (const auto& [sql, params] : reads) {
    send(sql, params, Expect::rows, "query", /*write=*/false);
    pending_.back().wanted = true;
  }
  if (PQsendFlushRequest(conn_) != 1 || PQflush(conn_) != 0) lost("flush");
  // Everything in flight is answered in order: what was sent ahead, preparations, the reads.
  while (!pending_.empty()) {
    bool wanted = pending_.front().wanted;
    Result r = take();
    if (wanted) out.push_back(std::move(r));
  }
  if (failure_) {
    StoreError e = *failure_;
    throw e;
  }
  return out;
}

void Connection::write(const char* sql, const Params& params) {
  if (pipelined_) {
    send(sql, params, Expect::done, "write", /*write=*/true);
    return;
  }
  run(sql, params);
}

void Connection::control(const char* sql) {
  if (pipelined_)
    send_control(sql);
  else
    exec(sql);
}

// ---- pipeline mode ----------------------------------------------------------------------

void Connection::send(const char* sql, const Params& params, Expect expect, const char* what,
                      bool write) {
  const std::string& name = prepared(sql, params.size());
  auto values = params.pointers();
  if (PQsendQueryPrepared(conn_, name.c_str(), params.size(), values.data(), nullptr, nullptr, 0) !=
      1)
    lost(what);
  pending_.push_back({what, expect, nullptr});
  if (write) ++writes_;
}

void Connection::send_control(const char* sql) {
  if (PQsendQueryParams(conn_, sql, 0, nullptr, nullptr, nullptr, nullptr, 0) != 1) lost(sql);
  pending_.push_back({sql, Expect::done, nullptr});
}

// The answer to the oldest statement in flight; the first failure is kept in failure_ (a
// statement after a failed one is not run: PostgreSQL skips the rest of the pipeline up to
// the next sync).
Result Connection::take() {
  Pending p = pending_.front();
  pending_.pop_front();
  Result r(PQgetResult(conn_), PQclear);
  if (!r) {
    lost_connection(p.what);
    return r;
  }
  auto status = PQresultStatus(r.get());
  if (p.expect == Expect::sync) {
    if (status != PGRES_PIPELINE_SYNC) lost_connection("sync");
    return r;
  }
  while (PGresult* rest = PQgetResult(conn_)) PQclear(rest);  // up to its terminating NULL
  if (status == PGRES_PIPELINE_ABORTED) {
    if (p.preparedSql) prepared_.erase(p.preparedSql);  // it was never prepared
    return r;
  }
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
    if (p.preparedSql) prepared_.erase(p.preparedSql);
    // An ERROR on a live connection is a statement's: PostgreSQL then skips the rest. A FATAL
    // one (the server shutting down, the backend killed) may end a COMMIT half done: unknown.
    const char* severity = PQresultErrorField(r.get(), PG_DIAG_SEVERITY_NONLOCALIZED);
    bool fatal = severity && std::string_view(severity) != "ERROR";
    if (!fatal && PQstatus(conn_) == CONNECTION_OK) statement_failed_ = true;
    remember(error_of(r.get(), p.what));
  }
  return r;
}

std::vector<Result> Connection::sync_and_drain() {
  std::vector<Result> wanted;
  if (PQpipelineSync(conn_) != 1) {
    lost_connection("sync");
    return wanted;
  }
  pending_.push_back({"sync", Expect::sync, nullptr});
  while (!pending_.empty() && conn_) {
    bool keep = pending_.front().wanted;
    Result r = take();
    if (keep) wanted.push_back(std::move(r));
  }
  return wanted;
}

void Connection::leave_pipeline() {
  pipelined_ = false;
  pending_.clear();
  if (conn_ && PQpipelineStatus(conn_) != PQ_PIPELINE_OFF && PQexitPipelineMode(conn_) != 1)
    drop_connection();  // answers still unread: start afresh at the next transaction
}

void Connection::remember(StoreError e) {
  if (!failure_) failure_ = std::move(e);
}

// The connection broke with statements in flight: nothing more can be read from it.
void Connection::lost_connection(const char* what) {
  remember(StoreError(StoreError::Kind::failure, std::string("PostgreSQL connection lost (") +
                                                     what + "): " + trim(PQerrorMessage(conn_))));
  pending_.clear();
  drop_connection();
}
void Connection::lost(const char* what) {
  lost_connection(what);
  StoreError e = *failure_;
  throw e;
}

void Connection::drop_connection() {
  if (conn_) PQfinish(conn_);
  conn_ = nullptr;
  prepared_.clear();
}

}  // namespace dialtone::pg
