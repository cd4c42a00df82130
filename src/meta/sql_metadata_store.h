// SqlMetadataStore: the MetadataStore methods written once for every SQL driver. SqliteStore and
// PgStore derive from it and add only what differs: how they connect, pool and migrate.
//
// `Pool` is the driver's connection pool (sqlite::Pool, pg::Pool). The bodies, in
// sql_metadata_store_impl.h, run their statements through the driver's transact(pool, write, body),
// which owns the transaction and retry rules; the statements are the shared texts of queries.h. Each
// driver's .cc instantiates the template once (see the extern declarations in sqlite_store.h and
// pg_store.h), so this header needs neither driver's API.
//
// Internal to meta/: other modules see SqliteStore and PgStore.
#pragma once

#include <string_view>

#include "meta/metadata_store.h"

namespace berth::meta {

template <class Pool>
class SqlMetadataStore : public MetadataStore {
 public:
  Status ensure_repository(const std::string& name) override;
  Result<bool> repository_exists(const std::string& name) override;
  Result<std::vector<std::string>> list_repositories(const std::string& after, size_t limit) override;
  Status record_blob(const oci::Digest& digest, uint64_t size) override;
  Result<BlobWrite> begin_blob_write(const oci::Digest& digest, uint64_t size, int64_t now) override;
  Status publish_blob(const std::string& repository, const oci::Digest& digest, int64_t now) override;
  Result<std::optional<uint64_t>> blob_size(const oci::Digest& digest) override;
  Status link_blob(const std::string& repository, const oci::Digest& digest) override;
  Result<std::optional<LinkedBlob>> linked_blob(const std::string& repository, const oci::Digest& digest) override;
  Status touch_blob(const oci::Digest& digest, int64_t now, int64_t older_than) override;
  Result<bool> unlink_blob(const std::string& repository, const oci::Digest& digest) override;
  Status create_upload(const UploadRecord& upload, const UploadLimits& limits = {}) override;
  Result<std::optional<UploadRecord>> get_upload(const std::string& id) override;
  Status advance_upload(const std::string& id, uint64_t expected_offset, uint64_t new_offset,
                        const std::string& hash_state, const std::string& storage_state, int64_t now) override;
  Status delete_upload(const std::string& id) override;
  Result<bool> touch_upload(const std::string& id, int64_t now) override;
  Result<std::vector<UploadRecord>> uploads_idle_since(int64_t before) override;
  Result<std::vector<UploadRecord>> empty_uploads_idle_since(int64_t before) override;
  Result<bool> delete_upload_if_idle(const std::string& id, int64_t before) override;
  Status put_manifest(const ManifestRecord& manifest, const ManifestRefs& refs, const std::optional<std::string>& tag,
                      int64_t now) override;
  Result<std::optional<ManifestRecord>> get_manifest(const std::string& repository, const oci::Digest& digest) override;
  Result<std::optional<ManifestRecord>> get_manifest_by_tag(const std::string& repository,
                                                            const std::string& tag) override;
  Result<bool> manifest_exists(const std::string& repository, const oci::Digest& digest) override;
  Result<ManifestDeletion> delete_manifest(const std::string& repository, const oci::Digest& digest,
                                           int64_t now) override;
  Result<bool> delete_tag(const std::string& repository, const std::string& tag) override;
  Result<std::optional<int64_t>> tag_version(const std::string& repository) override;
  Result<std::vector<std::string>> list_tags(const std::string& repository, const std::string& after,
                                             size_t limit) override;
  Result<std::vector<Referrer>> list_referrers(const std::string& repository, const oci::Digest& subject,
                                               const std::optional<std::string>& artifact_type) override;

 protected:
  // `pool` must be migrated and outlive this object.
  explicit SqlMetadataStore(Pool& pool) : pool_(pool) {}

 private:
  Result<std::vector<UploadRecord>> uploads_where(std::string_view query, int64_t before);
  template <class Body>
  Status read(Body&& body);
  template <class Body>
  Status write(Body&& body);

  Pool& pool_;
};

}  // namespace berth::meta
