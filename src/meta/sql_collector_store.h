// SqlCollectorStore: the CollectorStore methods written once for every SQL driver, as SqlPackageStore is
// for PackageStore (bodies in sql_collector_store_impl.h, statements in collector_queries.h).
//
// Internal to meta/: other modules see CollectorStore, through SqliteStore / PgStore::collector().
#pragma once

#include "meta/collector_store.h"

namespace berth::meta {

template <class Pool>
class SqlCollectorStore final : public CollectorStore {
 public:
  // `pool` must be migrated to at least version 6 and outlive this store.
  explicit SqlCollectorStore(Pool& pool) : pool_(pool) {}

  Result<bool> acquire_lease(const std::string& name, const std::string& holder, int64_t now,
                             int64_t ttl_seconds) override;
  Result<bool> take_over_lease(const std::string& name, const std::string& from, const std::string& holder,
                               int64_t now, int64_t ttl_seconds) override;
  Status release_lease(const std::string& name, const std::string& holder) override;
  Result<std::optional<LeaseHolder>> lease_holder(const std::string& name, int64_t now) override;
  Result<std::string> lease_progress(const std::string& name) override;
  Status save_lease_progress(const std::string& name, const std::string& holder, const std::string& progress) override;
  Result<std::vector<BlobEntry>> scan_blobs(const std::string& after, size_t limit) override;
  Result<std::optional<BlobEntry>> blob_entry(const oci::Digest& digest) override;
  Result<std::vector<BlobEntry>> blobs_in_state(BlobState state, size_t limit) override;
  Result<std::vector<oci::Digest>> mark_for_deletion(const std::vector<oci::Digest>& digests, int64_t seen_before,
                                                     int64_t pending_before) override;
  Result<bool> claim_orphan(const oci::Digest& digest, uint64_t size, int64_t now) override;
  Status forget_blobs(const std::vector<oci::Digest>& digests) override;
  Result<std::vector<LinkEntry>> scan_links(int64_t after_repository, const std::string& after_digest,
                                            size_t limit) override;
  Result<bool> remove_unused_link(int64_t repository_id, const oci::Digest& digest, int64_t before) override;
  Result<bool> begin_repair(const oci::Digest& digest) override;
  Result<bool> end_repair(const oci::Digest& digest) override;
  Result<std::vector<BlobUse>> uses_of(const oci::Digest& digest, size_t limit) override;

 private:
  template <class Body>
  Status read(Body&& body);
  template <class Body>
  Status write(Body&& body);

  Pool& pool_;
};

}  // namespace berth::meta
