// The registry's rules: what a push, a pull, a tag, a delete, a mount or a referrers query means, and
// which spec error applies when one is refused. The same rules serve /v2, and later the package API and
// the UI. Knows nothing of HTTP: inputs are validated names/digests, outputs are values or Status.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "common/hasher.h"
#include "common/status.h"
#include "meta/metadata_store.h"
#include "oci/digest.h"
#include "oci/manifest.h"
#include "oci/name.h"
#include "registry/image_info.h"
#include "storage/blob_store.h"

namespace berth::registry {

struct RegistryOptions {
  int64_t upload_expire_after_seconds = 24 * 3600;  // idle uploads older than this are removed
  // > 0: blob downloads are redirected to a presigned object-storage URL valid this long (when the
  // store offers one), so blob bytes do not flow through the registry.
  int64_t redirect_blobs_seconds = 0;
  // The garbage collector's grace period (docs/lifecycle.md): a read of a blob older than a quarter of it
  // refreshes the blob's last_seen_at. 0: reads refresh nothing.
  int64_t gc_grace_seconds = 3600;
  // Sessions that never received a byte are removed once idle this long (a client that opens sessions
  // and leaves them should not keep them a day).
  int64_t empty_upload_expire_after_seconds = 600;
  meta::UploadLimits upload_limits{100, 200};  // open sessions per opener and per client address
};

struct UploadState {
  std::string id;
  std::string repository;
  uint64_t offset = 0;  // bytes received so far
};

struct PutManifestResult {
  oci::Digest digest;
  std::optional<oci::Digest> subject;
};

struct Page {
  std::vector<std::string> items;
  bool more = false;  // another page follows
};

class Registry;

// Marks an upload as being written by this node until destroyed (or release()d), so that two requests,
// or a request and the expiry sweeper, never touch the same upload at once. Empty when the claim failed.
class UploadClaim {
 public:
  UploadClaim() = default;
  UploadClaim(UploadClaim&& other) noexcept : registry_(std::exchange(other.registry_, nullptr)), id_(std::move(other.id_)) {}
  UploadClaim& operator=(UploadClaim&& other) noexcept;
  ~UploadClaim() { release(); }
  explicit operator bool() const { return registry_ != nullptr; }
  void release();

 private:
  friend class Registry;
  UploadClaim(Registry* registry, std::string id) : registry_(registry), id_(std::move(id)) {}
  Registry* registry_ = nullptr;
  std::string id_;
};

// Appends one request's bytes to an upload, hashing them on the way. Obtained from
// Registry::begin_append; finish() must be called exactly once (also when the client went away, so
// that what did arrive is kept and the upload can be resumed).
class UploadAppender {
 public:
  ~UploadAppender();
  Status write(const char* data, size_t len);
  uint64_t offset() const { return offset_; }
  // Persists what was written; returns the upload's new state.
  Result<UploadState> finish();

 private:
  friend class Registry;
  UploadAppender(Registry& registry, UploadClaim claim, meta::UploadRecord record, std::unique_ptr<Hasher> hasher,
                 std::unique_ptr<storage::UploadWriter> writer);
  Registry& registry_;
  UploadClaim claim_;
  meta::UploadRecord record_;
  std::unique_ptr<Hasher> hasher_;
  std::unique_ptr<storage::UploadWriter> writer_;
  uint64_t offset_;
  Status write_error_;
  int64_t touched_at_;  // when the upload's updated_at was last set (Registry clock)
};

class Registry {
 public:
  using Clock = std::function<int64_t()>;  // Unix seconds
  Registry(storage::BlobStore& blobs, meta::MetadataStore& meta, RegistryOptions options, Clock clock = {});

  // ---- Blobs ----
  // Size of a blob the repository may serve; blob_unknown otherwise.
  Result<uint64_t> blob_size(const std::string& repository, const oci::Digest& digest);
  Result<storage::OpenBlob> open_blob(const std::string& repository, const oci::Digest& digest, uint64_t offset,
                                      uint64_t length);
  // Where to redirect a download of the blob, if redirects are on and the store offers them.
  std::optional<std::string> blob_redirect(const oci::Digest& digest);
  // Unlinks the blob from the repository (bytes are reclaimed by garbage collection); blob_unknown.
  Status delete_blob(const std::string& repository, const oci::Digest& digest);
  // Cross-repository mount. `from` empty: any repository (the spec's automatic content discovery).
  // True when mounted; false when the blob is not available there (the caller starts an upload instead).
  Result<bool> mount_blob(const std::string& repository, const oci::Digest& digest, const std::string& from);

  // ---- Uploads ----
  // `opener` (the actor) and `address` (the client's) count against RegistryOptions::upload_limits:
  // too_many_requests over them. Empty: not counted.
  Result<UploadState> start_upload(const std::string& repository, const std::string& opener = {},
                                   const std::string& address = {});
  // blob_upload_unknown for an unknown id or an id of another repository.
  Result<UploadState> upload_status(const std::string& repository, const std::string& id);
  // Opens an append at the upload's current offset. Only one append per upload at a time
  // (blob_upload_invalid for a second one).
  Result<std::unique_ptr<UploadAppender>> begin_append(const std::string& repository, const std::string& id);
  // Verifies the digest of everything received, publishes the blob and links it to the repository.
  // digest_invalid (and the upload is discarded) when the bytes do not match.
  Result<uint64_t> complete_upload(const std::string& repository, const std::string& id, const oci::Digest& digest);
  Status cancel_upload(const std::string& repository, const std::string& id);
  // Removes uploads idle for longer than the configured expiry. Returns how many. Safe with several nodes
  // sharing the metadata store: an upload that a request is writing to, on any node, is not idle (the
  // appender refreshes its updated_at every activity_refresh_seconds()), and the removal is conditional on
  // the upload still being idle.
  size_t expire_uploads();
  // How often a long append refreshes the upload's updated_at: a quarter of the expiry, at least 1 s.
  int64_t activity_refresh_seconds() const;
  size_t uploads_in_progress() const;

  // ---- Manifests, tags, referrers ----
  Result<PutManifestResult> put_manifest(const std::string& repository, const oci::Reference& reference,
                                         const std::string& content_type, const std::string& body);
  // manifest_unknown when absent.
  Result<meta::ManifestRecord> get_manifest(const std::string& repository, const oci::Reference& reference);
  // By tag: only the tag. By digest: a soft delete of the manifest's version (docs/packages.md);
  // manifest_unknown when absent, denied when a live index lists the manifest.
  Status delete_manifest(const std::string& repository, const oci::Reference& reference);
  // Changes whenever a tag of `repository` is added, moved or removed, on any node; name_unknown for a
  // repository that does not exist. Equal versions mean equal tag lists (for caches of rendered lists).
  // Also the existence check of a tag listing: list_tags does not repeat it.
  Result<int64_t> tag_version(const std::string& repository);
  // The tags of a repository tag_version() found; an unknown repository simply has none.
  Result<Page> list_tags(const std::string& repository, const std::string& after, size_t limit);
  Result<Page> list_repositories(const std::string& after, size_t limit);
  Result<std::vector<meta::Referrer>> referrers(const std::string& repository, const oci::Digest& subject,
                                                const std::optional<std::string>& artifact_type);

  meta::MetadataStore& metadata() { return meta_; }

 private:
  friend class UploadAppender;
  friend class UploadClaim;
  int64_t now() const;
  Result<meta::UploadRecord> find_upload(const std::string& repository, const std::string& id);
  // The hash of everything the upload holds: restored from its saved state when that is possible,
  // otherwise computed again by reading the upload back.
  Result<std::unique_ptr<Hasher>> hasher_for(const meta::UploadRecord& record, HashAlgorithm algorithm);
  void discard_upload(const meta::UploadRecord& record);
  // Description, source and licence of a top-level manifest, from its annotations and its (first
  // platform's) config labels.
  ImageInfo describe_image(const std::string& repository, const oci::ParsedManifest& manifest);
  // A blob's bytes when it is small (an image config); nullopt when larger or unreadable.
  std::optional<std::string> read_small_blob(const oci::Digest& digest, uint64_t size);
  UploadClaim claim(const std::string& id);

  storage::BlobStore& blobs_;
  meta::MetadataStore& meta_;
  RegistryOptions options_;
  Clock clock_;
  mutable std::mutex busy_mu_;
  std::set<std::string> busy_uploads_;  // uploads with an append or commit in progress on this node
};

}  // namespace berth::registry
