// IdentityStore: who may do what — accounts (users and organizations), org memberships, teams, access
// tokens (stored only as hashes), package visibility and roles, owner settings, and the audit log.
//
// Kept apart from MetadataStore (registry content) because it changes for different reasons; both are
// implemented over the same database by each driver (SqliteIdentityStore shares SqliteStore's file).
//
// Contract common to all methods (as MetadataStore): thread safe; names validated by the caller;
// nullopt/false for "absent"; non-ok Status when the store itself fails, or where stated.
// Times are Unix seconds, always given by the caller (created_at included) and stored as given, except
// where the store creates a repository itself. Roles and visibilities are the lowercase words given
// below; the caller validates them too (the store keeps whatever word it is given).
// Where a method names a user or an org, an account of the other kind counts as absent (not_found /
// nullopt / false / empty as the method says): orgs have no password, hold no tokens or package roles
// and are not members; users have no members or teams. Lists for an absent owner, team or repository
// are empty.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::meta {

enum class AccountKind { user, org };

struct Account {
  int64_t id = 0;  // assigned by the store
  std::string name;
  AccountKind kind = AccountKind::user;
  std::string password_hash;                  // argon2id string (users), empty when no password is set
  std::string default_visibility = "private"; // of packages created under this owner: "private" | "public"
  bool create_on_push = true;                 // false: packages must be created before the first push
  int64_t created_at = 0;
};

struct Membership {
  std::string org;
  std::string user;
  std::string role;  // "member" | "admin"
};

struct TokenRecord {
  int64_t id = 0;  // assigned by the store
  std::string user;
  std::string hash;    // SHA-256 hex of the whole secret; the secret itself is never stored
  std::string hint;    // the first characters, to recognise a token in listings
  std::string name;    // free text given at creation
  std::string kind;    // "pat" | "ci"
  std::vector<std::string> scopes;    // "read:packages", "write:packages", "delete:packages"
  std::vector<std::string> packages;  // CI tokens: the repositories it is limited to
  std::optional<int64_t> expires_at;
  std::optional<int64_t> revoked_at;
  int64_t created_at = 0;
  std::optional<int64_t> last_used_at;
};

struct PackageRole {
  std::string repository;
  std::string user;
  std::string role;  // "read" | "write" | "admin"
};

// Everything an authorization decision about one user and one package needs (auth::AccessControl),
// read by access_facts() in one statement, so the parts are consistent with each other.
struct Team {
  int64_t id = 0;  // assigned by the store
  std::string org;
  std::string name;  // unique within its org
  int64_t created_at = 0;
};

struct TeamPackageRole {
  std::string repository;
  std::string org;
  std::string team;
  std::string role;  // "read" | "write" | "admin"
};

struct AccessFacts {
  std::optional<std::string> visibility;   // of the repository; nullopt when it does not exist
  std::optional<AccountKind> owner_kind;   // nullopt when no account has the owner's name
  bool owner_create_on_push = true;        // the owner's settings; defaults when there is no owner
  std::string owner_default_visibility = "private";
  std::optional<std::string> org_role;     // the user's membership role in the owner (an org)
  std::optional<std::string> package_role; // the user's role on the repository (when it exists)
  // The highest role ("admin" > "write" > "read"; other words rank below "read") that a team of the owner
  // org the user belongs to holds on the repository; nullopt when none does.
  std::optional<std::string> team_role;
};

struct AuditEvent {
  int64_t id = 0;  // assigned by the store, increasing
  int64_t at = 0;
  std::string actor;    // user name, "ci:<user>", or "anonymous"
  std::string action;   // e.g. "push", "delete", "token.create", "login"
  std::string target;   // e.g. repository[:reference], user name
  std::string outcome;  // "allowed" | "denied" | "failed"
  std::string remote;   // client address
  std::string detail;
};

struct RepositoryFacts {
  std::string repository;
  AccessFacts facts;
};

class IdentityStore {
 public:
  virtual ~IdentityStore() = default;

  // ---- Accounts (users and organizations share one namespace: the owner part of repository names) ----
  // already_exists if the name is taken (by a user or an org). account.id is ignored.
  virtual Result<int64_t> create_account(const Account& account) = 0;
  virtual Result<std::optional<Account>> get_account(const std::string& name) = 0;
  virtual Result<std::vector<Account>> list_accounts() = 0;  // sorted by name
  // not_found if absent (for set_password_hash: or an org).
  virtual Status set_password_hash(const std::string& user, const std::string& hash) = 0;
  virtual Status set_owner_settings(const std::string& owner, const std::string& default_visibility,
                                    bool create_on_push) = 0;

  // ---- Org memberships ----
  // Inserts or changes the role. not_found if the org or user does not exist.
  virtual Status set_membership(const std::string& org, const std::string& user, const std::string& role) = 0;
  // Also takes the user out of the org's teams, in the same transaction: teams hold org members only, and
  // joining the org again does not bring back the team rights the user had.
  virtual Result<bool> remove_membership(const std::string& org, const std::string& user) = 0;
  virtual Result<std::optional<std::string>> org_role(const std::string& org, const std::string& user) = 0;
  virtual Result<std::vector<Membership>> list_members(const std::string& org) = 0;  // sorted by user

  // ---- Teams (of an org: members of the org, and roles on packages of the org) ----
  // not_found if the org does not exist; already_exists if the org has a team of that name.
  virtual Result<int64_t> create_team(const std::string& org, const std::string& name, int64_t now) = 0;
  // Removes the team with its memberships and package roles; false if there is no such team.
  virtual Result<bool> delete_team(const std::string& org, const std::string& name) = 0;
  virtual Result<std::vector<Team>> list_teams(const std::string& org) = 0;  // sorted by name
  // Adding a member twice is no error. not_found if the org, team or user does not exist, or the user
  // is not a member of the org.
  virtual Status add_team_member(const std::string& org, const std::string& team, const std::string& user) = 0;
  virtual Result<bool> remove_team_member(const std::string& org, const std::string& team,
                                          const std::string& user) = 0;
  virtual Result<std::vector<std::string>> list_team_members(const std::string& org,
                                                             const std::string& team) = 0;  // sorted
  // Inserts or changes the team's role on the repository. not_found if the org, team or repository does
  // not exist (nothing is created); invalid_argument if the repository is not the org's (its name does
  // not start with "<org>/"): only the owner's teams count for a package.
  virtual Status set_team_package_role(const std::string& org, const std::string& team,
                                       const std::string& repository, const std::string& role) = 0;
  virtual Result<bool> remove_team_package_role(const std::string& org, const std::string& team,
                                                const std::string& repository) = 0;
  virtual Result<std::vector<TeamPackageRole>> list_team_package_roles(
      const std::string& repository) = 0;  // by team name

  // ---- Tokens ----
  // not_found if the user does not exist; already_exists on a hash collision. Every field but id is
  // stored as given. invalid_argument if a scopes or packages entry is empty or contains ',' (drivers
  // may store each list as one comma-separated column).
  virtual Result<int64_t> create_token(const TokenRecord& token) = 0;
  // Revoked and expired tokens are returned too: judging them is the caller's job.
  virtual Result<std::optional<TokenRecord>> find_token_by_hash(const std::string& hash) = 0;
  virtual Result<std::optional<TokenRecord>> get_token(int64_t id) = 0;
  virtual Result<std::vector<TokenRecord>> list_tokens(const std::string& user) = 0;  // by id
  // Sets revoked_at if not yet revoked (a second call keeps the first time and still returns true);
  // false if no such token.
  virtual Result<bool> revoke_token(int64_t id, int64_t now) = 0;
  // Sets last_used_at to now (even if earlier than the stored value, or the token is revoked).
  // not_found if no such token. Takes the write lock: callers may want to throttle it.
  virtual Status touch_token(int64_t id, int64_t now) = 0;

  // ---- Packages (repositories): visibility and per-user roles ----
  // nullopt when the repository does not exist.
  virtual Result<std::optional<std::string>> repository_visibility(const std::string& repository) = 0;
  // Repositories created by MetadataStore (ensure_repository, pushes) start "private"; applying an
  // owner's default_visibility is the caller's job, through set_repository_visibility.
  // Creates the repository with this visibility if it does not exist; otherwise changes it.
  virtual Status set_repository_visibility(const std::string& repository, const std::string& visibility) = 0;
  // Inserts or changes the role. not_found if the repository or user does not exist (nothing is created).
  virtual Status set_package_role(const std::string& repository, const std::string& user, const std::string& role) = 0;
  virtual Result<bool> remove_package_role(const std::string& repository, const std::string& user) = 0;
  virtual Result<std::optional<std::string>> package_role(const std::string& repository, const std::string& user) = 0;
  virtual Result<std::vector<PackageRole>> list_package_roles(const std::string& repository) = 0;  // by user

  // ---- Authorization ----
  // What repository_visibility(repository), get_account(owner), org_role(owner, user),
  // package_role(repository, user) and the user's teams' roles on the repository would say, in one read. `owner` is the repository's owner (the
  // first path component, given by the caller); `user` may be empty (anonymous: no roles). org_role is
  // nullopt unless the owner is an org the user belongs to.
  virtual Result<AccessFacts> access_facts(const std::string& repository, const std::string& owner,
                                           const std::string& user) = 0;

  // The user's revocation epoch: a number that grows whenever the user loses a right they had (a token
  // revoked, a role removed or lowered, a membership or team ended) or any package stops being public.
  // A bearer JWT records it when issued; one whose number is no longer current is refused. `user` empty:
  // anonymous (only the registry-wide part).
  virtual Result<int64_t> revocation_epoch(const std::string& user) = 0;

  // For the catalog: repositories after `after` in name order that `user` (empty: anonymous) may be able
  // to read — public ones, those of the user's namespace, of orgs the user belongs to, and those the user
  // has a package role on — each with its access_facts, at most `limit`, in one read. A superset of what
  // the user may pull: the caller decides from the facts.
  virtual Result<std::vector<RepositoryFacts>> readable_candidates(const std::string& after, size_t limit,
                                                                   const std::string& user) = 0;

  // ---- Audit log ----
  // event.id is ignored: the store assigns the next one.
  virtual Status record_audit(const AuditEvent& event) = 0;
  // Events with id > after_id, oldest first, at most limit; optionally only one actor (exact match).
  // To page, pass the last id received as the next after_id (0 to start).
  virtual Result<std::vector<AuditEvent>> list_audit(int64_t after_id, size_t limit,
                                                     const std::optional<std::string>& actor) = 0;
};

}  // namespace berth::meta
