// SqlIdentityStore: the IdentityStore methods written once for every SQL driver, as SqlMetadataStore
// is for MetadataStore. SqliteIdentityStore and PgIdentityStore derive from it and add only what
// differs (PostgreSQL orders audit inserts across the fleet).
//
// `Pool` is the driver's connection pool (sqlite::Pool, pg::Pool); the bodies, in
// sql_identity_store_impl.h, run the shared texts of identity_queries.h through the driver's
// transact(pool, write, body). Each driver's .cc instantiates the template once.
//
// Internal to meta/: other modules see IdentityStore, through SqliteStore / PgStore::identity().
#pragma once

#include "meta/identity_store.h"

namespace berth::meta {

template <class Pool>
class SqlIdentityStore : public IdentityStore {
 public:
  Result<int64_t> create_account(const Account& account) override;
  Result<std::optional<Account>> get_account(const std::string& name) override;
  Result<std::vector<Account>> list_accounts() override;
  Status set_password_hash(const std::string& user, const std::string& hash) override;
  Status set_owner_settings(const std::string& owner, const std::string& default_visibility,
                            bool create_on_push) override;

  Status set_membership(const std::string& org, const std::string& user, const std::string& role) override;
  Result<bool> remove_membership(const std::string& org, const std::string& user) override;
  Result<std::optional<std::string>> org_role(const std::string& org, const std::string& user) override;
  Result<std::vector<Membership>> list_members(const std::string& org) override;

  Result<int64_t> create_team(const std::string& org, const std::string& name, int64_t now) override;
  Result<bool> delete_team(const std::string& org, const std::string& name) override;
  Result<std::vector<Team>> list_teams(const std::string& org) override;
  Status add_team_member(const std::string& org, const std::string& team, const std::string& user) override;
  Result<bool> remove_team_member(const std::string& org, const std::string& team, const std::string& user) override;
  Result<std::vector<std::string>> list_team_members(const std::string& org, const std::string& team) override;
  Status set_team_package_role(const std::string& org, const std::string& team, const std::string& repository,
                               const std::string& role) override;
  Result<bool> remove_team_package_role(const std::string& org, const std::string& team,
                                        const std::string& repository) override;
  Result<std::vector<TeamPackageRole>> list_team_package_roles(const std::string& repository) override;

  Result<int64_t> create_token(const TokenRecord& token) override;
  Result<std::optional<TokenRecord>> find_token_by_hash(const std::string& hash) override;
  Result<std::optional<TokenRecord>> get_token(int64_t id) override;
  Result<std::vector<TokenRecord>> list_tokens(const std::string& user) override;
  Result<bool> revoke_token(int64_t id, int64_t now) override;
  Status touch_token(int64_t id, int64_t now) override;

  Result<std::optional<std::string>> repository_visibility(const std::string& repository) override;
  Status set_repository_visibility(const std::string& repository, const std::string& visibility) override;
  Status set_package_role(const std::string& repository, const std::string& user, const std::string& role) override;
  Result<bool> remove_package_role(const std::string& repository, const std::string& user) override;
  Result<std::optional<std::string>> package_role(const std::string& repository, const std::string& user) override;
  Result<std::vector<PackageRole>> list_package_roles(const std::string& repository) override;

  Result<AccessFacts> access_facts(const std::string& repository, const std::string& owner,
                                   const std::string& user) override;
  Result<int64_t> revocation_epoch(const std::string& user) override;
  Result<std::vector<RepositoryFacts>> readable_candidates(const std::string& after, size_t limit,
                                                           const std::string& user) override;

  // Inserts the event in its own write transaction. Audit ids must become visible in increasing order
  // (readers page with after_id): true of SQLite's single writer; PgIdentityStore overrides this.
  Status record_audit(const AuditEvent& event) override;
  Result<std::vector<AuditEvent>> list_audit(int64_t after_id, size_t limit,
                                             const std::optional<std::string>& actor) override;

 protected:
  // `pool` must be migrated to at least version 2 and outlive this store.
  explicit SqlIdentityStore(Pool& pool) : pool_(pool) {}
  Pool& pool() const { return pool_; }

 private:
  template <class Body>
  Status read(Body&& body);
  template <class Body>
  Status write(Body&& body);

  Pool& pool_;
};

}  // namespace berth::meta
