#include "meta/pg_identity_store.h"

#include <chrono>
#include <limits>

#include "meta/identity_queries.h"
#include "meta/pg_db.h"

// The method bodies mirror SqliteIdentityStore's statement for statement (same texts, now in
// identity_queries.h): what differs is the driver layer (pg_db.h, PgStore's retry loop) and the audit
// ordering lock in record_audit, which SQLite's single writer makes unnecessary there.

namespace berth::meta {

using pg::Connection;
using pg::Stmt;
namespace q = sql::identity;

// Binds `var` to the value of a Result-returning expression, or returns its Status.
#define META_TRY(var, expr)                               \
  auto var##_result_ = (expr);                            \
  if (!var##_result_.ok()) return var##_result_.status(); \
  auto& var = *var##_result_

namespace {

// pg_advisory_xact_lock key serializing audit inserts across the fleet ("audit" in ASCII); distinct
// from PgStore's migration lock key, which shares the same per-database key space.
constexpr int64_t kAuditLockKey = 0x6175646974;

std::string_view kind_word(AccountKind kind) { return kind == AccountKind::org ? "org" : "user"; }

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// LIMIT takes a signed BIGINT: clamp rather than wrap, so a huge limit cannot turn negative.
int64_t to_sql(size_t v) {
  return v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max()
                                                                         : static_cast<int64_t>(v);
}

// pg::Stmt binds optional values as text (PostgreSQL parses it as the column's BIGINT).
std::optional<std::string> optional_text(const std::optional<int64_t>& v) {
  if (!v) return std::nullopt;
  return std::to_string(*v);
}

std::optional<int64_t> optional_int(const Stmt& st, int col) {
  if (st.column_is_null(col)) return std::nullopt;
  return st.column_int64(col);
}

// Collects every row of `st` through `row_of`; clears `out` first, since a retried body runs again.
template <class T, class RowOf>
Status collect(Stmt& st, std::vector<T>& out, RowOf&& row_of) {
  out.clear();
  while (true) {
    META_TRY(row, st.step());
    if (!row) return Status::Ok();
    out.push_back(row_of(st));
  }
}

// Runs a query expected to yield at most one text value.
Result<std::optional<std::string>> one_text(Stmt& st) {
  META_TRY(row, st.step());
  if (!row) return std::optional<std::string>();
  return std::optional<std::string>(st.column_text(0));
}

// The id of the account with this name and kind. A user name where an org is expected (or the reverse)
// counts as absent: memberships, tokens and package roles only make sense for one kind.
Result<int64_t> existing_account_id(Connection& c, const std::string& name, AccountKind kind) {
  META_TRY(st, c.prepare(q::kAccountIdOfKind));
  st.bind(1, name).bind(2, kind_word(kind));
  META_TRY(row, st.step());
  if (!row) return Status(Errc::not_found, "no such " + std::string(kind_word(kind)) + ": " + name);
  return st.column_int64(0);
}

Result<int64_t> existing_repository_id(Connection& c, const std::string& name) {
  META_TRY(st, c.prepare(q::kRepositoryId));
  st.bind(1, name);
  META_TRY(row, st.step());
  if (!row) return Status(Errc::not_found, "no such repository: " + name);
  return st.column_int64(0);
}

Account account_row(const Stmt& st) {
  return Account{.id = st.column_int64(0),
                 .name = st.column_text(1),
                 .kind = st.column_text(2) == "org" ? AccountKind::org : AccountKind::user,
                 .password_hash = st.column_text(3),
                 .default_visibility = st.column_text(4),
                 .create_on_push = st.column_int64(5) != 0,
                 .created_at = st.column_int64(6)};
}

TokenRecord token_row(const Stmt& st) {
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
}

Result<std::optional<TokenRecord>> one_token(Stmt& st) {
  META_TRY(row, st.step());
  if (!row) return std::optional<TokenRecord>();
  return std::optional<TokenRecord>(token_row(st));
}

AuditEvent audit_row(const Stmt& st) {
  return AuditEvent{.id = st.column_int64(0),
                    .at = st.column_int64(1),
                    .actor = st.column_text(2),
                    .action = st.column_text(3),
                    .target = st.column_text(4),
                    .outcome = st.column_text(5),
                    .remote = st.column_text(6),
                    .detail = st.column_text(7)};
}

// Runs a statement whose only result is the number of rows it changed.
Result<int64_t> changed_rows(Connection& c, Stmt& st) {
  BERTH_RETURN_IF_ERROR(st.run());
  return c.changes();
}

}  // namespace

// ---- Accounts ----

Result<int64_t> PgIdentityStore::create_account(const Account& account) {
  int64_t id = 0;
  BERTH_RETURN_IF_ERROR(write([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kInsertAccount));
    st.bind(1, account.name).bind(2, kind_word(account.kind)).bind(3, account.password_hash);
    st.bind(4, account.default_visibility).bind(5, int64_t{account.create_on_push ? 1 : 0});
    st.bind(6, account.created_at);
    META_TRY(row, st.step());
    if (!row) return Status(Errc::already_exists, "account name taken: " + account.name);
    id = st.column_int64(0);
    return Status::Ok();
  }));
  return id;
}

Result<std::optional<Account>> PgIdentityStore::get_account(const std::string& name) {
  std::optional<Account> account;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kGetAccount));
    st.bind(1, name);
    META_TRY(row, st.step());
    account = row ? std::optional<Account>(account_row(st)) : std::nullopt;
    return Status::Ok();
  }));
  return account;
}

Result<std::vector<Account>> PgIdentityStore::list_accounts() {
  std::vector<Account> accounts;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kListAccounts));
    return collect(st, accounts, account_row);
  }));
  return accounts;
}

Status PgIdentityStore::set_password_hash(const std::string& user, const std::string& hash) {
  return write([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kSetPasswordHash));
    st.bind(1, hash).bind(2, user);
    META_TRY(changed, changed_rows(c, st));
    if (changed == 0) return Status(Errc::not_found, "no such user: " + user);
    return Status::Ok();
  });
}

Status PgIdentityStore::set_owner_settings(const std::string& owner, const std::string& default_visibility,
                                           bool create_on_push) {
  return write([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kSetOwnerSettings));
    st.bind(1, default_visibility).bind(2, int64_t{create_on_push ? 1 : 0}).bind(3, owner);
    META_TRY(changed, changed_rows(c, st));
    if (changed == 0) return Status(Errc::not_found, "no such owner: " + owner);
    return Status::Ok();
  });
}

// ---- Org memberships ----

Status PgIdentityStore::set_membership(const std::string& org, const std::string& user, const std::string& role) {
  return write([&](Connection& c) -> Status {
    META_TRY(org_id, existing_account_id(c, org, AccountKind::org));
    META_TRY(user_id, existing_account_id(c, user, AccountKind::user));
    META_TRY(st, c.prepare(q::kUpsertMembership));
    return st.bind(1, org_id).bind(2, user_id).bind(3, role).run();
  });
}

Result<bool> PgIdentityStore::remove_membership(const std::string& org, const std::string& user) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(write([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kDeleteMembership));
    st.bind(1, org).bind(2, user);
    META_TRY(changed, changed_rows(c, st));
    removed = changed > 0;
    return Status::Ok();
  }));
  return removed;
}

Result<std::optional<std::string>> PgIdentityStore::org_role(const std::string& org, const std::string& user) {
  std::optional<std::string> role;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kOrgRole));
    st.bind(1, org).bind(2, user);
    META_TRY(r, one_text(st));
    role = std::move(r);
    return Status::Ok();
  }));
  return role;
}

Result<std::vector<Membership>> PgIdentityStore::list_members(const std::string& org) {
  std::vector<Membership> members;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kListMembers));
    st.bind(1, org);
    return collect(st, members, [](const Stmt& s) {
      return Membership{.org = s.column_text(0), .user = s.column_text(1), .role = s.column_text(2)};
    });
  }));
  return members;
}

// ---- Tokens ----

Result<int64_t> PgIdentityStore::create_token(const TokenRecord& token) {
  auto scopes = q::join_list(token.scopes, "scope");
  if (!scopes.ok()) return scopes.status();
  auto packages = q::join_list(token.packages, "package");
  if (!packages.ok()) return packages.status();
  int64_t id = 0;
  BERTH_RETURN_IF_ERROR(write([&](Connection& c) -> Status {
    META_TRY(user_id, existing_account_id(c, token.user, AccountKind::user));
    META_TRY(st, c.prepare(q::kInsertToken));
    st.bind(1, user_id).bind(2, token.hash).bind(3, token.hint).bind(4, token.name).bind(5, token.kind);
    st.bind(6, *scopes).bind(7, *packages);
    st.bind_optional(8, optional_text(token.expires_at)).bind_optional(9, optional_text(token.revoked_at));
    st.bind(10, token.created_at).bind_optional(11, optional_text(token.last_used_at));
    META_TRY(row, st.step());
    // The message leaves the hash out: it identifies a live secret.
    if (!row) return Status(Errc::already_exists, "a token with this hash already exists");
    id = st.column_int64(0);
    return Status::Ok();
  }));
  return id;
}

Result<std::optional<TokenRecord>> PgIdentityStore::find_token_by_hash(const std::string& hash) {
  std::optional<TokenRecord> token;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kTokenByHash));
    st.bind(1, hash);
    META_TRY(t, one_token(st));
    token = std::move(t);
    return Status::Ok();
  }));
  return token;
}

Result<std::optional<TokenRecord>> PgIdentityStore::get_token(int64_t id) {
  std::optional<TokenRecord> token;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kTokenById));
    st.bind(1, id);
    META_TRY(t, one_token(st));
    token = std::move(t);
    return Status::Ok();
  }));
  return token;
}

Result<std::vector<TokenRecord>> PgIdentityStore::list_tokens(const std::string& user) {
  std::vector<TokenRecord> tokens;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kTokensOfUser));
    st.bind(1, user);
    return collect(st, tokens, token_row);
  }));
  return tokens;
}

Result<bool> PgIdentityStore::revoke_token(int64_t id, int64_t now) {
  bool exists = false;
  BERTH_RETURN_IF_ERROR(write([&](Connection& c) -> Status {
    {
      META_TRY(st, c.prepare(q::kRevokeToken));
      st.bind(1, now).bind(2, id);
      META_TRY(changed, changed_rows(c, st));
      exists = changed > 0;
      if (exists) return Status::Ok();
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

Status PgIdentityStore::touch_token(int64_t id, int64_t now) {
  return write([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kTouchToken));
    st.bind(1, now).bind(2, id);
    META_TRY(changed, changed_rows(c, st));
    if (changed == 0) return Status(Errc::not_found, "no such token: " + std::to_string(id));
    return Status::Ok();
  });
}

// ---- Packages ----

Result<std::optional<std::string>> PgIdentityStore::repository_visibility(const std::string& repository) {
  std::optional<std::string> visibility;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kRepositoryVisibility));
    st.bind(1, repository);
    META_TRY(v, one_text(st));
    visibility = std::move(v);
    return Status::Ok();
  }));
  return visibility;
}

Status PgIdentityStore::set_repository_visibility(const std::string& repository, const std::string& visibility) {
  return write([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kUpsertRepositoryVisibility));
    return st.bind(1, repository).bind(2, unix_now()).bind(3, visibility).run();
  });
}

Status PgIdentityStore::set_package_role(const std::string& repository, const std::string& user,
                                         const std::string& role) {
  return write([&](Connection& c) -> Status {
    META_TRY(repo_id, existing_repository_id(c, repository));
    META_TRY(user_id, existing_account_id(c, user, AccountKind::user));
    META_TRY(st, c.prepare(q::kUpsertPackageRole));
    return st.bind(1, repo_id).bind(2, user_id).bind(3, role).run();
  });
}

Result<bool> PgIdentityStore::remove_package_role(const std::string& repository, const std::string& user) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(write([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kDeletePackageRole));
    st.bind(1, repository).bind(2, user);
    META_TRY(changed, changed_rows(c, st));
    removed = changed > 0;
    return Status::Ok();
  }));
  return removed;
}

Result<std::optional<std::string>> PgIdentityStore::package_role(const std::string& repository,
                                                                const std::string& user) {
  std::optional<std::string> role;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kPackageRole));
    st.bind(1, repository).bind(2, user);
    META_TRY(r, one_text(st));
    role = std::move(r);
    return Status::Ok();
  }));
  return role;
}

Result<std::vector<PackageRole>> PgIdentityStore::list_package_roles(const std::string& repository) {
  std::vector<PackageRole> roles;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(q::kListPackageRoles));
    st.bind(1, repository);
    return collect(st, roles, [](const Stmt& s) {
      return PackageRole{.repository = s.column_text(0), .user = s.column_text(1), .role = s.column_text(2)};
    });
  }));
  return roles;
}

// ---- Audit log ----

Status PgIdentityStore::record_audit(const AuditEvent& event) {
  return write([&](Connection& c) -> Status {
    // Readers page by id ("after_id"), which is only safe if no event ever becomes visible after one
    // with a higher id. Identity ids are drawn at INSERT and committed whenever each node's transaction
    // ends, so two nodes inserting at once could commit out of order and a tailing reader would skip
    // the late one for good. Holding this lock from before the id is drawn until COMMIT (PostgreSQL
    // releases it only once the commit is visible) makes id order the visibility order, at the price
    // of serializing audit inserts; SQLite's single writer gives the same guarantee for free.
    {
      META_TRY(lock, c.prepare("SELECT 1 FROM pg_advisory_xact_lock(?)"));
      BERTH_RETURN_IF_ERROR(lock.bind(1, kAuditLockKey).run());
    }
    META_TRY(st, c.prepare(q::kInsertAudit));
    st.bind(1, event.at).bind(2, event.actor).bind(3, event.action).bind(4, event.target);
    return st.bind(5, event.outcome).bind(6, event.remote).bind(7, event.detail).run();
  });
}

Result<std::vector<AuditEvent>> PgIdentityStore::list_audit(int64_t after_id, size_t limit,
                                                            const std::optional<std::string>& actor) {
  std::vector<AuditEvent> events;
  BERTH_RETURN_IF_ERROR(read([&](Connection& c) -> Status {
    META_TRY(st, c.prepare(actor ? q::kListAuditOfActor : q::kListAudit));
    int i = 1;
    if (actor) st.bind(i++, *actor);
    st.bind(i, after_id).bind(i + 1, to_sql(limit));
    return collect(st, events, audit_row);
  }));
  return events;
}

}  // namespace berth::meta
