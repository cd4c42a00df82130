#include "meta/sqlite_db.h"

#include <limits>

#include "common/failpoint.h"

namespace berth::meta::sqlite {

namespace {
// For the failure point "manifest.before_commit": set when this thread's open transaction inserted a
// manifest row (a transaction runs on one thread, on one connection). Touched only while a point is armed.
thread_local bool inserted_manifest = false;
constexpr std::string_view kManifestInsert = "INSERT INTO manifest (";
}  // namespace

// ---- Stmt ----

Stmt::Stmt(Stmt&& other) noexcept : conn_(other.conn_), stmt_(other.stmt_), bind_rc_(other.bind_rc_) {
  other.stmt_ = nullptr;
}

Stmt::~Stmt() {
  if (stmt_ != nullptr) {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
}

Stmt& Stmt::bind(int index, int64_t value) {
  int rc = sqlite3_bind_int64(stmt_, index, value);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view text) {
  int rc = sqlite3_bind_text64(stmt_, index, text.data(), text.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind_optional(int index, const std::optional<std::string>& text) {
  if (text) return bind(index, std::string_view(*text));
  int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind_optional(int index, const std::optional<int64_t>& value) {
  if (value) return bind(index, *value);
  int rc = sqlite3_bind_null(stmt_, index);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Stmt& Stmt::bind_blob(int index, std::string_view bytes) {
  // A null pointer would bind SQL NULL, not an empty blob, and the columns are NOT NULL.
  static const char kEmpty = 0;
  const char* data = bytes.empty() ? &kEmpty : bytes.data();
  int rc = sqlite3_bind_blob64(stmt_, index, data, bytes.size(), SQLITE_TRANSIENT);
  if (bind_rc_ == SQLITE_OK) bind_rc_ = rc;
  return *this;
}

Result<bool> Stmt::step() {
  if (bind_rc_ != SQLITE_OK) return conn_->fail(bind_rc_, "binding a parameter");
  int rc = sqlite3_step(stmt_);
  if (failpoint::enabled()) [[unlikely]] {
    if (rc == SQLITE_DONE && std::string_view(sqlite3_sql(stmt_)).starts_with(kManifestInsert)) inserted_manifest = true;
  }
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  return conn_->fail(rc, sqlite3_sql(stmt_));
}

Status Stmt::run() {
  while (true) {
    auto row = step();
    if (!row.ok()) return row.status();
    if (!*row) return Status::Ok();
  }
}

int64_t Stmt::column_int64(int col) const { return sqlite3_column_int64(stmt_, col); }

std::string Stmt::column_text(int col) const {
  const auto* p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, col));
  return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, col));
}

std::string Stmt::column_blob(int col) const {
  const auto* p = static_cast<const char*>(sqlite3_column_blob(stmt_, col));
  return p == nullptr ? std::string() : std::string(p, sqlite3_column_bytes(stmt_, col));
}

bool Stmt::column_is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

// ---- Connection ----

namespace {

// Memory and WAL size, for a server that keeps a pool of connections open on one small database:
// - each connection's page cache is capped at 512 KiB (SQLite's default is 2 MiB per connection, private
//   to it, so a pool of eight held up to 16 MiB of copies of the same pages); pages beyond it are read
//   again from the OS page cache. (A memory map of the file was tried: it adds every page touched to the
//   process's resident set, 29 MiB peak instead of 15 in the benchmark's manifest-push scenario.)
// - the WAL is restarted regularly. SQLite's automatic checkpoint is PASSIVE: under steady concurrent
//   reads some reader always holds an older snapshot, the WAL is never fully copied back and never
//   restarted, and it grows without bound (200 MB after the benchmark's 10,000 manifest PUTs), making
//   every read search a larger WAL index. After a commit that leaves kRestartFrames frames in the WAL,
//   a RESTART checkpoint is attempted, so that the next writer starts the WAL from the beginning;
//   journal_size_limit then truncates the file.
constexpr const char* kTuning =
    "PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA cache_size=-512; "
    "PRAGMA journal_size_limit=16777216";
constexpr int kBusyTimeoutMs = 5000;  // how long a statement waits for another connection's lock
constexpr int kPassiveFrames = 1000;  // SQLite's default automatic checkpoint threshold
constexpr int kRestartFrames = 4096;  // 16 MiB of 4 KiB pages

int checkpoint_after_commit(void*, sqlite3* db, const char* schema, int frames) {
  if (frames >= kRestartFrames) {
    // Without waiting for readers (no busy handler for this one call): the request that committed must
    // not stall behind older readers. If some still hold an older snapshot, this does what a passive
    // checkpoint does, and a later commit tries again; readers are short, so one soon succeeds.
    sqlite3_busy_timeout(db, 0);
    (void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_RESTART, nullptr, nullptr);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
  } else if (frames >= kPassiveFrames) {
    (void)sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
  return SQLITE_OK;  // a checkpoint that could not finish is retried after a later commit
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::open(const std::filesystem::path& file) {
  sqlite3* db = nullptr;
  // NOMUTEX: the pool guarantees one thread per connection at a time, so SQLite's own per-connection
  // mutex would be pure overhead.
  int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE;
  int rc = sqlite3_open_v2(file.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "opening " + file.string() + ": " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close_v2(db);
    return Status(Errc::io_error, msg);
  }
  std::unique_ptr<Connection> conn(new Connection(db));
  sqlite3_busy_timeout(db, kBusyTimeoutMs);
  // journal_mode is reported back as a row: check it, since SQLite silently keeps the old mode where
  // WAL is impossible, and without WAL readers would block writers.
  {
    auto mode = conn->prepare("PRAGMA journal_mode=WAL");
    if (!mode.ok()) return mode.status();
    auto row = mode->step();
    if (!row.ok()) return row.status();
    if (!*row || mode->column_text(0) != "wal") {
      return Status(Errc::io_error, "opening " + file.string() + ": the database cannot use WAL mode");
    }
  }
  Status s = conn->exec(kTuning);
  if (!s.ok()) return s;
  sqlite3_wal_hook(db, checkpoint_after_commit, nullptr);
  return conn;
}

Connection::~Connection() {
  for (auto& [sql, stmt] : statements_) sqlite3_finalize(stmt);
  sqlite3_close_v2(db_);
}

Result<Stmt> Connection::prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return Stmt(this, it->second);
  if (sql.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Status(Errc::internal, "statement too long");
  }
  sqlite3_stmt* stmt = nullptr;
  // PERSISTENT: these statements live as long as the connection, so let SQLite allocate them outside
  // its short-lived lookaside memory.
  int rc = sqlite3_prepare_v3(db_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &stmt,
                              nullptr);
  if (rc != SQLITE_OK) return fail(rc, "preparing " + std::string(sql));
  statements_.emplace(std::string(sql), stmt);
  return Stmt(this, stmt);
}

Status Connection::exec(const std::string& sql) {
  if (failpoint::enabled()) [[unlikely]] {
    // Every statement of the put ran (manifest, references, tag, versions, quota, events): die before COMMIT.
    if (sql == "COMMIT" && inserted_manifest) BERTH_FAILPOINT("manifest.before_commit");
    if (sql.starts_with("BEGIN") || sql == "COMMIT" || sql == "ROLLBACK") inserted_manifest = false;
  }
  char* err = nullptr;
  int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err);
  if (rc == SQLITE_OK) return Status::Ok();
  sqlite3_free(err);  // the same text is available from sqlite3_errmsg in fail()
  return fail(rc, sql.size() > 80 ? sql.substr(0, 80) + "..." : sql);
}

int64_t Connection::changes() const { return sqlite3_changes64(db_); }

bool Connection::in_transaction() const { return sqlite3_get_autocommit(db_) == 0; }

bool Connection::last_error_was_busy() const {
  int primary = last_rc_ & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

Status Connection::fail(int rc, std::string_view what) {
  last_rc_ = rc;
  if ((rc & 0xff) == SQLITE_FULL) {
    // As the filesystem blob store does for ENOSPC (storage/fs_blob_store.cc): 507 with a message that
    // reaches the client instead of a bare 500; the statement's text stays out of it.
    return Status(Errc::insufficient_storage, std::string("insufficient storage: the registry's disk is full (database: ") +
                                       sqlite3_errmsg(db_) + ")");
  }
  std::string msg = "sqlite: ";
  msg += what;
  msg += ": ";
  msg += sqlite3_errmsg(db_);
  return Status(Errc::io_error, std::move(msg));
}

}  // namespace berth::meta::sqlite
