// The PackageStore methods for a package's or an owner's policies — tag rules (migration 7) and
// retention policies (migration 8) — kept apart from the version bodies of sql_package_store_impl.h. For
// the driver .cc files that instantiate SqlPackageStore.
//
// Internal to meta/.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "meta/sql_package_store_impl.h"
#include "oci/tag_pattern.h"

namespace berth::meta {

// ---- Tag rules ----

namespace package_detail {
inline constexpr std::string_view kInsertTagRule =
    "INSERT INTO tag_rule (owner, repository_id, pattern, created_at, created_by) VALUES (?, ?, ?, ?, ?) RETURNING id";
inline constexpr std::string_view kDeleteTagRule = "DELETE FROM tag_rule WHERE owner = ? AND id = ?";
inline constexpr std::string_view kListTagRules =
    "SELECT t.id, t.owner, r.name, t.pattern, t.created_at, t.created_by FROM tag_rule t "
    "LEFT JOIN repository r ON r.id = t.repository_id WHERE t.owner = ? ORDER BY t.id";
inline constexpr std::string_view kSetSemverPolicy =
    "UPDATE repository SET semver_policy = ? WHERE name = ? AND deleted_at IS NULL";
inline constexpr std::string_view kGetSemverPolicy =
    "SELECT semver_policy FROM repository WHERE name = ? AND deleted_at IS NULL";
}  // namespace package_detail

template <class Pool>
Result<int64_t> SqlPackageStore<Pool>::add_tag_rule(const std::string& owner, const std::optional<std::string>& package,
                                                    const std::string& pattern, const std::string& created_by,
                                                    int64_t now) {
  if (auto valid = oci::TagPattern::parse(pattern); !valid.ok()) return valid.status();
  int64_t id = 0;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    std::optional<int64_t> repo_id;
    if (package) {
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kInsertRepository, *package, now));
      META_TRY(found, package_detail::live_repository(c, *package));
      if (!found) return Status(Errc::not_found, "no package named " + *package);
      repo_id = *found;
    }
    META_TRY(st, c.prepare(package_detail::kInsertTagRule));
    st.bind(1, owner).bind_optional(2, repo_id).bind(3, pattern).bind(4, now).bind(5, created_by);
    META_TRY(row, st.step());
    if (!row) return Status(Errc::internal, "tag rule insert returned no id");
    id = st.column_int64(0);
    return Status::Ok();
  }));
  return id;
}

template <class Pool>
Result<bool> SqlPackageStore<Pool>::remove_tag_rule(const std::string& owner, int64_t id) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    BERTH_RETURN_IF_ERROR(sql::run(c, package_detail::kDeleteTagRule, owner, id));
    removed = c.changes() > 0;
    return Status::Ok();
  }));
  return removed;
}

template <class Pool>
Result<std::vector<TagRule>> SqlPackageStore<Pool>::list_tag_rules(const std::string& owner) {
  std::vector<TagRule> rules;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    rules.clear();
    META_TRY(st, c.prepare(package_detail::kListTagRules));
    st.bind(1, owner);
    while (true) {
      META_TRY(row, st.step());
      if (!row) return Status::Ok();
      TagRule r{.id = st.column_int64(0), .owner = st.column_text(1), .package = std::nullopt,
                .pattern = st.column_text(3), .created_at = st.column_int64(4), .created_by = st.column_text(5)};
      if (!st.column_is_null(2)) r.package = st.column_text(2);
      rules.push_back(std::move(r));
    }
  }));
  return rules;
}

template <class Pool>
Status SqlPackageStore<Pool>::set_semver_policy(const std::string& package, SemverPolicy policy) {
  return write([&](auto& c) -> Status {
    BERTH_RETURN_IF_ERROR(sql::run(c, package_detail::kSetSemverPolicy, static_cast<int64_t>(policy), package));
    if (c.changes() == 0) return Status(Errc::not_found, "no package named " + package);
    return Status::Ok();
  });
}

template <class Pool>
Result<SemverPolicy> SqlPackageStore<Pool>::semver_policy(const std::string& package) {
  std::optional<int64_t> value;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(v, sql::int_of(c, package_detail::kGetSemverPolicy, package));
    value = v;
    return Status::Ok();
  }));
  if (!value) return Status(Errc::not_found, "no package named " + package);
  return static_cast<SemverPolicy>(*value);
}

template <class Pool>
Result<TagProtection> SqlPackageStore<Pool>::tag_protection(const std::string& package) {
  TagProtection out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(repo_id, package_detail::live_repository(c, package));
    if (!repo_id) return Status(Errc::not_found, "no package named " + package);
    META_TRY(rules, tag_rules::load(c, versions::Repo{*repo_id, versions::owner_of(package)}));
    out = std::move(rules);
    return Status::Ok();
  }));
  return out;
}

// ---- Retention policies ----

namespace package_detail {
inline constexpr std::string_view kSetRetention =
    "INSERT INTO retention_policy (owner, repository_id, policy, updated_at, updated_by) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (owner, repository_id) DO UPDATE SET policy = excluded.policy, updated_at = excluded.updated_at, "
    "updated_by = excluded.updated_by";
inline constexpr std::string_view kClearRetention = "DELETE FROM retention_policy WHERE owner = ? AND repository_id = ?";
inline constexpr std::string_view kGetRetention =
    "SELECT policy, updated_at, updated_by FROM retention_policy WHERE owner = ? AND repository_id = ?";
// Live packages with a policy of their own or of their owner's (owner-level rows have repository_id 0).
inline constexpr std::string_view kPackagesUnderRetention =
    "SELECT r.name FROM repository r WHERE r.deleted_at IS NULL AND r.name > ? AND ("
    "EXISTS (SELECT 1 FROM retention_policy p WHERE p.repository_id = r.id) OR "
    "EXISTS (SELECT 1 FROM retention_policy p WHERE p.repository_id = 0 AND "
    "substr(r.name, 1, length(p.owner) + 1) = p.owner || '/')) ORDER BY r.name LIMIT ?";

// The row id a policy is kept under: the live package's id, or 0 for the owner's policy.
template <class Connection>
Result<int64_t> retention_key(Connection& c, const std::optional<std::string>& package) {
  if (!package) return int64_t{0};
  META_TRY(id, live_repository(c, *package));
  if (!id) return Status(Errc::not_found, "no package named " + *package);
  return *id;
}

template <class Connection>
Result<std::optional<RetentionRecord>> retention_row(Connection& c, const std::string& owner,
                                                     const std::optional<std::string>& package, int64_t key) {
  META_TRY(st, c.prepare(kGetRetention));
  sql::bind_all(st, 1, owner, key);
  META_TRY(row, st.step());
  if (!row) return std::optional<RetentionRecord>();
  return std::optional<RetentionRecord>(RetentionRecord{.owner = owner,
                                                        .package = package,
                                                        .policy_json = st.column_text(0),
                                                        .updated_at = st.column_int64(1),
                                                        .updated_by = st.column_text(2)});
}
}  // namespace package_detail

template <class Pool>
Status SqlPackageStore<Pool>::set_retention(const std::string& owner, const std::optional<std::string>& package,
                                            const std::string& policy_json, const std::string& updated_by,
                                            int64_t now) {
  return write([&](auto& c) -> Status {
    if (package) BERTH_RETURN_IF_ERROR(sql::run(c, sql::kInsertRepository, *package, now));
    META_TRY(key, package_detail::retention_key(c, package));
    return sql::run(c, package_detail::kSetRetention, owner, key, policy_json, now, updated_by);
  });
}

template <class Pool>
Result<bool> SqlPackageStore<Pool>::clear_retention(const std::string& owner, const std::optional<std::string>& package) {
  bool cleared = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    cleared = false;
    META_TRY(key, package_detail::retention_key(c, package));
    BERTH_RETURN_IF_ERROR(sql::run(c, package_detail::kClearRetention, owner, key));
    cleared = c.changes() > 0;
    return Status::Ok();
  }));
  return cleared;
}

template <class Pool>
Result<std::optional<RetentionRecord>> SqlPackageStore<Pool>::retention_of(const std::string& owner,
                                                                           const std::optional<std::string>& package) {
  std::optional<RetentionRecord> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(key, package_detail::retention_key(c, package));
    META_TRY(row, package_detail::retention_row(c, owner, package, key));
    out = std::move(row);
    return Status::Ok();
  }));
  return out;
}

template <class Pool>
Result<std::optional<RetentionRecord>> SqlPackageStore<Pool>::effective_retention(const std::string& package) {
  std::optional<RetentionRecord> out;
  const std::string owner = versions::owner_of(package);
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    out.reset();
    META_TRY(key, package_detail::retention_key(c, std::optional<std::string>(package)));
    META_TRY(own, package_detail::retention_row(c, owner, std::optional<std::string>(package), key));
    if (own) {
      out = std::move(own);
      return Status::Ok();
    }
    META_TRY(owners, package_detail::retention_row(c, owner, std::nullopt, 0));
    out = std::move(owners);
    return Status::Ok();
  }));
  return out;
}

template <class Pool>
Result<std::vector<std::string>> SqlPackageStore<Pool>::packages_under_retention(const std::string& after,
                                                                                 size_t limit) {
  std::vector<std::string> names;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(rows, sql::texts(c, package_detail::kPackagesUnderRetention, after, sql::to_sql(limit)));
    names = std::move(rows);
    return Status::Ok();
  }));
  return names;
}

// ---- Quotas ----

namespace package_detail {
inline constexpr std::string_view kSetQuota =
    "INSERT INTO quota (owner, repository_id, limit_bytes) VALUES (?, ?, ?) "
    "ON CONFLICT (owner, repository_id) DO UPDATE SET limit_bytes = excluded.limit_bytes";
inline constexpr std::string_view kClearQuota = "DELETE FROM quota WHERE owner = ? AND repository_id = ?";
inline constexpr std::string_view kOwnerQuota = "SELECT limit_bytes FROM quota WHERE owner = ? AND repository_id = 0";
inline constexpr std::string_view kPackageQuotas =
    "SELECT r.name, q.limit_bytes, r.size FROM quota q JOIN repository r ON r.id = q.repository_id "
    "WHERE q.owner = ? AND q.repository_id <> 0 AND r.deleted_at IS NULL ORDER BY r.name";
}  // namespace package_detail

template <class Pool>
Status SqlPackageStore<Pool>::set_quota(const std::string& owner, const std::optional<std::string>& package,
                                        std::optional<uint64_t> limit_bytes) {
  return write([&](auto& c) -> Status {
    META_TRY(key, package_detail::retention_key(c, package));
    if (!limit_bytes) return sql::run(c, package_detail::kClearQuota, owner, key);
    return sql::run(c, package_detail::kSetQuota, owner, key, sql::to_sql(*limit_bytes));
  });
}

template <class Pool>
Result<std::vector<QuotaRecord>> SqlPackageStore<Pool>::quotas(const std::string& owner) {
  std::vector<QuotaRecord> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    out.clear();
    META_TRY(usage, sql::int_of(c, sql::kOwnerSize, owner));
    META_TRY(limit, sql::int_of(c, package_detail::kOwnerQuota, owner));
    QuotaRecord o{.owner = owner, .package = std::nullopt, .limit_bytes = std::nullopt,
                  .usage_bytes = sql::to_u64(usage.value_or(0))};
    if (limit) o.limit_bytes = sql::to_u64(*limit);
    out.push_back(std::move(o));
    META_TRY(st, c.prepare(package_detail::kPackageQuotas));
    st.bind(1, owner);
    while (true) {
      META_TRY(row, st.step());
      if (!row) return Status::Ok();
      out.push_back(QuotaRecord{.owner = owner,
                                .package = st.column_text(0),
                                .limit_bytes = sql::to_u64(st.column_int64(1)),
                                .usage_bytes = sql::to_u64(st.column_int64(2))});
    }
  }));
  return out;
}

}  // namespace berth::meta
