// MetadataStore: everything the registry knows that is not blob bytes.
//
// Implementations: SqliteStore (sqlite_store.h, the default) and, later, a PostgreSQL store. Both share
// the schema and its versioned migrations (migrations.h) and pass the suite in
// tests/unit/meta_store_suite.h.
//
// Contract common to all methods:
// - Names, tags and digests are already validated by the caller (oci/).
// - Thread safety: every method may be called concurrently from any thread.
// - Multi-row changes (put_manifest, delete_manifest) are atomic: all or nothing.
// - Methods that look something up return std::nullopt / false for "absent"; a non-ok status means the
//   store itself failed (io_error, unavailable) or, where stated, a conflict.
// - Times are Unix seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "oci/digest.h"

namespace berth::meta {

struct UploadRecord {
  std::string id;
  std::string repository;
  uint64_t offset = 0;        // bytes received so far
  std::string hash_state;     // Hasher::save() of the bytes so far (opaque)
  std::string storage_state;  // BlobStore's opaque upload state
  int64_t started_at = 0;
  int64_t updated_at = 0;
  // Who opened it (the actor, e.g. "alice" or "ci:alice") and from which client address: for the caps on
  // open sessions (UploadLimits). Written by create_upload, not read back.
  std::string opened_by;
  std::string opened_from;
};

// Caps on the sessions open at once, counted in the store (so in a fleet across every node); 0: none.
struct UploadLimits {
  size_t per_opener = 0;
  size_t per_address = 0;
};

struct ManifestRecord {
  std::string repository;
  oci::Digest digest;
  std::string media_type;
  std::optional<std::string> artifact_type;
  std::string content;  // the exact bytes pushed
  std::optional<oci::Digest> subject;
  std::string annotations_json;  // top-level annotations (compact JSON) for the referrers API, or empty
  int64_t created_at = 0;
  // What the packages API shows of a version whose top-level manifest this is (empty when unknown):
  // the image's description, source repository URL and licence expression.
  std::string description;
  std::string source;
  std::string licenses;
  // A manifest without a subject that belongs to another one all the same: a signature, attestation or
  // SBOM that an older client (cosign, containers/image's sigstore attachments) stores under the tag
  // `sha256-<hex>.sig|.att|.sbom` of that manifest. It then joins that manifest's version as a referrer
  // would (it is no version of its own), and is not listed by the referrers API, which is for subjects.
  // Ignored unless that manifest is live in the repository.
  std::optional<oci::Digest> attached_to;
};

// What a delete of a manifest by digest did (MetadataStore::delete_manifest).
struct ManifestDeletion {
  enum class Outcome {
    absent,    // no live manifest with this digest
    deleted,   // soft-deleted: its whole version when it was a version's top-level manifest
    refused,   // a live index lists it: `listed_by` names one; nothing changed
  };
  Outcome outcome = Outcome::absent;
  std::optional<oci::Digest> listed_by;
};

// What a manifest references: kept so that pushes can be validated and garbage collection can tell what
// is still in use.
struct ManifestRefs {
  std::vector<oci::Digest> blobs;      // config + layers
  std::vector<oci::Digest> manifests;  // children of an index
};

// A manifest that names a subject, as the referrers API lists it.
struct Referrer {
  oci::Digest digest;
  std::string media_type;
  uint64_t size = 0;
  std::optional<std::string> artifact_type;
  std::string annotations_json;
};

class MetadataStore {
 public:
  virtual ~MetadataStore() = default;

  // ---- Repositories (created implicitly by the first blob link, upload or manifest) ----
  virtual Status ensure_repository(const std::string& name) = 0;
  virtual Result<bool> repository_exists(const std::string& name) = 0;
  // Names sorted ascending (byte order), strictly after `after` (empty: from the start), at most `limit`.
  virtual Result<std::vector<std::string>> list_repositories(const std::string& after, size_t limit) = 0;

  // ---- Blobs ----
  // How an upload that has verified its bytes goes on (begin_blob_write; docs/lifecycle.md).
  enum class BlobWrite {
    write,    // the blob is pending: publish the object, then publish_blob
    rewrite,  // as write, but the blob was damaged: remove the object first (its bytes are bad)
    stored,   // the blob is live already: link it (link_blob); the object need not be written again
    busy,     // a collector is deleting the blob's object: wait until it is done, then ask again
  };
  // Records that a verified blob exists in the BlobStore, live (idempotent). For tools and tests: uploads
  // go through begin_blob_write / publish_blob, which a concurrent collector cannot race.
  virtual Status record_blob(const oci::Digest& digest, uint64_t size) = 0;
  // Before an upload publishes the object: makes the blob's row pending (creating it), so no collector
  // deletes the object once written, or says it is stored or busy. Sets last_seen_at = now.
  virtual Result<BlobWrite> begin_blob_write(const oci::Digest& digest, uint64_t size, int64_t now) = 0;
  // After the object was published: the blob becomes live and `repository` may serve it. not_found when
  // the row is no longer pending or live (it cannot be, unless the upload took longer than the stale
  // pending limit a collector applies).
  virtual Status publish_blob(const std::string& repository, const oci::Digest& digest, int64_t now) = 0;
  // Size of a live blob, in any repository.
  virtual Result<std::optional<uint64_t>> blob_size(const oci::Digest& digest) = 0;
  // Lets `repository` serve a live blob (creating the repository if needed) and sets its last_seen_at.
  // Idempotent. not_found when the blob is not live (never recorded, or being collected).
  virtual Status link_blob(const std::string& repository, const oci::Digest& digest) = 0;
  struct LinkedBlob {
    uint64_t size = 0;
    int64_t last_seen_at = 0;
  };
  // The live blob if `repository` may serve it.
  virtual Result<std::optional<LinkedBlob>> linked_blob(const std::string& repository, const oci::Digest& digest) = 0;
  Result<std::optional<uint64_t>> linked_blob_size(const std::string& repository, const oci::Digest& digest) {
    auto blob = linked_blob(repository, digest);
    if (!blob.ok()) return blob.status();
    return *blob ? std::optional<uint64_t>((*blob)->size) : std::nullopt;
  }
  // Sets last_seen_at = now if it is older than `older_than` (a read of a blob keeps it from the
  // collector's grace period without a write per read).
  virtual Status touch_blob(const oci::Digest& digest, int64_t now, int64_t older_than) = 0;
  // Removes the link; false if there was none.
  virtual Result<bool> unlink_blob(const std::string& repository, const oci::Digest& digest) = 0;

  // ---- Upload sessions ----
  // Creates the repository if needed. already_exists if an upload with this id exists;
  // too_many_requests if its opener or address already has as many open uploads as `limits` allow.
  virtual Status create_upload(const UploadRecord& upload, const UploadLimits& limits = {}) = 0;
  virtual Result<std::optional<UploadRecord>> get_upload(const std::string& id) = 0;
  // Compare-and-set: succeeds only if the stored offset is still `expected_offset` (conflict otherwise,
  // not_found if the upload is gone). Sets offset, states and updated_at = now.
  virtual Status advance_upload(const std::string& id, uint64_t expected_offset, uint64_t new_offset,
                                const std::string& hash_state, const std::string& storage_state,
                                int64_t now) = 0;
  // Ok if already gone.
  virtual Status delete_upload(const std::string& id) = 0;
  // Sets updated_at = now and nothing else, so that expiry sees the upload as active while a long request
  // writes to it. False if the upload is gone.
  virtual Result<bool> touch_upload(const std::string& id, int64_t now) = 0;
  // Uploads whose updated_at < before (for expiry).
  virtual Result<std::vector<UploadRecord>> uploads_idle_since(int64_t before) = 0;
  // Uploads that never received a byte, with updated_at < before (they expire sooner).
  virtual Result<std::vector<UploadRecord>> empty_uploads_idle_since(int64_t before) = 0;
  // Deletes the upload only if its updated_at is still < before: an advance or touch since it was listed
  // by uploads_idle_since keeps it. True if it was deleted.
  virtual Result<bool> delete_upload_if_idle(const std::string& id, int64_t before) = 0;

  // ---- Manifests and tags ----
  // Atomically: stores the manifest in the repository (creating the repository; a no-op if the same
  // digest is already there), its references, and, if `tag` is set, points the tag at it.
  // Every blob in refs.blobs must be live and linked to the repository when the transaction runs
  // (manifest_blob_unknown otherwise): checked with the blob rows held, so that a collector cannot
  // delete a blob a manifest is about to name.
  // The stored created_at is `now` at the first put (manifest.created_at is ignored); the tag's
  // updated_at is `now`. Keeps the package's versions up to date in the same transaction: a manifest
  // without subject starts a version (adopting the versions of the manifests it lists), a referrer joins
  // its subject's versions. A soft-deleted manifest of the same digest comes back live.
  virtual Status put_manifest(const ManifestRecord& manifest, const ManifestRefs& refs,
                              const std::optional<std::string>& tag, int64_t now) = 0;
  virtual Result<std::optional<ManifestRecord>> get_manifest(const std::string& repository,
                                                             const oci::Digest& digest) = 0;
  virtual Result<std::optional<ManifestRecord>> get_manifest_by_tag(const std::string& repository,
                                                                    const std::string& tag) = 0;
  // Whether get_manifest(repository, digest) would find it, without reading the content.
  virtual Result<bool> manifest_exists(const std::string& repository, const oci::Digest& digest) = 0;
  // Soft delete (docs/packages.md): the top-level manifest of a version deletes the whole version (its
  // tags, platform manifests and referrers; restorable through PackageStore); a referrer deletes itself
  // and its own referrers; a manifest a live index lists is refused. Deleted manifests are invisible to
  // every other method here until a push of the same digest brings one back.
  virtual Result<ManifestDeletion> delete_manifest(const std::string& repository, const oci::Digest& digest,
                                                   int64_t now) = 0;
  // Removes only the tag; false if there was none.
  virtual Result<bool> delete_tag(const std::string& repository, const std::string& tag) = 0;
  // A number that changes whenever a tag of `repository` is added, moved or removed (by any node);
  // nullopt when the repository does not exist. For caches of tag lists: equal numbers, equal lists.
  virtual Result<std::optional<int64_t>> tag_version(const std::string& repository) = 0;
  // Tags sorted ascending (byte order), strictly after `after`, at most `limit`.
  virtual Result<std::vector<std::string>> list_tags(const std::string& repository, const std::string& after,
                                                     size_t limit) = 0;
  // Manifests of `repository` whose subject is `subject`, optionally only those of one artifact type,
  // ordered by digest.
  virtual Result<std::vector<Referrer>> list_referrers(const std::string& repository, const oci::Digest& subject,
                                                       const std::optional<std::string>& artifact_type) = 0;
};

}  // namespace berth::meta
