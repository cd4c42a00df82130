// Tag rules (migration 7; docs/lifecycle.md, "Immutable tags and the semver policy"), as functions over a
// driver's Connection run inside the caller's write transaction: put_manifest checks a tag before moving
// it and moves a release line's floating tags after; deletes of a tag or of a version carrying a
// protected tag are refused. Being in the same transaction as the change, a rule cannot be raced.
//
// Internal to meta/.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "meta/sql_common.h"
#include "meta/sql_rows.h"
#include "meta/tag_protection.h"
#include "meta/versions_impl.h"
#include "oci/semver.h"
#include "oci/tag_pattern.h"

namespace berth::meta::sql {
inline constexpr std::string_view kTagRulesFor =
    "SELECT pattern, CASE WHEN repository_id IS NULL THEN 0 ELSE 1 END FROM tag_rule "
    "WHERE owner = ? AND (repository_id IS NULL OR repository_id = ?) ORDER BY id";
inline constexpr std::string_view kSemverPolicy = "SELECT semver_policy FROM repository WHERE id = ?";
inline constexpr std::string_view kTagTarget = "SELECT manifest_digest FROM tag WHERE repository_id = ? AND name = ?";
inline constexpr std::string_view kTagNames = "SELECT name FROM tag WHERE repository_id = ?";
}  // namespace berth::meta::sql

namespace berth::meta::tag_rules {

using Rules = TagProtection;

template <class Connection>
Result<Rules> load(Connection& c, const versions::Repo& repo) {
  Rules rules;
  rules.owner = repo.owner;
  {
    META_TRY(st, c.prepare(sql::kTagRulesFor));
    sql::bind_all(st, 1, repo.owner, repo.id);
    while (true) {
      META_TRY(row, st.step());
      if (!row) break;
      auto pattern = oci::TagPattern::parse(st.column_text(0));
      if (!pattern.ok()) continue;  // validated when stored; a damaged row protects nothing rather than all
      rules.immutable.push_back(TagProtection::Rule{*pattern, st.column_int64(1) != 0});
    }
  }
  META_TRY(policy, sql::int_of(c, sql::kSemverPolicy, repo.id));
  rules.semver_policy = policy.value_or(0);
  return rules;
}

// The highest release among `names` that `in_line` accepts (for the semver policy), if any.
template <class InLine>
std::optional<std::pair<oci::SemVer, std::string>> highest_release(const std::vector<std::string>& names,
                                                                   InLine in_line) {
  std::optional<std::pair<oci::SemVer, std::string>> best;
  for (const std::string& name : names) {
    auto v = oci::parse_semver(name);
    if (!v || !oci::is_release(*v) || !in_line(*v)) continue;
    if (!best || oci::compare(*v, best->first) > 0) best = std::make_pair(*v, name);
  }
  return best;
}

// Before `tag` is pointed at `digest`: refused (denied) when a rule protects a tag that points elsewhere,
// or when the semver policy wants a new release newer than every release of the package.
template <class Connection>
Status check_push(Connection& c, const versions::Repo& repo, const Rules& rules, const std::string& tag,
                  const std::string& digest) {
  if (rules.none()) return Status::Ok();  // most packages: no read beyond the rules themselves
  META_TRY(current, sql::texts(c, sql::kTagTarget, repo.id, tag));
  if (!current.empty()) {
    if (current.front() == digest) return Status::Ok();
    if (auto why = rules.why(tag)) return Status(Errc::denied, *why + "; it points at " + current.front());
    return Status::Ok();
  }
  if (rules.semver_policy == 0) return Status::Ok();
  auto version = oci::parse_semver(tag);
  if (!version || !oci::is_release(*version)) return Status::Ok();
  META_TRY(names, sql::texts(c, sql::kTagNames, repo.id));
  auto highest = highest_release(names, [](const oci::SemVer&) { return true; });
  if (highest && oci::compare(*version, highest->first) <= 0) {
    return Status(Errc::denied, "release '" + tag + "' is not newer than '" + highest->second +
                                    "', the highest release of this package (semver policy)");
  }
  return Status::Ok();
}

// After `tag` was pointed at `digest`, under semver policy 2: a release that is the newest of its minor
// (and major) line moves that line's floating tag ("1.2", "1"), unless an immutable rule holds it.
template <class Connection>
Status move_floating_tags(Connection& c, const versions::Repo& repo, const Rules& rules, const std::string& tag,
                          const std::string& digest, int64_t now) {
  if (rules.semver_policy < 2) return Status::Ok();
  auto version = oci::parse_semver(tag);
  if (!version || !oci::is_release(*version)) return Status::Ok();
  META_TRY(names, sql::texts(c, sql::kTagNames, repo.id));
  const std::vector<std::string> floating = oci::floating_tags_of(*version);  // {"1.2", "1"}
  for (size_t i = 0; i < floating.size(); ++i) {
    const bool minor_line = i == 0;
    auto highest = highest_release(names, [&](const oci::SemVer& v) {
      return v.major == version->major && (!minor_line || v.minor == version->minor);
    });
    if (!highest || highest->second != tag) continue;  // an older release of the line: leaves it alone
    META_TRY(current, sql::texts(c, sql::kTagTarget, repo.id, floating[i]));
    if (!current.empty() && current.front() == digest) continue;
    if (!current.empty() && rules.why(floating[i])) continue;
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kUpsertTag, repo.id, floating[i], digest, now));
  }
  return Status::Ok();
}

// The first tag of a version's root that a rule protects, as a message: such a version is not deleted.
template <class Connection>
Result<std::optional<std::string>> protected_tag_on(Connection& c, const versions::Repo& repo, const Rules& rules,
                                                    const std::string& root) {
  if (rules.none()) return std::optional<std::string>();
  META_TRY(tags, sql::texts(c, sql::kTagsOfManifest, repo.id, root));
  std::sort(tags.begin(), tags.end());
  for (const std::string& t : tags) {
    if (auto why = rules.why(t)) return std::optional<std::string>(*why);
  }
  return std::optional<std::string>();
}

}  // namespace berth::meta::tag_rules
