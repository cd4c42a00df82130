// The statements every IdentityStore driver runs, and how token lists are encoded in a column, written
// once (as queries.h is for MetadataStore).
//
// Texts use SQLite's '?' placeholders; the PostgreSQL driver numbers them when it prepares them. Both
// sqlite_identity_store.cc and pg_identity_store.cc use them, so there is one copy of each to review
// and a change here changes both drivers (run both identity suites).
//
// Internal to meta/.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace berth::meta::sql::identity {

// ---- Column encodings ----
// Token scopes and packages are stored as one comma-separated column: they are short, always read
// whole, and never queried element by element. An element that is empty or holds a comma would not
// come back the same, so it is refused rather than silently changed.
inline Result<std::string> join_list(const std::vector<std::string>& items, std::string_view what) {
  std::string out;
  for (const std::string& item : items) {
    if (item.empty() || item.find(',') != std::string::npos) {
      return Status(Errc::invalid_argument, "token " + std::string(what) + " entry is empty or holds ',': " + item);
    }
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

inline std::vector<std::string> split_list(const std::string& joined) {
  std::vector<std::string> items;
  size_t start = 0;
  while (start < joined.size()) {
    size_t comma = joined.find(',', start);
    if (comma == std::string::npos) comma = joined.size();
    items.push_back(joined.substr(start, comma - start));
    start = comma + 1;
  }
  return items;
}

// ---- Lookups run inside a caller's transaction ----
inline constexpr std::string_view kAccountIdOfKind = "SELECT id FROM account WHERE name = ? AND kind = ?";
inline constexpr std::string_view kRepositoryId = "SELECT id FROM repository WHERE name = ?";

// ---- Accounts ----
// Columns read by account_row(): id, name, kind, password_hash, default_visibility, create_on_push,
// created_at.
#define BERTH_META_ACCOUNT_SELECT \
  "SELECT id, name, kind, password_hash, default_visibility, create_on_push, created_at FROM account "
// RETURNING yields no row when the conflict clause skipped the insert: that is the duplicate.
inline constexpr std::string_view kInsertAccount =
    "INSERT INTO account (name, kind, password_hash, default_visibility, create_on_push, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO NOTHING RETURNING id";
inline constexpr std::string_view kGetAccount = BERTH_META_ACCOUNT_SELECT "WHERE name = ?";
inline constexpr std::string_view kListAccounts = BERTH_META_ACCOUNT_SELECT "ORDER BY name";
#undef BERTH_META_ACCOUNT_SELECT
inline constexpr std::string_view kSetPasswordHash =
    "UPDATE account SET password_hash = ? WHERE name = ? AND kind = 'user'";
inline constexpr std::string_view kSetOwnerSettings =
    "UPDATE account SET default_visibility = ?, create_on_push = ? WHERE name = ?";

// ---- Org memberships ----
inline constexpr std::string_view kUpsertMembership =
    "INSERT INTO membership (org_id, user_id, role) VALUES (?, ?, ?) "
    "ON CONFLICT (org_id, user_id) DO UPDATE SET role = excluded.role";
inline constexpr std::string_view kDeleteMembership =
    "DELETE FROM membership "
    "WHERE org_id = (SELECT id FROM account WHERE name = ? AND kind = 'org') "
    "AND user_id = (SELECT id FROM account WHERE name = ? AND kind = 'user')";
inline constexpr std::string_view kOrgRole =
    "SELECT m.role FROM membership m "
    "JOIN account o ON o.id = m.org_id JOIN account u ON u.id = m.user_id "
    "WHERE o.name = ? AND u.name = ?";
inline constexpr std::string_view kListMembers =
    "SELECT o.name, u.name, m.role FROM membership m "
    "JOIN account o ON o.id = m.org_id JOIN account u ON u.id = m.user_id "
    "WHERE o.name = ? ORDER BY u.name";
inline constexpr std::string_view kMembershipExists = "SELECT 1 FROM membership WHERE org_id = ? AND user_id = ?";
// Run with kDeleteMembership: someone who leaves the org leaves its teams. Parameters: user, org.
inline constexpr std::string_view kDeleteTeamMembershipsInOrg =
    "DELETE FROM team_member "
    "WHERE user_id = (SELECT id FROM account WHERE name = ? AND kind = 'user') "
    "AND team_id IN (SELECT t.id FROM team t JOIN account o ON o.id = t.org_id WHERE o.name = ? AND o.kind = 'org')";

// ---- Teams ----
// A team by org name and team name (the org must be an org). Parameters: org, team.
#define BERTH_META_TEAM_ID \
  "(SELECT t.id FROM team t JOIN account o ON o.id = t.org_id WHERE o.name = ? AND o.kind = 'org' AND t.name = ?)"
inline constexpr std::string_view kTeamId = "SELECT id FROM team WHERE org_id = ? AND name = ?";
inline constexpr std::string_view kInsertTeam =
    "INSERT INTO team (org_id, name, created_at) VALUES (?, ?, ?) ON CONFLICT (org_id, name) DO NOTHING RETURNING id";
inline constexpr std::string_view kListTeams =
    "SELECT t.id, o.name, t.name, t.created_at FROM team t JOIN account o ON o.id = t.org_id "
    "WHERE o.name = ? AND o.kind = 'org' ORDER BY t.name";
// Deleting a team: its rows in the tables that refer to it first (foreign keys), then the team.
inline constexpr std::string_view kDeleteTeamRows[] = {
    "DELETE FROM team_package_role WHERE team_id = ?",
    "DELETE FROM team_member WHERE team_id = ?",
    "DELETE FROM team WHERE id = ?",
};
inline constexpr std::string_view kInsertTeamMember =
    "INSERT INTO team_member (team_id, user_id) VALUES (?, ?) ON CONFLICT (team_id, user_id) DO NOTHING";
// Parameters: org, team, user.
inline constexpr std::string_view kDeleteTeamMember =
    "DELETE FROM team_member WHERE team_id = " BERTH_META_TEAM_ID " "
    "AND user_id = (SELECT id FROM account WHERE name = ? AND kind = 'user')";
inline constexpr std::string_view kListTeamMembers =
    "SELECT u.name FROM team_member tm JOIN account u ON u.id = tm.user_id "
    "WHERE tm.team_id = " BERTH_META_TEAM_ID " ORDER BY u.name";
inline constexpr std::string_view kUpsertTeamPackageRole =
    "INSERT INTO team_package_role (team_id, repository_id, role) VALUES (?, ?, ?) "
    "ON CONFLICT (repository_id, team_id) DO UPDATE SET role = excluded.role";
// Parameters: org, team, repository.
inline constexpr std::string_view kDeleteTeamPackageRole =
    "DELETE FROM team_package_role WHERE team_id = " BERTH_META_TEAM_ID " "
    "AND repository_id = (SELECT id FROM repository WHERE name = ?)";
inline constexpr std::string_view kListTeamPackageRoles =
    "SELECT r.name, o.name, t.name, tr.role FROM team_package_role tr "
    "JOIN repository r ON r.id = tr.repository_id JOIN team t ON t.id = tr.team_id "
    "JOIN account o ON o.id = t.org_id WHERE r.name = ? ORDER BY t.name";
#undef BERTH_META_TEAM_ID

// ---- Tokens ----
// Columns read by token_row(): id, user, hash, hint, name, kind, scopes, packages, expires_at,
// revoked_at, created_at, last_used_at.
#define BERTH_META_TOKEN_SELECT                                                                                 \
  "SELECT t.id, a.name, t.hash, t.hint, t.name, t.kind, t.scopes, t.packages, t.expires_at, t.revoked_at, " \
  "t.created_at, t.last_used_at FROM token t JOIN account a ON a.id = t.user_id "
inline constexpr std::string_view kInsertToken =
    "INSERT INTO token (user_id, hash, hint, name, kind, scopes, packages, expires_at, "
    "revoked_at, created_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (hash) DO NOTHING RETURNING id";
inline constexpr std::string_view kTokenByHash = BERTH_META_TOKEN_SELECT "WHERE t.hash = ?";
inline constexpr std::string_view kTokenById = BERTH_META_TOKEN_SELECT "WHERE t.id = ?";
inline constexpr std::string_view kTokensOfUser = BERTH_META_TOKEN_SELECT "WHERE a.name = ? ORDER BY t.id";
#undef BERTH_META_TOKEN_SELECT
// The first revocation time stands: it is when the token stopped being valid.
inline constexpr std::string_view kRevokeToken = "UPDATE token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";
inline constexpr std::string_view kTokenExists = "SELECT 1 FROM token WHERE id = ?";
inline constexpr std::string_view kTouchToken = "UPDATE token SET last_used_at = ? WHERE id = ?";

// ---- Packages ----
inline constexpr std::string_view kRepositoryVisibility = "SELECT visibility FROM repository WHERE name = ?";
inline constexpr std::string_view kUpsertRepositoryVisibility =
    "INSERT INTO repository (name, created_at, visibility) VALUES (?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET visibility = excluded.visibility";
inline constexpr std::string_view kUpsertPackageRole =
    "INSERT INTO package_role (repository_id, user_id, role) VALUES (?, ?, ?) "
    "ON CONFLICT (repository_id, user_id) DO UPDATE SET role = excluded.role";
inline constexpr std::string_view kDeletePackageRole =
    "DELETE FROM package_role "
    "WHERE repository_id = (SELECT id FROM repository WHERE name = ?) "
    "AND user_id = (SELECT id FROM account WHERE name = ? AND kind = 'user')";
inline constexpr std::string_view kPackageRole =
    "SELECT p.role FROM package_role p "
    "JOIN repository r ON r.id = p.repository_id JOIN account u ON u.id = p.user_id "
    "WHERE r.name = ? AND u.name = ?";
inline constexpr std::string_view kListPackageRoles =
    "SELECT r.name, u.name, p.role FROM package_role p "
    "JOIN repository r ON r.id = p.repository_id JOIN account u ON u.id = p.user_id "
    "WHERE r.name = ? ORDER BY u.name";

// ---- Authorization ----
// One row, always (the joins are LEFT from a one-row table): repository visibility, owner kind,
// create_on_push and default_visibility (NULLs when absent), the user's org role, package role and best
// team role (NULL when none; the correlated subqueries find nothing when the owner or repository is
// absent). The team role walks from the user (account by name, then team_member_by_user) to
// team_package_role by its key (repository, team), then the team by id for its org: every join is an
// index lookup, one probe of team_package_role per team the user is in, never a scan of a team's
// members or a package's teams. Roles rank as in auth/access.cc (the one place the store ranks them).
// Parameters: user, user, user, repository, owner. One statement: one snapshot on both drivers.
inline constexpr std::string_view kAccessFacts =
    "SELECT r.visibility, o.kind, o.create_on_push, o.default_visibility, "
    "(SELECT m.role FROM membership m JOIN account u ON u.id = m.user_id "
    "WHERE m.org_id = o.id AND u.name = ?), "
    "(SELECT p.role FROM package_role p JOIN account u ON u.id = p.user_id "
    "WHERE p.repository_id = r.id AND u.name = ?), "
    "(SELECT tr.role FROM account u JOIN team_member tm ON tm.user_id = u.id "
    "JOIN team_package_role tr ON tr.repository_id = r.id AND tr.team_id = tm.team_id "
    "JOIN team t ON t.id = tm.team_id "
    "WHERE u.name = ? AND t.org_id = o.id "
    "ORDER BY CASE tr.role WHEN 'admin' THEN 3 WHEN 'write' THEN 2 WHEN 'read' THEN 1 ELSE 0 END DESC "
    "LIMIT 1) "
    "FROM (SELECT 1 AS one) AS x "
    "LEFT JOIN repository r ON r.name = ? "
    "LEFT JOIN account o ON o.name = ?";

// kAccessFacts for a page of repositories (the catalog): those after ? in name order that the user
// (bound four times: three roles, then the filter) may be able to read — public, in the namespace of
// their name, of an org they belong to, or with a package role of theirs — at most ?. A superset of
// what auth::permitted_by lets them pull; it decides from the facts. The owner is the first path
// component, which the dialects cut differently.
#define BERTH_META_READABLE_PAGE(OWNER)                                                              \
  "SELECT r.name, r.visibility, o.kind, o.create_on_push, o.default_visibility, "                   \
  "(SELECT m.role FROM membership m JOIN account u ON u.id = m.user_id "                            \
  "WHERE m.org_id = o.id AND u.name = ?), "                                                         \
  "(SELECT p.role FROM package_role p JOIN account u ON u.id = p.user_id "                          \
  "WHERE p.repository_id = r.id AND u.name = ?), "                                                  \
  "(SELECT tr.role FROM account u JOIN team_member tm ON tm.user_id = u.id "                        \
  "JOIN team_package_role tr ON tr.repository_id = r.id AND tr.team_id = tm.team_id "               \
  "JOIN team t ON t.id = tm.team_id "                                                               \
  "WHERE u.name = ? AND t.org_id = o.id "                                                           \
  "ORDER BY CASE tr.role WHEN 'admin' THEN 3 WHEN 'write' THEN 2 WHEN 'read' THEN 1 ELSE 0 END DESC " \
  "LIMIT 1) "                                                                                       \
  "FROM repository r LEFT JOIN account o ON o.name = " OWNER " "                                  \
  "WHERE r.name > ? AND r.deleted_at IS NULL AND (r.visibility = 'public' OR " OWNER " = ? "       \
  "OR EXISTS (SELECT 1 FROM membership m JOIN account u ON u.id = m.user_id "                       \
  "WHERE m.org_id = o.id AND u.name = ?) "                                                          \
  "OR EXISTS (SELECT 1 FROM package_role p JOIN account u ON u.id = p.user_id "                     \
  "WHERE p.repository_id = r.id AND u.name = ?)) "                                                  \
  "ORDER BY r.name LIMIT ?"
inline constexpr std::string_view kReadablePage =
    BERTH_META_READABLE_PAGE("substr(r.name, 1, instr(r.name || '/', '/') - 1)");
inline constexpr std::string_view kReadablePagePg = BERTH_META_READABLE_PAGE("split_part(r.name, '/', 1)");
#undef BERTH_META_READABLE_PAGE

// ---- Revocation epochs (migration 11) ----
inline constexpr std::string_view kBumpEpoch =
    "INSERT INTO auth_epoch (subject, epoch) VALUES (?, 1) "
    "ON CONFLICT (subject) DO UPDATE SET epoch = auth_epoch.epoch + 1";
inline constexpr std::string_view kRevocationEpoch =
    "SELECT COALESCE((SELECT epoch FROM auth_epoch WHERE subject = ?), 0) + "
    "COALESCE((SELECT epoch FROM auth_epoch WHERE subject = ''), 0)";
inline constexpr std::string_view kTokenOwner =
    "SELECT a.name FROM token t JOIN account a ON a.id = t.user_id WHERE t.id = ?";

// ---- Audit log ----
// Columns read by audit_row(): id, at, actor, action, target, outcome, remote, detail.
#define BERTH_META_AUDIT_SELECT "SELECT id, at, actor, action, target, outcome, remote, detail FROM audit_event "
inline constexpr std::string_view kInsertAudit =
    "INSERT INTO audit_event (at, actor, action, target, outcome, remote, detail) "
    "VALUES (?, ?, ?, ?, ?, ?, ?)";
// Two statements rather than "? IS NULL OR ...": the filtered one gets a plan on (actor, id), and
// PostgreSQL cannot type an untyped NULL parameter.
inline constexpr std::string_view kListAudit = BERTH_META_AUDIT_SELECT "WHERE id > ? ORDER BY id LIMIT ?";
inline constexpr std::string_view kListAuditOfActor =
    BERTH_META_AUDIT_SELECT "WHERE actor = ? AND id > ? ORDER BY id LIMIT ?";
#undef BERTH_META_AUDIT_SELECT

}  // namespace berth::meta::sql::identity
