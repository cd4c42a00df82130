// What every SQL driver's store code needs whatever the database: a macro for Result-returning calls
// and the conversions between C++ and SQL integers. Shared by the SQLite and PostgreSQL drivers and by
// the method bodies they share (sql_metadata_store_impl.h, sql_identity_store_impl.h).
//
// Internal to meta/.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>

#include "common/status.h"

// Binds `var` to the value of a Result-returning expression, or returns its Status.
#define META_TRY(var, expr)                               \
  auto var##_result_ = (expr);                            \
  if (!var##_result_.ok()) return var##_result_.status(); \
  auto& var = *var##_result_

namespace berth::meta::sql {

inline int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// SQL integers (SQLite's INTEGER, PostgreSQL's BIGINT) are signed 64-bit. Sizes, offsets and limits
// never get near 2^63; clamp rather than wrap so a nonsense value cannot turn negative.
inline int64_t to_sql(uint64_t v) {
  return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                         : static_cast<int64_t>(v);
}

// The reverse, for columns that hold sizes and offsets: a negative value (never written) reads as 0.
inline uint64_t to_u64(int64_t v) { return v < 0 ? 0 : static_cast<uint64_t>(v); }

// Hash for maps keyed by std::string that are looked up by std::string_view (C++20 heterogeneous
// lookup): the per-connection statement caches, so a cache hit does not copy the SQL text.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept { return std::hash<std::string_view>{}(s); }
};

}  // namespace berth::meta::sql
