// Storage quotas (migration 9; docs/lifecycle.md, "Quotas"), checked inside the manifest push that
// changes the sizes: the push reads the limits that apply before its changes and the usage before and
// after them, and fails — rolling everything back — when it would take an owner or a package over its
// limit. Usage is what the package model keeps current (each blob counted once per owner and per
// package), so a layer shared by two packages counts once against their owner.
//
// Internal to meta/.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "meta/sql_common.h"
#include "meta/sql_rows.h"
#include "meta/versions_impl.h"

namespace berth::meta::sql {
inline constexpr std::string_view kQuotasFor =
    "SELECT repository_id, limit_bytes FROM quota WHERE owner = ? AND repository_id IN (0, ?)";
inline constexpr std::string_view kPackageSize = "SELECT size FROM repository WHERE id = ?";
}  // namespace berth::meta::sql

namespace berth::meta::quota {

struct Limits {
  std::optional<int64_t> owner;
  std::optional<int64_t> package;
  int64_t owner_before = 0;
  int64_t package_before = 0;
  bool any() const { return owner || package; }
};

// The limits that apply to a push into `repo`, and the usage before it (read only when there are limits:
// a registry without quotas pays one indexed read per new manifest).
template <class Connection>
Result<Limits> before_push(Connection& c, const versions::Repo& repo) {
  Limits l;
  {
    META_TRY(st, c.prepare(sql::kQuotasFor));
    sql::bind_all(st, 1, repo.owner, repo.id);
    while (true) {
      META_TRY(row, st.step());
      if (!row) break;
      (st.column_int64(0) == 0 ? l.owner : l.package) = st.column_int64(1);
    }
  }
  if (!l.any()) return l;
  META_TRY(owner, sql::int_of(c, sql::kOwnerSize, repo.owner));
  META_TRY(package, sql::int_of(c, sql::kPackageSize, repo.id));
  l.owner_before = owner.value_or(0);
  l.package_before = package.value_or(0);
  return l;
}

// After the push's changes: denied when it grew a usage past its limit (a push that frees space or adds
// nothing passes, even over the limit).
template <class Connection>
Status after_push(Connection& c, const versions::Repo& repo, const std::string& repository, const Limits& l) {
  if (!l.any()) return Status::Ok();
  META_TRY(owner, sql::int_of(c, sql::kOwnerSize, repo.owner));
  META_TRY(package, sql::int_of(c, sql::kPackageSize, repo.id));
  const int64_t owner_after = owner.value_or(0), package_after = package.value_or(0);
  if (l.owner && owner_after > *l.owner && owner_after > l.owner_before) {
    return Status(Errc::denied, "storage quota exceeded: owner " + repo.owner + " would use " +
                                    std::to_string(owner_after) + " bytes of its " + std::to_string(*l.owner) +
                                    " (now " + std::to_string(l.owner_before) + "); delete versions or ask for more");
  }
  if (l.package && package_after > *l.package && package_after > l.package_before) {
    return Status(Errc::denied, "storage quota exceeded: package " + repository + " would use " +
                                    std::to_string(package_after) + " bytes of its " + std::to_string(*l.package) +
                                    " (now " + std::to_string(l.package_before) + ")");
  }
  return Status::Ok();
}

}  // namespace berth::meta::quota
