// A thin layer over libpq for PgStore, shaped like sqlite_db.h so the two stores read alike:
// connections that prepare each statement once, statements bound by position, and a pool that hands one
// connection to each concurrent caller and replaces connections the server dropped.
//
// Values travel so that bytes round-trip exactly: BYTEA parameters and every result column use libpq's
// binary format (no escaping, no hex), other parameters go as text and PostgreSQL infers their types
// from the statement.
//
// Internal to meta/: nothing outside the PostgreSQL driver (PgStore, PgIdentityStore) includes this.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <cstdint>
#include <memory>
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

namespace berth::meta::pg {

// What a connection URL says, as far as messages need it. The password is kept only to be redacted.
struct Endpoint {
  std::string url;       // as given, password included: handed to libpq and nowhere else
  std::string host_port;  // "host:port", what messages name
  std::string password;   // empty when the URL has none

  // Parses a postgresql:// URL (or key=value string). invalid_argument, without echoing the URL (it may
  // hold a password), when libpq cannot parse it.
  static Result<Endpoint> parse(const std::string& url);
  // `message` with every occurrence of the password masked.
  std::string redact(std::string message) const;
};

class Connection;

// One execution of a prepared statement. Bind parameters (1-based, like '?' / $n), then step() through
// the rows (the first call executes) or run() for statements whose rows do not matter.
class Stmt {
 public:
  // `name` is the connection's cached server-side name: it lives as long as the connection.
  Stmt(Connection* conn, const std::string& name) : conn_(conn), name_(&name) {}
  Stmt(Stmt&&) noexcept = default;
  Stmt& operator=(Stmt&&) = delete;
  Stmt(const Stmt&) = delete;

  Stmt& bind(int index, int64_t value);
  Stmt& bind(int index, std::string_view text);
  Stmt& bind_optional(int index, const std::optional<std::string>& text);  // NULL when absent
  Stmt& bind_optional(int index, const std::optional<int64_t>& value);     // NULL when absent; sent as text
  Stmt& bind_blob(int index, std::string_view bytes);  // BYTEA, sent in binary; empty stays non-NULL

  // True when a row is available, false when done.
  Result<bool> step();
  Status run();

  // Integer columns of any width (SELECT 1 is int4, BIGINT columns int8).
  int64_t column_int64(int col) const;
  // TEXT and BYTEA alike: the column's bytes, exactly.
  std::string column_text(int col) const { return column_blob(col); }
  std::string column_blob(int col) const;
  bool column_is_null(int col) const;

 private:
  struct Param {
    std::string value;
    bool null = true;
    bool binary = false;
  };
  Param& param(int index);

  Connection* conn_;
  const std::string* name_;
  std::vector<Param> params_;
  std::unique_ptr<PGresult, void (*)(PGresult*)> result_{nullptr, PQclear};
  int row_ = -1;
};

class Connection {
 public:
  // Which SQL the shared statements pick where the dialects differ (row locks: sql::for_dialect).
  static constexpr Dialect kDialect = Dialect::postgres;

  // Connects (with a connect timeout, so an unreachable host fails in seconds rather than minutes).
  // unavailable, naming host:port, when the server cannot be reached or refuses the connection.
  static Result<std::unique_ptr<Connection>> open(const Endpoint& endpoint);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // The statement for this SQL text ('?' placeholders), prepared on the server once per connection.
  Result<Stmt> prepare(std::string_view sql);
  // Runs one or more statements without parameters (BEGIN / COMMIT, migrations).
  Status exec(const std::string& sql);
  // Rows changed by the last INSERT / UPDATE / DELETE run by a Stmt.
  int64_t changes() const { return changes_; }
  bool in_transaction() const;
  // The server closed the connection (restart, idle timeout, terminated backend): it cannot be reused.
  bool broken() const { return PQstatus(conn_) != CONNECTION_OK; }
  // Like !broken(), but first reads what the server may have sent while the connection sat idle, so a
  // connection the server closed is noticed before a statement is sent on it.
  bool alive();

  // Whether the last failure rolled the transaction back for a reason that a plain rerun can cure:
  // serialization failure, deadlock, or a row a foreign key needed deleted by a concurrent transaction.
  bool last_error_retryable() const;
  void clear_last_error() { last_sqlstate_.clear(); }

 private:
  friend class Stmt;
  Connection(PGconn* conn, const Endpoint* endpoint) : conn_(conn), endpoint_(endpoint) {}
  // Executes a prepared statement; null result with the failure returned on error.
  Result<PGresult*> execute(const std::string& name, const std::vector<const char*>& values,
                            const std::vector<int>& lengths, const std::vector<int>& formats);
  // Builds the status a caller sees from a failed result (may be null): unavailable when the
  // connection is gone, io_error otherwise; records the SQLSTATE.
  Status fail(const PGresult* result, std::string_view what);

  PGconn* conn_;
  const Endpoint* endpoint_;
  std::unordered_map<std::string, std::string, sql::StringHash, std::equal_to<>> statements_;  // SQL text -> server-side name
  int64_t changes_ = 0;
  std::string last_sqlstate_;
};

// Hands out connections, one per concurrent caller (sql::ConnectionPool). A connection the server
// closed while idle is replaced before it is handed out; one returned broken is closed, and so are the
// idle ones: what broke one (most often a server restart) has usually broken all, and reconnecting is
// cheaper than failing a request.
class Pool : public sql::ConnectionPool<Connection, Endpoint> {
 public:
  using ConnectionPool::ConnectionPool;
  const Endpoint& endpoint() const { return target(); }
};

// The PostgreSQL transaction and retry rules: the shared store bodies (SqlMetadataStore,
// SqlIdentityStore) run all their work through this, as they do through sqlite::transact on SQLite, so
// both interfaces of a PgStore share one pool and one retry policy.
//
// Runs `body(Connection&)` on a pooled connection, inside BEGIN ... COMMIT when `write` (READ COMMITTED:
// the statements are written so that each one is safe under it, with ON CONFLICT for concurrent inserts
// and compare-and-set in WHERE clauses). The whole attempt is rolled back and run again, so `body` must
// reset anything it outputs, when:
// - PostgreSQL aborted it for a reason a rerun cures (deadlock, serialization failure, a referenced
//   row deleted concurrently), or
// - the connection turned out to be dead before COMMIT was sent, so nothing was committed (a dead
//   COMMIT leaves the outcome unknown: that one is reported, as unavailable).
template <class Body>
Status transact(Pool& pool, bool write, Body&& body) {
  // Retries cover deadlocks and serialization failures under contention and one reconnect after the
  // server dropped the connection; more would only delay reporting a real outage.
  constexpr int kMaxAttempts = 5;
  Status s;
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    auto lease = pool.acquire();
    if (!lease.ok()) return lease.status();
    Connection& c = **lease;
    c.clear_last_error();
    bool committing = false;
    s = write ? c.exec("BEGIN") : Status::Ok();
    if (s.ok()) s = body(c);
    if (s.ok() && write) {
      committing = true;
      s = c.exec("COMMIT");
    }
    if (s.ok()) return s;
    bool retry = c.last_error_retryable() || (c.broken() && !committing);
    if (!retry) return s;  // the lease rolls back whatever is still open
    if (c.last_error_retryable()) std::this_thread::sleep_for(std::chrono::milliseconds(2 << attempt));
  }
  return s;
}

}  // namespace berth::meta::pg
