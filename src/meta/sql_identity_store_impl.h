// The bodies of SqlIdentityStore's methods, for the driver .cc files that instantiate it
// (sqlite_identity_store.cc, pg_identity_store.cc). Written against the same shared driver API as
// sql_metadata_store_impl.h; see there.
//
// Every transaction body may run more than once (the drivers retry busy / aborted attempts), so a body
// resets whatever it outputs before filling it.
//
// Internal to meta/.
#pragma once

#include <string>
#include <type_traits>
#include <string_view>
#include <utility>
#include <vector>

#include "meta/identity_queries.h"
#include "meta/sql_common.h"
#include "meta/sql_identity_store.h"
#include "meta/sql_rows.h"

namespace berth::meta {

// Only the identity driver .cc files include this header, and they name the statements this way.
namespace q = sql::identity;

namespace identity_detail {

// Bumps a revocation epoch (IdentityStore::revocation_epoch): the user's, or with "" the registry's.
template <class Connection>
Status bump_epoch(Connection& c, const std::string& subject) {
  return sql::run(c, q::kBumpEpoch, subject);
}

// Bumps the epoch of every member of a team, inside the transaction that changes what the team gives.
template <class Connection>
Status bump_team_members(Connection& c, const std::string& org, const std::string& team) {
  META_TRY(members, sql::texts(c, q::kListTeamMembers, org, team));
  for (const auto& user : members) BERTH_RETURN_IF_ERROR(bump_epoch(c, user));
  return Status::Ok();
}

// The facts kAccessFacts and kReadablePage select, from column `first` on.
template <class Stmt>
AccessFacts access_facts_at(const Stmt& st, int first) {
  AccessFacts facts;
  if (!st.column_is_null(first)) facts.visibility = st.column_text(first);
  if (!st.column_is_null(first + 1)) {
    facts.owner_kind = st.column_text(first + 1) == "org" ? AccountKind::org : AccountKind::user;
    facts.owner_create_on_push = st.column_int64(first + 2) != 0;
    facts.owner_default_visibility = st.column_text(first + 3);
  }
  if (!st.column_is_null(first + 4)) facts.org_role = st.column_text(first + 4);
  if (!st.column_is_null(first + 5)) facts.package_role = st.column_text(first + 5);
  if (!st.column_is_null(first + 6)) facts.team_role = st.column_text(first + 6);
  return facts;
}

inline std::string_view kind_word(AccountKind kind) { return kind == AccountKind::org ? "org" : "user"; }

template <class Stmt>
std::optional<int64_t> optional_int(const Stmt& st, int col) {
  if (st.column_is_null(col)) return std::nullopt;
  return st.column_int64(col);
}

// The id of the account with this name and kind. A user name where an org is expected (or the reverse)
// counts as absent: memberships, tokens and package roles only make sense for one kind.
template <class Connection>
Result<int64_t> existing_account_id(Connection& c, const std::string& name, AccountKind kind) {
  META_TRY(st, c.prepare(q::kAccountIdOfKind));
  st.bind(1, name).bind(2, kind_word(kind));
  META_TRY(row, st.step());
  if (!row) return Status(Errc::not_found, "no such " + std::string(kind_word(kind)) + ": " + name);
  return st.column_int64(0);
}

template <class Connection>
Result<int64_t> existing_repository_id(Connection& c, const std::string& name) {
  META_TRY(st, c.prepare(q::kRepositoryId));
  st.bind(1, name);
  META_TRY(row, st.step());
  if (!row) return Status(Errc::not_found, "no such repository: " + name);
  return st.column_int64(0);
}

// The id of the org's team of this name (org_id from existing_account_id).
template <class Connection>
Result<int64_t> existing_team_id(Connection& c, int64_t org_id, const std::string& org, const std::string& team) {
  META_TRY(st, c.prepare(q::kTeamId));
  st.bind(1, org_id).bind(2, team);
  META_TRY(row, st.step());
  if (!row) return Status(Errc::not_found, "no such team: " + org + "/" + team);
  return st.column_int64(0);
}

// Row readers are generic lambdas rather than function templates so that they can be handed to
// collect() without naming the driver's Stmt type.
inline constexpr auto account_row = [](const auto& st) {
  return Account{.id = st.column_int64(0),
                 .name = st.column_text(1),
                 .kind = st.column_text(2) == "org" ? AccountKind::org : AccountKind::user,
                 .password_hash = st.column_text(3),
                 .default_visibility = st.column_text(4),
                 .create_on_push = st.column_int64(5) != 0,
                 .created_at = st.column_int64(6)};
};

inline constexpr auto token_row = [](const auto& st) {
  return TokenRecord{.id = st.column_int64(0),
                     .user = st.column_text(1),
                     .hash = st.column_text(2),
                     .hint = st.column_text(3),
                     .name = st.column_text(4),
                     .kind = st.column_text(5),
                     .scopes = q::split_list(st.column_text(6)),
                     .packages = q::split_list(st.column_text(7)),
                     .expires_at = optional_int(st, 8),
                     .revoked_at = optional_int(st, 9),
                     .created_at = st.column_int64(10),
                     .last_used_at = optional_int(st, 11)};
};

inline constexpr auto audit_row = [](const auto& st) {
  return AuditEvent{.id = st.column_int64(0),
                    .at = st.column_int64(1),
                    .actor = st.column_text(2),
                    .action = st.column_text(3),
                    .target = st.column_text(4),
                    .outcome = st.column_text(5),
                    .remote = st.column_text(6),
                    .detail = st.column_text(7)};
};

template <class Stmt>
Result<std::optional<TokenRecord>> one_token(Stmt& st) {
  META_TRY(row, st.step());
  if (!row) return std::optional<TokenRecord>();
  return std::optional<TokenRecord>(token_row(st));
}

// The INSERT of record_audit, inside a caller's write transaction (PgIdentityStore takes its ordering
// lock first).
template <class Connection>
Status insert_audit(Connection& c, const AuditEvent& event) {
  META_TRY(st, c.prepare(q::kInsertAudit));
  st.bind(1, event.at).bind(2, event.actor).bind(3, event.action).bind(4, event.target);
  return st.bind(5, event.outcome).bind(6, event.remote).bind(7, event.detail).run();
}

}  // namespace identity_detail

// transact() is the driver's (sqlite::transact, pg::transact), found through Pool's namespace.
template <class Pool>
template <class Body>
Status SqlIdentityStore<Pool>::read(Body&& body) {
  return transact(pool_, false, std::forward<Body>(body));
}

template <class Pool>
template <class Body>
Status SqlIdentityStore<Pool>::write(Body&& body) {
  return transact(pool_, true, std::forward<Body>(body));
}

// ---- Accounts ----

template <class Pool>
Result<int64_t> SqlIdentityStore<Pool>::create_account(const Account& account) {
  int64_t id = 0;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    // RETURNING yields no row when the conflict clause skipped the insert: that is the duplicate.
    META_TRY(st, c.prepare(q::kInsertAccount));
    st.bind(1, account.name).bind(2, identity_detail::kind_word(account.kind)).bind(3, account.password_hash);
    st.bind(4, account.default_visibility).bind(5, int64_t{account.create_on_push ? 1 : 0});
    st.bind(6, account.created_at);
    META_TRY(row, st.step());
    if (!row) return Status(Errc::already_exists, "account name taken: " + account.name);
    id = st.column_int64(0);
    return Status::Ok();
  }));
  return id;
}

template <class Pool>
Result<std::optional<Account>> SqlIdentityStore<Pool>::get_account(const std::string& name) {
  std::optional<Account> account;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kGetAccount));
    st.bind(1, name);
    META_TRY(row, st.step());
    account = row ? std::optional<Account>(identity_detail::account_row(st)) : std::nullopt;
    return Status::Ok();
  }));
  return account;
}

template <class Pool>
Result<std::vector<Account>> SqlIdentityStore<Pool>::list_accounts() {
  std::vector<Account> accounts;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kListAccounts));
    return sql::collect(st, accounts, identity_detail::account_row);
  }));
  return accounts;
}

template <class Pool>
Status SqlIdentityStore<Pool>::set_password_hash(const std::string& user, const std::string& hash) {
  return write([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kSetPasswordHash));
    BERTH_RETURN_IF_ERROR(st.bind(1, hash).bind(2, user).run());
    if (c.changes() == 0) return Status(Errc::not_found, "no such user: " + user);
    return Status::Ok();
  });
}

template <class Pool>
Status SqlIdentityStore<Pool>::set_owner_settings(const std::string& owner, const std::string& default_visibility,
                                                  bool create_on_push) {
  return write([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kSetOwnerSettings));
    BERTH_RETURN_IF_ERROR(st.bind(1, default_visibility).bind(2, int64_t{create_on_push ? 1 : 0}).bind(3, owner).run());
    if (c.changes() == 0) return Status(Errc::not_found, "no such owner: " + owner);
    return Status::Ok();
  });
}

// ---- Org memberships ----

template <class Pool>
Status SqlIdentityStore<Pool>::set_membership(const std::string& org, const std::string& user,
                                              const std::string& role) {
  return write([&](auto& c) -> Status {
    META_TRY(org_id, identity_detail::existing_account_id(c, org, AccountKind::org));
    META_TRY(user_id, identity_detail::existing_account_id(c, user, AccountKind::user));
    META_TRY(before, sql::text_of(c, q::kOrgRole, org, user));
    if (before && *before != role) BERTH_RETURN_IF_ERROR(identity_detail::bump_epoch(c, user));
    META_TRY(st, c.prepare(q::kUpsertMembership));
    return st.bind(1, org_id).bind(2, user_id).bind(3, role).run();
  });
}

template <class Pool>
Result<bool> SqlIdentityStore<Pool>::remove_membership(const std::string& org, const std::string& user) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    {
      META_TRY(st, c.prepare(q::kDeleteTeamMembershipsInOrg));
      BERTH_RETURN_IF_ERROR(st.bind(1, user).bind(2, org).run());
    }
    {
      META_TRY(st, c.prepare(q::kDeleteMembership));
      BERTH_RETURN_IF_ERROR(st.bind(1, org).bind(2, user).run());
      removed = c.changes() > 0;
    }
    return removed ? identity_detail::bump_epoch(c, user) : Status::Ok();
  }));
  return removed;
}

template <class Pool>
Result<std::optional<std::string>> SqlIdentityStore<Pool>::org_role(const std::string& org, const std::string& user) {
  std::optional<std::string> role;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(r, sql::text_of(c, q::kOrgRole, org, user));
    role = std::move(r);
    return Status::Ok();
  }));
  return role;
}

template <class Pool>
Result<std::vector<Membership>> SqlIdentityStore<Pool>::list_members(const std::string& org) {
  std::vector<Membership> members;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kListMembers));
    st.bind(1, org);
    return sql::collect(st, members, [](const auto& s) {
      return Membership{.org = s.column_text(0), .user = s.column_text(1), .role = s.column_text(2)};
    });
  }));
  return members;
}

// ---- Teams ----

template <class Pool>
Result<int64_t> SqlIdentityStore<Pool>::create_team(const std::string& org, const std::string& name, int64_t now) {
  int64_t id = 0;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    META_TRY(org_id, identity_detail::existing_account_id(c, org, AccountKind::org));
    META_TRY(st, c.prepare(q::kInsertTeam));
    st.bind(1, org_id).bind(2, name).bind(3, now);
    META_TRY(row, st.step());
    if (!row) return Status(Errc::already_exists, "team exists: " + org + "/" + name);
    id = st.column_int64(0);
    return Status::Ok();
  }));
  return id;
}

template <class Pool>
Result<bool> SqlIdentityStore<Pool>::delete_team(const std::string& org, const std::string& name) {
  bool deleted = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    deleted = false;
    auto org_id = identity_detail::existing_account_id(c, org, AccountKind::org);
    if (!org_id.ok()) return org_id.status().code() == Errc::not_found ? Status::Ok() : org_id.status();
    auto team_id = identity_detail::existing_team_id(c, *org_id, org, name);
    if (!team_id.ok()) return team_id.status().code() == Errc::not_found ? Status::Ok() : team_id.status();
    BERTH_RETURN_IF_ERROR(identity_detail::bump_team_members(c, org, name));
    for (std::string_view text : q::kDeleteTeamRows) {
      META_TRY(st, c.prepare(text));
      BERTH_RETURN_IF_ERROR(st.bind(1, *team_id).run());
    }
    deleted = true;
    return Status::Ok();
  }));
  return deleted;
}

template <class Pool>
Result<std::vector<Team>> SqlIdentityStore<Pool>::list_teams(const std::string& org) {
  std::vector<Team> teams;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kListTeams));
    st.bind(1, org);
    return sql::collect(st, teams, [](const auto& s) {
      return Team{.id = s.column_int64(0), .org = s.column_text(1), .name = s.column_text(2),
                  .created_at = s.column_int64(3)};
    });
  }));
  return teams;
}

template <class Pool>
Status SqlIdentityStore<Pool>::add_team_member(const std::string& org, const std::string& team,
                                               const std::string& user) {
  return write([&](auto& c) -> Status {
    META_TRY(org_id, identity_detail::existing_account_id(c, org, AccountKind::org));
    META_TRY(team_id, identity_detail::existing_team_id(c, org_id, org, team));
    META_TRY(user_id, identity_detail::existing_account_id(c, user, AccountKind::user));
    {
      // Checked here, in the transaction that adds the member, so that a concurrent remove_membership
      // (which clears the user's teams) cannot leave a non-member in a team.
      META_TRY(st, c.prepare(q::kMembershipExists));
      st.bind(1, org_id).bind(2, user_id);
      META_TRY(row, st.step());
      if (!row) return Status(Errc::not_found, user + " is not a member of " + org);
    }
    META_TRY(st, c.prepare(q::kInsertTeamMember));
    return st.bind(1, team_id).bind(2, user_id).run();
  });
}

template <class Pool>
Result<bool> SqlIdentityStore<Pool>::remove_team_member(const std::string& org, const std::string& team,
                                                        const std::string& user) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    {
      META_TRY(st, c.prepare(q::kDeleteTeamMember));
      BERTH_RETURN_IF_ERROR(st.bind(1, org).bind(2, team).bind(3, user).run());
      removed = c.changes() > 0;
    }
    return removed ? identity_detail::bump_epoch(c, user) : Status::Ok();
  }));
  return removed;
}

template <class Pool>
Result<std::vector<std::string>> SqlIdentityStore<Pool>::list_team_members(const std::string& org,
                                                                           const std::string& team) {
  std::vector<std::string> users;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kListTeamMembers));
    st.bind(1, org).bind(2, team);
    return sql::collect(st, users, [](const auto& s) { return s.column_text(0); });
  }));
  return users;
}

template <class Pool>
Status SqlIdentityStore<Pool>::set_team_package_role(const std::string& org, const std::string& team,
                                                     const std::string& repository, const std::string& role) {
  if (repository.size() <= org.size() + 1 || repository.compare(0, org.size(), org) != 0 ||
      repository[org.size()] != '/') {
    return Status(Errc::invalid_argument, repository + " is not a package of " + org);
  }
  return write([&](auto& c) -> Status {
    META_TRY(org_id, identity_detail::existing_account_id(c, org, AccountKind::org));
    META_TRY(team_id, identity_detail::existing_team_id(c, org_id, org, team));
    META_TRY(repo_id, identity_detail::existing_repository_id(c, repository));
    BERTH_RETURN_IF_ERROR(identity_detail::bump_team_members(c, org, team));  // the role may be lower now
    META_TRY(st, c.prepare(q::kUpsertTeamPackageRole));
    return st.bind(1, team_id).bind(2, repo_id).bind(3, role).run();
  });
}

template <class Pool>
Result<bool> SqlIdentityStore<Pool>::remove_team_package_role(const std::string& org, const std::string& team,
                                                              const std::string& repository) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    {
      META_TRY(st, c.prepare(q::kDeleteTeamPackageRole));
      BERTH_RETURN_IF_ERROR(st.bind(1, org).bind(2, team).bind(3, repository).run());
      removed = c.changes() > 0;
    }
    return removed ? identity_detail::bump_team_members(c, org, team) : Status::Ok();
  }));
  return removed;
}

template <class Pool>
Result<std::vector<TeamPackageRole>> SqlIdentityStore<Pool>::list_team_package_roles(const std::string& repository) {
  std::vector<TeamPackageRole> roles;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kListTeamPackageRoles));
    st.bind(1, repository);
    return sql::collect(st, roles, [](const auto& s) {
      return TeamPackageRole{.repository = s.column_text(0), .org = s.column_text(1), .team = s.column_text(2),
                             .role = s.column_text(3)};
    });
  }));
  return roles;
}

// ---- Tokens ----

template <class Pool>
Result<int64_t> SqlIdentityStore<Pool>::create_token(const TokenRecord& token) {
  auto scopes = q::join_list(token.scopes, "scope");
  if (!scopes.ok()) return scopes.status();
  auto packages = q::join_list(token.packages, "package");
  if (!packages.ok()) return packages.status();
  int64_t id = 0;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    META_TRY(user_id, identity_detail::existing_account_id(c, token.user, AccountKind::user));
    META_TRY(st, c.prepare(q::kInsertToken));
    st.bind(1, user_id).bind(2, token.hash).bind(3, token.hint).bind(4, token.name).bind(5, token.kind);
    st.bind(6, *scopes).bind(7, *packages).bind_optional(8, token.expires_at).bind_optional(9, token.revoked_at);
    st.bind(10, token.created_at).bind_optional(11, token.last_used_at);
    META_TRY(row, st.step());
    // The message leaves the hash out: it identifies a live secret.
    if (!row) return Status(Errc::already_exists, "a token with this hash already exists");
    id = st.column_int64(0);
    return Status::Ok();
  }));
  return id;
}

template <class Pool>
Result<std::optional<TokenRecord>> SqlIdentityStore<Pool>::find_token_by_hash(const std::string& hash) {
  std::optional<TokenRecord> token;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kTokenByHash));
    st.bind(1, hash);
    META_TRY(t, identity_detail::one_token(st));
    token = std::move(t);
    return Status::Ok();
  }));
  return token;
}

template <class Pool>
Result<std::optional<TokenRecord>> SqlIdentityStore<Pool>::get_token(int64_t id) {
  std::optional<TokenRecord> token;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kTokenById));
    st.bind(1, id);
    META_TRY(t, identity_detail::one_token(st));
    token = std::move(t);
    return Status::Ok();
  }));
  return token;
}

template <class Pool>
Result<std::vector<TokenRecord>> SqlIdentityStore<Pool>::list_tokens(const std::string& user) {
  std::vector<TokenRecord> tokens;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kTokensOfUser));
    st.bind(1, user);
    return sql::collect(st, tokens, identity_detail::token_row);
  }));
  return tokens;
}

template <class Pool>
Result<bool> SqlIdentityStore<Pool>::revoke_token(int64_t id, int64_t now) {
  bool exists = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    {
      META_TRY(st, c.prepare(q::kRevokeToken));  // keeps the first revocation time
      BERTH_RETURN_IF_ERROR(st.bind(1, now).bind(2, id).run());
      exists = c.changes() > 0;
    }
    if (exists) {
      // The JWTs this token bought stop working too (AccessControl checks the owner's epoch).
      META_TRY(owner, sql::text_of(c, q::kTokenOwner, id));
      return owner ? identity_detail::bump_epoch(c, *owner) : Status::Ok();
    }
    // Nothing changed: already revoked (still true) or no such token.
    META_TRY(st, c.prepare(q::kTokenExists));
    st.bind(1, id);
    META_TRY(row, st.step());
    exists = row;
    return Status::Ok();
  }));
  return exists;
}

template <class Pool>
Status SqlIdentityStore<Pool>::touch_token(int64_t id, int64_t now) {
  return write([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kTouchToken));
    BERTH_RETURN_IF_ERROR(st.bind(1, now).bind(2, id).run());
    if (c.changes() == 0) return Status(Errc::not_found, "no such token: " + std::to_string(id));
    return Status::Ok();
  });
}

// ---- Packages ----

template <class Pool>
Result<std::optional<std::string>> SqlIdentityStore<Pool>::repository_visibility(const std::string& repository) {
  std::optional<std::string> visibility;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(v, sql::text_of(c, q::kRepositoryVisibility, repository));
    visibility = std::move(v);
    return Status::Ok();
  }));
  return visibility;
}

template <class Pool>
Status SqlIdentityStore<Pool>::set_repository_visibility(const std::string& repository,
                                                         const std::string& visibility) {
  return write([&](auto& c) -> Status {
    META_TRY(before, sql::text_of(c, q::kRepositoryVisibility, repository));
    // Anonymous JWTs name no user: a package that stops being public bumps the registry's epoch.
    if (before == std::optional<std::string>("public") && visibility != "public") {
      BERTH_RETURN_IF_ERROR(identity_detail::bump_epoch(c, ""));
    }
    META_TRY(st, c.prepare(q::kUpsertRepositoryVisibility));
    return st.bind(1, repository).bind(2, sql::unix_now()).bind(3, visibility).run();
  });
}

template <class Pool>
Status SqlIdentityStore<Pool>::set_package_role(const std::string& repository, const std::string& user,
                                                const std::string& role) {
  return write([&](auto& c) -> Status {
    META_TRY(repo_id, identity_detail::existing_repository_id(c, repository));
    META_TRY(user_id, identity_detail::existing_account_id(c, user, AccountKind::user));
    META_TRY(before, sql::text_of(c, q::kPackageRole, repository, user));
    if (before && *before != role) BERTH_RETURN_IF_ERROR(identity_detail::bump_epoch(c, user));
    META_TRY(st, c.prepare(q::kUpsertPackageRole));
    return st.bind(1, repo_id).bind(2, user_id).bind(3, role).run();
  });
}

template <class Pool>
Result<bool> SqlIdentityStore<Pool>::remove_package_role(const std::string& repository, const std::string& user) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    {
      META_TRY(st, c.prepare(q::kDeletePackageRole));
      BERTH_RETURN_IF_ERROR(st.bind(1, repository).bind(2, user).run());
      removed = c.changes() > 0;
    }
    return removed ? identity_detail::bump_epoch(c, user) : Status::Ok();
  }));
  return removed;
}

template <class Pool>
Result<std::optional<std::string>> SqlIdentityStore<Pool>::package_role(const std::string& repository,
                                                                       const std::string& user) {
  std::optional<std::string> role;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(r, sql::text_of(c, q::kPackageRole, repository, user));
    role = std::move(r);
    return Status::Ok();
  }));
  return role;
}

template <class Pool>
Result<std::vector<PackageRole>> SqlIdentityStore<Pool>::list_package_roles(const std::string& repository) {
  std::vector<PackageRole> roles;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kListPackageRoles));
    st.bind(1, repository);
    return sql::collect(st, roles, [](const auto& s) {
      return PackageRole{.repository = s.column_text(0), .user = s.column_text(1), .role = s.column_text(2)};
    });
  }));
  return roles;
}

// ---- Authorization ----

template <class Pool>
Result<AccessFacts> SqlIdentityStore<Pool>::access_facts(const std::string& repository, const std::string& owner,
                                                         const std::string& user) {
  AccessFacts facts;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(q::kAccessFacts));
    st.bind(1, user).bind(2, user).bind(3, user).bind(4, repository).bind(5, owner);
    META_TRY(row, st.step());
    if (!row) return Status(Errc::internal, "access facts query returned no row");
    facts = identity_detail::access_facts_at(st, 0);
    return Status::Ok();
  }));
  return facts;
}

template <class Pool>
Result<int64_t> SqlIdentityStore<Pool>::revocation_epoch(const std::string& user) {
  int64_t epoch = 0;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(value, sql::int_of(c, q::kRevocationEpoch, user));
    epoch = value.value_or(0);
    return Status::Ok();
  }));
  return epoch;
}

template <class Pool>
Result<std::vector<RepositoryFacts>> SqlIdentityStore<Pool>::readable_candidates(const std::string& after,
                                                                                 size_t limit,
                                                                                 const std::string& user) {
  std::vector<RepositoryFacts> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    using C = std::remove_reference_t<decltype(c)>;
    out.clear();
    META_TRY(st, c.prepare(sql::for_dialect<C>(q::kReadablePage, q::kReadablePagePg)));
    st.bind(1, user).bind(2, user).bind(3, user).bind(4, after).bind(5, user).bind(6, user).bind(7, user);
    st.bind(8, sql::to_sql(limit));
    return sql::collect(st, out, [](const auto& row) {
      return RepositoryFacts{row.column_text(0), identity_detail::access_facts_at(row, 1)};
    });
  }));
  return out;
}

// ---- Audit log ----

template <class Pool>
Status SqlIdentityStore<Pool>::record_audit(const AuditEvent& event) {
  return write([&](auto& c) { return identity_detail::insert_audit(c, event); });
}

template <class Pool>
Result<std::vector<AuditEvent>> SqlIdentityStore<Pool>::list_audit(int64_t after_id, size_t limit,
                                                                   const std::optional<std::string>& actor) {
  std::vector<AuditEvent> events;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(actor ? q::kListAuditOfActor : q::kListAudit));
    int i = 1;
    if (actor) st.bind(i++, *actor);
    st.bind(i, after_id).bind(i + 1, sql::to_sql(limit));
    return sql::collect(st, events, identity_detail::audit_row);
  }));
  return events;
}

}  // namespace berth::meta
