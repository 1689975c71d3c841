// SPDX-License-Identifier: Apache-2.0
// One libpq connection of the PostgreSQL store (postgres_store.cpp): statements prepared once per
// connection, transactions run one statement at a time or pipelined (libpq's pipeline mode:
// writes sent without waiting for their answers, a failure shown by the next read or the
// commit), every failure a StoreError. Used from one thread; a broken connection is made anew
// at the next transaction.
#pragma once

#include <libpq-fe.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "store/store.hpp"

namespace dialtone::pg {

using Result = std::unique_ptr<PGresult, decltype(&PQclear)>;

// A statement's parameters as text (libpq's text format); nullopt is SQL NULL.
class Params {
 public:
  Params& add(std::string_view s) {
    values_.emplace_back(std::string(s));
    return *this;
  }
  Params& add(std::int64_t v) {
    values_.emplace_back(std::to_string(v));
    return *this;
  }
  Params& add(std::optional<std::int64_t> v) {
    if (v)
      values_.emplace_back(std::to_string(*v));
    else
      values_.emplace_back(std::nullopt);
    return *this;
  }
  std::vector<const char*> pointers() const {
    std::vector<const char*> out;
    for (const auto& v : values_) out.push_back(v ? v->c_str() : nullptr);
    return out;
  }
  int size() const { return static_cast<int>(values_.size()); }

 private:
  std::vector<std::optional<std::string>> values_;
};

// A column of a row, as text.
std::string text(const Result& r, int row, int col);

class Connection {
 public:
  // Connects; throws StoreError(failure) when it cannot.
  explicit Connection(std::string url);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  void begin();
  void commit();
  void rollback();
  // Within a transaction: savepoints.
  void control(const char* sql);

  // Store::begin_pipelined and commit_pipelined: `then`, when given, is a read sent behind the
  // COMMIT in the same round trip; its rows are in *thenRows once committed.
  bool begin_pipelined();
  bool commit_pipelined(const char* then = nullptr, Result* thenRows = nullptr);
  std::uint64_t writes() const { return writes_; }

  // An unprepared statement (migrations).
  Result exec(const std::string& sql);
  // A statement whose rows (or row count) the caller reads now.
  Result run(const char* sql, const Params& params);
  // Reads whose rows the caller wants now: in a pipeline, all in one round trip (with the
  // answers to the writes sent ahead of them).
  std::vector<Result> run_together(const std::vector<std::pair<const char*, Params>>& reads);
  // A write whose answer only says whether it worked: in a pipeline it is sent ahead, and a
  // failure shows at the next read or at the commit.
  void write(const char* sql, const Params& params);

 private:
  // What a statement sent ahead in a pipeline must answer.
  enum class Expect {
    done,  // success
    rows,  // a read
    sync,  // the end of the pipeline (PQpipelineSync)
  };
  struct Pending {
    const char* what;
    Expect expect;
    const char* preparedSql;  // a preparation of this SQL (not prepared if it failed)
    bool wanted = false;      // a read whose rows the caller is waiting for
  };

  void connect();
  void reconnect();
  StoreError error_of(PGresult* res, std::string_view what);
  [[noreturn]] void fail(PGresult* res, std::string_view what);
  const std::string& prepared(const char* sql, int params);
  void send(const char* sql, const Params& params, Expect expect, const char* what, bool write);
  void send_control(const char* sql);
  Result take();
  std::vector<Result> sync_and_drain();  // the wanted reads' answers
  void leave_pipeline();
  void remember(StoreError e);
  void lost_connection(const char* what);
  [[noreturn]] void lost(const char* what);
  void drop_connection();

  std::string url_;
  PGconn* conn_ = nullptr;
  std::unordered_map<const char*, std::string> prepared_;  // SQL text (a literal) → name
  int next_id_ = 1;

  // A pipelined transaction: what is in flight, in order, and its first failure.
  bool pipelined_ = false;
  std::deque<Pending> pending_;
  std::optional<StoreError> failure_;
  bool statement_failed_ = false;  // failure_ came from PostgreSQL's answer, not a lost connection
  std::uint64_t writes_ = 0;
};

}  // namespace dialtone::pg
