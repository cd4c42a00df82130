// SqlPackageStore: the PackageStore methods written once for every SQL driver, as SqlMetadataStore is for
// MetadataStore. `Pool` is the driver's connection pool; the bodies (sql_package_store_impl.h) run the
// shared texts of package_queries.h and the version rules of versions_impl.h through the driver's
// transact(pool, write, body). SqliteStore and PgStore each own one over their pool.
//
// Internal to meta/: other modules see PackageStore, through SqliteStore / PgStore::packages().
#pragma once

#include "meta/package_store.h"

namespace berth::meta {

template <class Pool>
class SqlPackageStore final : public PackageStore {
 public:
  // `pool` must be migrated to at least version 4 and outlive this store.
  explicit SqlPackageStore(Pool& pool) : pool_(pool) {}

  Result<Listing<PackageRecord>> list_packages(const std::string& owner, const PackageFilter& filter,
                                               uint64_t offset, uint64_t limit) override;
  Result<std::optional<PackageRecord>> get_package(const std::string& name) override;
  Result<bool> delete_package(const std::string& name, int64_t now) override;
  Status restore_package(const std::string& name, int64_t now) override;
  Result<Listing<VersionRecord>> list_versions(const std::string& package, VersionState state, uint64_t offset,
                                               uint64_t limit) override;
  Result<std::optional<VersionRecord>> get_version(const std::string& package, int64_t id) override;
  Result<bool> delete_version(const std::string& package, int64_t id, int64_t now) override;
  Result<RestoreResult> restore_version(const std::string& package, int64_t id, int64_t now) override;
  Result<uint64_t> owner_size(const std::string& owner) override;
  Status add_downloads(const std::vector<DownloadCount>& counts) override;
  Result<PurgeStats> purge(int64_t cutoff, uint64_t limit) override;
  Result<int64_t> add_tag_rule(const std::string& owner, const std::optional<std::string>& package,
                               const std::string& pattern, const std::string& created_by, int64_t now) override;
  Result<bool> remove_tag_rule(const std::string& owner, int64_t id) override;
  Result<std::vector<TagRule>> list_tag_rules(const std::string& owner) override;
  Status set_semver_policy(const std::string& package, SemverPolicy policy) override;
  Result<SemverPolicy> semver_policy(const std::string& package) override;
  Result<TagProtection> tag_protection(const std::string& package) override;
  Status set_retention(const std::string& owner, const std::optional<std::string>& package,
                       const std::string& policy_json, const std::string& updated_by, int64_t now) override;
  Result<bool> clear_retention(const std::string& owner, const std::optional<std::string>& package) override;
  Result<std::optional<RetentionRecord>> retention_of(const std::string& owner,
                                                      const std::optional<std::string>& package) override;
  Result<std::optional<RetentionRecord>> effective_retention(const std::string& package) override;
  Result<std::vector<std::string>> packages_under_retention(const std::string& after, size_t limit) override;
  Status set_quota(const std::string& owner, const std::optional<std::string>& package,
                   std::optional<uint64_t> limit_bytes) override;
  Result<std::vector<QuotaRecord>> quotas(const std::string& owner) override;

  // Builds the versions of repositories whose manifests predate the package model (migration 4); run
  // once when the store opens. Returns how many repositories it built.
  Result<size_t> build_missing_versions();

 private:
  template <class Body>
  Status read(Body&& body);
  template <class Body>
  Status write(Body&& body);

  Pool& pool_;
};

}  // namespace berth::meta
