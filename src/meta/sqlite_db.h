// A thin layer over the SQLite C API for SqliteStore: connections configured the way the store needs
// them, prepared statements cached per connection, and a small pool so concurrent callers each get
// their own connection (a SQLite connection must not be used by two threads at once).
//
// Internal to meta/: nothing outside the SQLite driver (SqliteStore, SqliteIdentityStore) includes this.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/status.h"
#include "meta/conn_pool.h"
#include "meta/migrations.h"
#include "meta/sql_common.h"

namespace berth::meta::sqlite {

class Connection;

// A cached prepared statement, borrowed from its Connection for the duration of one use. Destroying it
// resets the statement and clears its bindings so the next user starts clean (and, for reads, so the
// implicit read transaction ends and does not pin the WAL).
class Stmt {
 public:
  Stmt(Connection* conn, sqlite3_stmt* stmt) : conn_(conn), stmt_(stmt) {}
  Stmt(Stmt&& other) noexcept;
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;
  ~Stmt();

  // Parameters are 1-based, as in SQL's '?'. A failed bind is reported by the next step()/run().
  Stmt& bind(int index, int64_t value);
  Stmt& bind(int index, std::string_view text);
  Stmt& bind_optional(int index, const std::optional<std::string>& text);  // NULL when absent
  Stmt& bind_optional(int index, const std::optional<int64_t>& value);     // NULL when absent
  Stmt& bind_blob(int index, std::string_view bytes);              // empty bytes stay a non-NULL blob

  // True when a row is available, false when done.
  Result<bool> step();
  // Steps to completion, ignoring rows (for INSERT / UPDATE / DELETE).
  Status run();

  int64_t column_int64(int col) const;
  std::string column_text(int col) const;
  std::string column_blob(int col) const;
  bool column_is_null(int col) const;

 private:
  Connection* conn_;
  sqlite3_stmt* stmt_;
  int bind_rc_ = SQLITE_OK;
};

class Connection {
 public:
  // Which SQL the shared statements pick where the dialects differ (row locks: sql::for_dialect).
  static constexpr Dialect kDialect = Dialect::sqlite;

  // Opens the file (creating it) in WAL mode with synchronous=NORMAL, foreign keys on and a busy
  // timeout, so concurrent writers wait for each other instead of failing at once.
  static Result<std::unique_ptr<Connection>> open(const std::filesystem::path& file);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The statement for this SQL text, prepared once per connection and then reused.
  Result<Stmt> prepare(std::string_view sql);
  // Runs one or more statements without parameters (pragmas, BEGIN/COMMIT, migrations).
  Status exec(const std::string& sql);
  // Rows changed by the last INSERT / UPDATE / DELETE on this connection.
  int64_t changes() const;
  bool in_transaction() const;
  // For the pool: a SQLite connection is a file handle, never dropped by a server.
  bool alive() const { return true; }
  bool broken() const { return false; }

  // Whether the last failure was SQLITE_BUSY / SQLITE_LOCKED, i.e. worth retrying. Reset by
  // clear_last_error() before each attempt.
  bool last_error_was_busy() const;
  void clear_last_error() { last_rc_ = SQLITE_OK; }

  // Records rc and builds the io_error a caller sees: what failed and SQLite's own message.
  Status fail(int rc, std::string_view what);

 private:
  explicit Connection(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  int last_rc_ = SQLITE_OK;
  std::unordered_map<std::string, sqlite3_stmt*, sql::StringHash, std::equal_to<>> statements_;
};

// Hands out connections, one per concurrent caller (sql::ConnectionPool), opening more on demand up to a
// limit; beyond it, callers wait for one to be returned. Idle connections are kept open (their statement
// caches are the point).
class Pool : public sql::ConnectionPool<Connection, std::filesystem::path> {
 public:
  using ConnectionPool::ConnectionPool;
  // Writers of this process queue here before BEGIN IMMEDIATE: a waiting writer is woken the moment the
  // previous one commits, where SQLite's busy handler would sleep 1, 2, 5, 10… ms between tries (measured:
  // half the manifest PUT rate at 8 concurrent pushes). Other processes still meet the busy timeout.
  std::mutex writers;
};

// The SQLite transaction and retry rules: the shared store bodies (SqlMetadataStore, SqlIdentityStore)
// run all their work through this, as they do through pg::transact on PostgreSQL.
//
// Runs `body(Connection&)` on a pooled connection, inside BEGIN IMMEDIATE ... COMMIT when `write` (taking
// the write lock up front, so a transaction never fails half-way when upgrading from reader to writer).
// When SQLite still reports busy after its own timeout, the whole attempt is rolled back and run again,
// so `body` must reset anything it outputs.
template <class Body>
Status transact(Pool& pool, bool write, Body&& body) {
  // Enough for a burst of writers: each waits up to the 5 s busy timeout per attempt.
  constexpr int kMaxAttempts = 4;
  Status s;
  std::unique_lock<std::mutex> writing;
  if (write) writing = std::unique_lock<std::mutex>(pool.writers);
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    if (attempt > 0) std::this_thread::sleep_for(std::chrono::milliseconds(5 << attempt));
    auto lease = pool.acquire();
    if (!lease.ok()) return lease.status();
    Connection& c = **lease;
    c.clear_last_error();
    s = write ? c.exec("BEGIN IMMEDIATE") : Status::Ok();
    if (s.ok()) s = body(c);
    if (s.ok() && write) s = c.exec("COMMIT");
    if (s.ok()) return s;
    bool busy = c.last_error_was_busy();
    if (c.in_transaction()) (void)c.exec("ROLLBACK");
    if (!busy) return s;
  }
  return s;
}

}  // namespace berth::meta::sqlite
