// Running a shared statement in one line: bind the arguments in order to ?1..?n, then run it or read its
// rows as plain values. For the method bodies written once for both drivers (sql_*_impl.h,
// versions_impl.h), over the API both drivers' statements share (bind, step, run, column_*).
//
// Internal to meta/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "meta/migrations.h"
#include "meta/sql_common.h"
#include "oci/digest.h"

namespace berth::meta::sql {

template <class Stmt>
void bind_all(Stmt&, int) {}

// Arguments are what Stmt::bind takes: int64_t (or a narrower integer) and text.
template <class Stmt, class T, class... Rest>
void bind_all(Stmt& st, int index, const T& value, const Rest&... rest) {
  st.bind(index, value);
  bind_all(st, index + 1, rest...);
}

// INSERT / UPDATE / DELETE.
template <class Connection, class... Args>
Status run(Connection& c, std::string_view query, const Args&... args) {
  META_TRY(st, c.prepare(query));
  bind_all(st, 1, args...);
  return st.run();
}

// The first column of every row, as text.
template <class Connection, class... Args>
Result<std::vector<std::string>> texts(Connection& c, std::string_view query, const Args&... args) {
  META_TRY(st, c.prepare(query));
  bind_all(st, 1, args...);
  std::vector<std::string> out;
  while (true) {
    META_TRY(row, st.step());
    if (!row) return out;
    out.push_back(st.column_text(0));
  }
}

// The first column of every row, as an integer.
template <class Connection, class... Args>
Result<std::vector<int64_t>> ints(Connection& c, std::string_view query, const Args&... args) {
  META_TRY(st, c.prepare(query));
  bind_all(st, 1, args...);
  std::vector<int64_t> out;
  while (true) {
    META_TRY(row, st.step());
    if (!row) return out;
    out.push_back(st.column_int64(0));
  }
}

// Rows of (integer, text): an id and a name or digest.
template <class Connection, class... Args>
Result<std::vector<std::pair<int64_t, std::string>>> id_texts(Connection& c, std::string_view query,
                                                              const Args&... args) {
  META_TRY(st, c.prepare(query));
  bind_all(st, 1, args...);
  std::vector<std::pair<int64_t, std::string>> out;
  while (true) {
    META_TRY(row, st.step());
    if (!row) return out;
    out.emplace_back(st.column_int64(0), st.column_text(1));
  }
}

// The first column of the first row as an integer; nullopt when there is no row (or it is NULL).
template <class Connection, class... Args>
Result<std::optional<int64_t>> int_of(Connection& c, std::string_view query, const Args&... args) {
  META_TRY(st, c.prepare(query));
  bind_all(st, 1, args...);
  META_TRY(row, st.step());
  if (!row || st.column_is_null(0)) return std::optional<int64_t>();
  return std::optional<int64_t>(st.column_int64(0));
}

// The first column of the first row as text; nullopt when there is no row (or it is NULL).
template <class Connection, class... Args>
Result<std::optional<std::string>> text_of(Connection& c, std::string_view query, const Args&... args) {
  META_TRY(st, c.prepare(query));
  bind_all(st, 1, args...);
  META_TRY(row, st.step());
  if (!row || st.column_is_null(0)) return std::optional<std::string>();
  return std::optional<std::string>(st.column_text(0));
}

// Collects every row of `st` through `row_of` (a generic lambda, so that no driver's Stmt type is named);
// clears `out` first, since a retried transaction body runs again.
template <class Stmt, class T, class RowOf>
Status collect(Stmt& st, std::vector<T>& out, RowOf&& row_of) {
  out.clear();
  while (true) {
    META_TRY(row, st.step());
    if (!row) return Status::Ok();
    out.push_back(row_of(st));
  }
}

// The statement of the connection's dialect, where they differ (PostgreSQL's row locks).
template <class Connection>
constexpr std::string_view for_dialect(std::string_view sqlite, std::string_view postgres) {
  return Connection::kDialect == Dialect::postgres ? postgres : sqlite;
}

// A digest the store wrote: parsed again, and an internal error if the metadata was damaged.
inline Result<oci::Digest> stored_digest(const std::string& text) {
  auto d = oci::Digest::parse(text);
  if (!d.ok()) return Status(Errc::internal, "metadata holds an invalid digest: " + text);
  return d;
}

}  // namespace berth::meta::sql
