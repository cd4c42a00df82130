// PgIdentityStore: IdentityStore on the PostgreSQL database of a PgStore, so that every node of a fleet
// sees the same users, orgs, tokens, package roles and audit log.
//
// Not opened on its own: PgStore owns one (PgStore::identity()) that runs its work through PgStore's
// connection pool and transaction/retry loop, so both interfaces share one set of connections, one
// schema version and one retry policy, and a repository created through either is the same row.
#pragma once

#include <functional>

#include "meta/identity_store.h"

namespace berth::meta {

namespace pg {
class Connection;
}

class PgIdentityStore final : public IdentityStore {
 public:
  // Runs `body` on a pooled connection: inside BEGIN ... COMMIT when `write`, and again from the start
  // when PostgreSQL aborted it for a reason a rerun cures (so `body` must reset what it outputs).
  using Body = std::function<Status(pg::Connection&)>;
  using Transact = std::function<Status(bool write, const Body& body)>;

  // `transact` must run against a database migrated to at least version 2 and outlive this store.
  explicit PgIdentityStore(Transact transact) : transact_(std::move(transact)) {}

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

  // Audit ids become visible in increasing order across the fleet (see the .cc), so a reader paging
  // with after_id never skips an event that commits late.
  Status record_audit(const AuditEvent& event) override;
  Result<std::vector<AuditEvent>> list_audit(int64_t after_id, size_t limit,
                                             const std::optional<std::string>& actor) override;

 private:
  Status read(const Body& body) { return transact_(false, body); }
  Status write(const Body& body) { return transact_(true, body); }

  Transact transact_;
};

}  // namespace berth::meta
