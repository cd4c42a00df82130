// S3BlobStore: blobs in an S3 bucket (AWS S3, Ceph radosgw, MinIO), signed with SigV4 over libcurl.
//
// Layout (keys built from a validated digest or upload id only):
//   <prefix>blobs/<alg>/<hex>               published blobs
//   <prefix>uploads/<id>/info               marker: the upload exists (created by begin_upload)
//   <prefix>uploads/<id>/seg-<random>       staged bytes not yet in a multipart part
//   <prefix>uploads/<id>/data               the multipart upload's key; the assembled upload after commit
//
// Uploads. Registry clients send chunks of any size, while S3 wants parts of at least 5 MiB (but the
// last). An append keeps at most part_size bytes in memory: whenever the staged bytes plus the new ones
// reach part_size, one part is sent (the multipart upload is created then, lazily); what is left when
// the writer closes is written as a new staging segment. The upload `state` the caller persists is JSON
// naming the multipart UploadId, the parts sent (number, ETag, size) and the staging segments (key,
// bytes used), so any process holding the state can continue the upload.
//
// Every state an append ever returned stays usable until commit or abort: segments are never rewritten
// (a rewind only records that fewer of their bytes are used) and a part number sent again replaces the
// part. Garbage an interrupted append leaves (segments, parts, a second multipart upload) is removed by
// commit_upload and abort_upload, which clear everything under uploads/<id>/.
//
// Limits of an S3 multipart upload, stated here because the filesystem store has none:
// - append_upload can rewind into the staged bytes, or to a part boundary, but not into the middle of a
//   part already sent (S3 cannot read a part back): blob_upload_invalid. A caller that persists
//   (offset, state) together never asks for that.
// - read_upload of an upload with parts assembles it (completes the multipart upload into
//   uploads/<id>/data); after that the upload can be committed or aborted, not appended to.
//
// Commit completes the multipart upload into uploads/<id>/data, then copies it server-side to the blob
// key (a blob key only ever receives verified, whole content: the caller checked the digest).
// Small uploads (no part sent) are put directly. Reads stream a ranged GET through a bounded buffer.
//
// Listing (garbage collection): list_blobs pages ListObjectsV2 under blobs/ from the key of `after`;
// list_uploads merges ListObjectsV2 under uploads/ (an upload's objects) with ListMultipartUploads under
// it (multipart uploads that outlived their objects), both in key order, requesting about `limit` entries
// at a time. remove_upload_leftovers is abort without a state: it finds everything by listing.
//
// Thread safety: as BlobStore. Streams (open, read_upload) use the store's connections: destroy them
// before the store.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>

#include "storage/blob_store.h"
#include "storage/s3_client.h"

namespace berth::storage {

class S3BlobStore final : public BlobStore {
 public:
  // Validates the options; no I/O (see check()). invalid_argument on a malformed endpoint, an empty
  // bucket or credentials, or a part size outside [5 MiB, 5 GiB].
  static Result<std::unique_ptr<S3BlobStore>> open(S3Options options);

  // HEADs the bucket: ok, unavailable (endpoint unreachable), or the error S3 gives (e.g. 403, 404).
  Status check();

  Result<uint64_t> stat(const oci::Digest& digest) override;
  Result<OpenBlob> open(const oci::Digest& digest, uint64_t offset, uint64_t length) override;
  Status remove(const oci::Digest& digest) override;
  Status remove_many(const std::vector<oci::Digest>& digests) override;
  Result<std::string> begin_upload(const std::string& upload_id) override;
  Result<std::unique_ptr<UploadWriter>> append_upload(const std::string& upload_id, const std::string& state,
                                                      uint64_t offset) override;
  Result<std::unique_ptr<ByteSource>> read_upload(const std::string& upload_id, const std::string& state,
                                                  uint64_t size) override;
  Status commit_upload(const std::string& upload_id, const std::string& state, const oci::Digest& digest,
                       uint64_t size) override;
  Status abort_upload(const std::string& upload_id, const std::string& state) override;
  Result<std::vector<StoredObject>> list_blobs(const std::string& after, size_t limit) override;
  Result<std::vector<StoredUpload>> list_uploads(const std::string& after, size_t limit) override;
  Status remove_upload_leftovers(const std::string& upload_id) override;

  // A URL that lets anyone GET the blob for `expires_seconds` (for redirecting clients to the bucket).
  // Does not check that the blob exists.
  std::string presign_get(const oci::Digest& digest, uint64_t expires_seconds, std::time_t now = std::time(nullptr));
  std::optional<std::string> direct_url(const oci::Digest& digest, uint64_t expires_seconds) override {
    return presign_get(digest, expires_seconds);
  }

  std::string blob_key(const oci::Digest& digest) const;
  std::string upload_prefix(const std::string& upload_id) const;
  S3Client& client() { return *client_; }

 private:
  explicit S3BlobStore(std::unique_ptr<S3Client> client) : client_(std::move(client)) {}
  friend class S3UploadWriter;
  struct UploadState;
  Status require_upload(const std::string& upload_id);
  // Checks the id and that the upload exists, then parses its state.
  Result<UploadState> load_upload(const std::string& upload_id, const std::string& state);
  Result<uint64_t> head(const std::string& key);
  // Appends the first `limit` staged bytes of the upload (its segments, in order) to `out`.
  Status read_staged(const std::string& upload_id, const UploadState& st, uint64_t limit, std::string& out);
  Status assemble(const std::string& upload_id, UploadState& st);
  Status copy_range(const std::string& from, uint64_t size, const std::string& to);
  Status delete_upload_objects(const std::string& upload_id);

  std::unique_ptr<S3Client> client_;
};

}  // namespace berth::storage
