// SqliteStore: the embedded default MetadataStore, one SQLite database file in WAL mode.
#pragma once

#include <filesystem>
#include <memory>

#include "meta/identity_store.h"
#include "meta/metadata_store.h"

namespace berth::meta {

class SqliteStore final : public MetadataStore {
 public:
  // Opens (creating if needed) the database and applies pending migrations.
  // Errors: io_error / unavailable when the file cannot be opened or migrated.
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& file);
  ~SqliteStore() override;

  // The identity side of the same database (same file, same connection pool); lives as long as this.
  IdentityStore& identity();

  Status ensure_repository(const std::string& name) override;
  Result<bool> repository_exists(const std::string& name) override;
  Result<std::vector<std::string>> list_repositories(const std::string& after, size_t limit) override;
  Status record_blob(const oci::Digest& digest, uint64_t size) override;
  Result<std::optional<uint64_t>> blob_size(const oci::Digest& digest) override;
  Status link_blob(const std::string& repository, const oci::Digest& digest) override;
  Result<std::optional<uint64_t>> linked_blob_size(const std::string& repository, const oci::Digest& digest) override;
  Result<bool> unlink_blob(const std::string& repository, const oci::Digest& digest) override;
  Status create_upload(const UploadRecord& upload) override;
  Result<std::optional<UploadRecord>> get_upload(const std::string& id) override;
  Status advance_upload(const std::string& id, uint64_t expected_offset, uint64_t new_offset,
                        const std::string& hash_state, const std::string& storage_state, int64_t now) override;
  Status delete_upload(const std::string& id) override;
  Result<std::vector<UploadRecord>> uploads_idle_since(int64_t before) override;
  Status put_manifest(const ManifestRecord& manifest, const ManifestRefs& refs, const std::optional<std::string>& tag,
                      int64_t now) override;
  Result<std::optional<ManifestRecord>> get_manifest(const std::string& repository, const oci::Digest& digest) override;
  Result<std::optional<ManifestRecord>> get_manifest_by_tag(const std::string& repository,
                                                            const std::string& tag) override;
  Result<bool> delete_manifest(const std::string& repository, const oci::Digest& digest) override;
  Result<bool> delete_tag(const std::string& repository, const std::string& tag) override;
  Result<std::vector<std::string>> list_tags(const std::string& repository, const std::string& after,
                                             size_t limit) override;
  Result<std::vector<Referrer>> list_referrers(const std::string& repository, const oci::Digest& subject,
                                               const std::optional<std::string>& artifact_type) override;

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::meta
