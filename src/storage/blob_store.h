// BlobStore: content-addressed bytes and the upload sessions that produce them.
//
// Implementations: FsBlobStore (fs_blob_store.h, the default) and, later, an S3 store. Every
// implementation passes the shared suite in tests/unit/storage_blob_store_suite.h.
//
// Contract common to all methods:
// - Digests are already validated (oci::Digest); upload ids are validated by is_valid_upload_id before
//   any method builds a path or key from them (methods return invalid_argument otherwise).
// - Thread safety: all methods may be called concurrently from any thread. Concurrent writes to the
//   same upload id are the caller's responsibility to prevent.
// - A blob is either absent or whole and verified: commit_upload publishes atomically.
// - Upload state: each upload carries an opaque `state` string owned by the store (e.g. an S3 multipart
//   upload id and its part list). The caller persists it (in the metadata store) and hands it back, so
//   that an upload can be continued by another process or node. The filesystem store needs none.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <optional>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "oci/digest.h"

namespace berth::storage {

// A pull-style byte stream. read() returns the number of bytes read, 0 at the end.
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  virtual Result<size_t> read(char* buffer, size_t capacity) = 0;
};

// An opened blob, ready to be sent. A file-backed store gives an fd (served with sendfile, and owned by
// this object: closed on destruction); other stores give a stream. Exactly one of the two is set.
class OpenBlob {
 public:
  OpenBlob(int fd, uint64_t offset, uint64_t length) : fd_(fd), offset_(offset), length_(length) {}
  OpenBlob(std::unique_ptr<ByteSource> stream, uint64_t length) : stream_(std::move(stream)), length_(length) {}
  ~OpenBlob();
  OpenBlob(OpenBlob&& other) noexcept;
  OpenBlob& operator=(OpenBlob&&) = delete;
  OpenBlob(const OpenBlob&) = delete;

  int fd() const { return fd_; }              // -1 when stream-backed
  uint64_t offset() const { return offset_; } // where in the fd the requested range starts
  uint64_t length() const { return length_; } // bytes to send
  std::unique_ptr<ByteSource> take_stream() { return std::move(stream_); }
  int release_fd() { int f = fd_; fd_ = -1; return f; }

 private:
  int fd_ = -1;
  uint64_t offset_ = 0;
  std::unique_ptr<ByteSource> stream_;
  uint64_t length_ = 0;
};

// Appends to an upload. Bytes are not guaranteed durable until close() returns ok.
class UploadWriter {
 public:
  virtual ~UploadWriter() = default;
  virtual Status write(const char* data, size_t len) = 0;
  // Ends this append and returns the upload's new opaque state, to persist with the new offset.
  // On failure the caller keeps the offset it recorded before: the next append_upload at that offset
  // discards whatever partial data followed it.
  virtual Result<std::string> close() = 0;
};

// 128-bit random id, rendered as 32 lowercase hex characters (or a UUID with dashes: both accepted).
bool is_valid_upload_id(std::string_view id);
std::string new_upload_id();

// What list_blobs reports of one published blob.
struct StoredObject {
  oci::Digest digest;
  uint64_t size = 0;
  int64_t modified_at = 0;  // Unix seconds: file mtime / S3 LastModified
};

// What list_uploads reports of one upload that holds data in the store.
struct StoredUpload {
  std::string id;
  int64_t modified_at = 0;  // Unix seconds
};

class BlobStore {
 public:
  virtual ~BlobStore() = default;

  // Size of a published blob; not_found if absent.
  virtual Result<uint64_t> stat(const oci::Digest& digest) = 0;
  // Opens [offset, offset+length) of a published blob; not_found if absent; range_invalid if past the end.
  virtual Result<OpenBlob> open(const oci::Digest& digest, uint64_t offset, uint64_t length) = 0;
  // Removes a published blob (garbage collection only). Ok if it was already absent.
  virtual Status remove(const oci::Digest& digest) = 0;
  // remove() of several blobs, in as few requests as the store allows (S3: one per 1,000). Ok when every
  // one is gone; on failure some may be gone and some not.
  virtual Status remove_many(const std::vector<oci::Digest>& digests);
  // A URL where clients can fetch the blob directly for `expires_seconds` (object storage), or nullopt
  // when the store cannot offer one (the filesystem). The caller has checked that the blob exists.
  virtual std::optional<std::string> direct_url(const oci::Digest& digest, uint64_t expires_seconds) {
    return std::nullopt;
  }

  // Starts an empty upload; returns its initial state.
  virtual Result<std::string> begin_upload(const std::string& upload_id) = 0;
  // Opens a writer that appends at `offset`, the caller's record of how many bytes the upload holds.
  // Anything stored past `offset` (left by an interrupted append) is discarded first.
  // not_found if the upload does not exist (expired, cancelled, or never started); blob_upload_invalid
  // if it holds fewer than `offset` bytes (bytes the caller counted were lost: it cannot be continued).
  virtual Result<std::unique_ptr<UploadWriter>> append_upload(const std::string& upload_id,
                                                              const std::string& state,
                                                              uint64_t offset) = 0;
  // Reads back the first `size` bytes of an upload (used to hash with another algorithm on commit).
  // not_found if the upload does not exist; blob_upload_invalid if it holds fewer than `size` bytes.
  virtual Result<std::unique_ptr<ByteSource>> read_upload(const std::string& upload_id,
                                                          const std::string& state, uint64_t size) = 0;
  // Publishes the first `size` bytes of the upload as blob `digest` (the caller has verified the
  // digest) and removes the upload. If the blob already exists the upload is simply removed.
  // Durable when it returns ok (fsync / object store completion). not_found if the upload does not
  // exist; blob_upload_invalid if it holds fewer than `size` bytes (nothing is published and the upload
  // is kept).
  virtual Status commit_upload(const std::string& upload_id, const std::string& state,
                               const oci::Digest& digest, uint64_t size) = 0;
  // Removes an upload and its data. Ok if it was already gone.
  virtual Status abort_upload(const std::string& upload_id, const std::string& state) = 0;

  // Listing, for garbage collection and fsck: they compare the whole store with the metadata in bounded
  // pages, so that objects a crash left behind (unknown to the metadata) can be found.
  //
  // Both listings return at most `limit` entries, fewer only when the listing is exhausted (callers stop
  // at a short page, so names that are skipped never shorten a page). Each page is a fresh look at the
  // store: an entry added or removed between pages may or may not appear, but one present throughout
  // is reported exactly once.
  //
  // Published blobs whose digest string sorts strictly after `after` (empty: from the start), in the
  // byte order of that string ("sha256:..." < "sha512:..."). Names in the blob area that are not a valid
  // digest at its canonical place are skipped: never reported, never an error.
  virtual Result<std::vector<StoredObject>> list_blobs(const std::string& after, size_t limit) = 0;
  // Uploads that hold anything in the store (even only the mark begin_upload leaves), whether or not a
  // session still refers to them, ids in ascending byte order strictly after `after`; names that are not
  // a valid upload id are skipped. `modified_at` is the latest time anything of the upload was written,
  // as far as one listing tells: the upload file's mtime; on S3 the latest LastModified of its objects
  // or Initiated of its multipart uploads (parts sent later are not seen).
  virtual Result<std::vector<StoredUpload>> list_uploads(const std::string& after, size_t limit) = 0;
  // Removes everything an upload holds knowing only its id (its state is lost with its session): for
  // leftovers found by list_uploads. Ok if already gone; invalid_argument for a malformed id.
  virtual Status remove_upload_leftovers(const std::string& upload_id) = 0;
};

}  // namespace berth::storage
