#include "meta/pg_db.h"

#include <endian.h>

#include <cstring>

#include "meta/queries.h"

namespace berth::meta::pg {
namespace {

// The part of a libpq message worth showing: no "ERROR:  " prefix, no trailing newline.
std::string primary_message(const PGresult* result, PGconn* conn) {
  const char* primary = result != nullptr ? PQresultErrorField(result, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
  std::string_view raw = primary != nullptr ? primary : PQerrorMessage(conn);
  // Connection errors span lines ("...failed: Connection refused\n\tIs the server running..."): keep
  // them on one line, as log lines and error bodies expect.
  std::string msg;
  bool gap = false;
  for (char ch : raw) {
    if (ch == '\n' || ch == '\t' || ch == '\r') {
      gap = true;
      continue;
    }
    if (gap && !msg.empty()) msg += "; ";
    gap = false;
    msg += ch;
  }
  return msg.empty() ? "unknown error" : msg;
}

// SQLSTATEs after which the connection, not the statement, is the problem: class 08 (connection
// exception) and the server shutting down or restarting (57P01-57P03).
bool connection_lost(std::string_view sqlstate) {
  return sqlstate.starts_with("08") || sqlstate == "57P01" || sqlstate == "57P02" || sqlstate == "57P03";
}

// libpq prints NOTICEs ("relation already exists, skipping") to stderr by default.
void ignore_notice(void*, const char*) {}

}  // namespace

// ---- Endpoint ----

Result<Endpoint> Endpoint::parse(const std::string& url) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(url.c_str(), &err);
  if (options == nullptr) {
    // libpq's message quotes the URL, password and all: say what is wrong without it.
    PQfreemem(err);
    return Status(Errc::invalid_argument,
                  "invalid PostgreSQL connection URL (expected postgresql://user[:password]@host:port/database)");
  }
  Endpoint e;
  e.url = url;
  std::string host, hostaddr, port;
  for (PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    std::string_view key = o->keyword;
    if (key == "host") host = o->val;
    if (key == "hostaddr") hostaddr = o->val;
    if (key == "port") port = o->val;
    if (key == "password") e.password = o->val;
  }
  PQconninfoFree(options);
  if (host.empty()) host = hostaddr.empty() ? "localhost" : hostaddr;
  if (host.find(':') != std::string::npos && host.find(',') == std::string::npos) host = "[" + host + "]";  // IPv6
  e.host_port = host + ":" + (port.empty() ? "5432" : port);
  return e;
}

std::string Endpoint::redact(std::string message) const {
  if (password.empty()) return message;
  for (size_t at = message.find(password); at != std::string::npos; at = message.find(password, at + 3)) {
    message.replace(at, password.size(), "***");
  }
  return message;
}

// ---- Stmt ----

Stmt::Param& Stmt::param(int index) {
  if (index > static_cast<int>(params_.size())) params_.resize(index);
  return params_[index - 1];
}

Stmt& Stmt::bind(int index, int64_t value) {
  param(index) = Param{std::to_string(value), false, false};
  return *this;
}

Stmt& Stmt::bind(int index, std::string_view text) {
  param(index) = Param{std::string(text), false, false};
  return *this;
}

Stmt& Stmt::bind_optional(int index, const std::optional<std::string>& text) {
  param(index) = text ? Param{*text, false, false} : Param{};
  return *this;
}

Stmt& Stmt::bind_optional(int index, const std::optional<int64_t>& value) {
  // As text, like bind(int, int64_t): PostgreSQL parses it as the column's BIGINT.
  param(index) = value ? Param{std::to_string(*value), false, false} : Param{};
  return *this;
}

Stmt& Stmt::bind_blob(int index, std::string_view bytes) {
  param(index) = Param{std::string(bytes), false, true};
  return *this;
}

Result<bool> Stmt::step() {
  if (!result_) {
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
    for (const Param& p : params_) {
      values.push_back(p.null ? nullptr : p.value.data());
      lengths.push_back(static_cast<int>(p.value.size()));
      formats.push_back(p.binary ? 1 : 0);
    }
    auto result = conn_->execute(*name_, values, lengths, formats);
    if (!result.ok()) return result.status();
    result_.reset(*result);
  }
  return ++row_ < PQntuples(result_.get());
}

Status Stmt::run() {
  auto row = step();
  return row.ok() ? Status::Ok() : row.status();
}

int64_t Stmt::column_int64(int col) const {
  const char* p = PQgetvalue(result_.get(), row_, col);
  // Binary integers arrive in network byte order; the width says which type it is.
  switch (PQgetlength(result_.get(), row_, col)) {
    case 2: {
      uint16_t v;
      std::memcpy(&v, p, 2);
      return static_cast<int16_t>(be16toh(v));
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, p, 4);
      return static_cast<int32_t>(be32toh(v));
    }
    case 8: {
      uint64_t v;
      std::memcpy(&v, p, 8);
      return static_cast<int64_t>(be64toh(v));
    }
    default:
      return 0;  // NULL
  }
}

std::string Stmt::column_blob(int col) const {
  return std::string(PQgetvalue(result_.get(), row_, col), PQgetlength(result_.get(), row_, col));
}

bool Stmt::column_is_null(int col) const { return PQgetisnull(result_.get(), row_, col) != 0; }

// ---- Connection ----

Result<std::unique_ptr<Connection>> Connection::open(const Endpoint& endpoint) {
  // The URL goes in as "dbname" and is expanded there; keywords before it are defaults it may override.
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {"5", "berth", endpoint.url.c_str(), nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (conn == nullptr) return Status(Errc::unavailable, "postgres at " + endpoint.host_port + ": out of memory");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string msg = primary_message(nullptr, conn);
    PQfinish(conn);
    return Status(Errc::unavailable, endpoint.redact("postgres at " + endpoint.host_port + " is unavailable: " + msg));
  }
  PQsetNoticeProcessor(conn, ignore_notice, nullptr);
  return std::unique_ptr<Connection>(new Connection(conn, &endpoint));
}

Connection::~Connection() { PQfinish(conn_); }

Result<Stmt> Connection::prepare(std::string_view sql) {
  auto it = statements_.find(sql);
  if (it != statements_.end()) return Stmt(this, it->second);
  std::string key(sql);
  std::string name = "berth_" + std::to_string(statements_.size() + 1);
  std::unique_ptr<PGresult, void (*)(PGresult*)> res(
      PQprepare(conn_, name.c_str(), sql::numbered_placeholders(sql).c_str(), 0, nullptr), PQclear);
  if (PQresultStatus(res.get()) != PGRES_COMMAND_OK) return fail(res.get(), "preparing " + key);
  // Prepared statements outlive transactions (PREPARE is not rolled back), so caching is safe even when
  // the surrounding transaction later fails.
  it = statements_.emplace(std::move(key), std::move(name)).first;
  return Stmt(this, it->second);
}

Status Connection::exec(const std::string& sql) {
  std::unique_ptr<PGresult, void (*)(PGresult*)> res(PQexec(conn_, sql.c_str()), PQclear);
  ExecStatusType st = PQresultStatus(res.get());
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) return Status::Ok();
  return fail(res.get(), sql.size() > 80 ? sql.substr(0, 80) + "..." : sql);
}

Result<PGresult*> Connection::execute(const std::string& name, const std::vector<const char*>& values,
                                      const std::vector<int>& lengths, const std::vector<int>& formats) {
  PGresult* res = PQexecPrepared(conn_, name.c_str(), static_cast<int>(values.size()), values.data(),
                                 lengths.data(), formats.data(), /*resultFormat=binary*/ 1);
  ExecStatusType st = PQresultStatus(res);
  if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
    const char* tuples = PQcmdTuples(res);
    changes_ = (tuples != nullptr && *tuples != '\0') ? std::strtoll(tuples, nullptr, 10) : 0;
    return res;
  }
  // Name the statement by its text, not its server-side name.
  std::string what = name;
  for (const auto& [sql, n] : statements_) {
    if (n == name) what = sql;
  }
  Status s = fail(res, what);
  PQclear(res);
  return s;
}

bool Connection::in_transaction() const {
  PGTransactionStatusType t = PQtransactionStatus(conn_);
  return t == PQTRANS_INTRANS || t == PQTRANS_INERROR || t == PQTRANS_ACTIVE;
}

bool Connection::alive() {
  // Reads whatever the server sent while the connection sat idle; after a restart that is an error
  // and end-of-file, which turns the status bad without sending anything.
  if (PQstatus(conn_) != CONNECTION_OK) return false;
  PQconsumeInput(conn_);
  return PQstatus(conn_) == CONNECTION_OK;
}

bool Connection::last_error_retryable() const {
  return last_sqlstate_ == "40001" || last_sqlstate_ == "40P01" || last_sqlstate_ == "23503";
}

Status Connection::fail(const PGresult* result, std::string_view what) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  last_sqlstate_ = state != nullptr ? state : "";
  std::string msg = primary_message(result, conn_);
  if (broken() || connection_lost(last_sqlstate_)) {
    return Status(Errc::unavailable,
                  endpoint_->redact("postgres at " + endpoint_->host_port + ": connection lost: " + msg));
  }
  std::string text = "postgres: ";
  text += what;
  text += ": " + msg;
  if (!last_sqlstate_.empty()) text += " (SQLSTATE " + last_sqlstate_ + ")";
  return Status(Errc::io_error, endpoint_->redact(std::move(text)));
}

}  // namespace berth::meta::pg
