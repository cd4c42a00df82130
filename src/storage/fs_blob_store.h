// FsBlobStore: blobs on the local filesystem under one root directory.
//
// Layout (every path built from a validated digest or upload id):
//   <root>/blobs/<alg>/<first two hex>/<hex>     published blobs, read-only
//   <root>/uploads/<upload id>                    data of an upload in progress
// Commit: fsync the upload file, rename it into blobs/ (atomic on one filesystem), fsync the directory.
// Listing walks blobs/ in sorted order one <first two hex> directory at a time, so a page reads the
// names of a few directories and stats only the files it reports.
#pragma once

#include <filesystem>
#include <memory>

#include "storage/blob_store.h"

namespace berth::storage {

class FsBlobStore final : public BlobStore {
 public:
  // Creates the directories if needed. Errors: io_error when the root cannot be created or written.
  static Result<std::unique_ptr<FsBlobStore>> open(const std::filesystem::path& root);

  Result<uint64_t> stat(const oci::Digest& digest) override;
  Result<OpenBlob> open(const oci::Digest& digest, uint64_t offset, uint64_t length) override;
  Status remove(const oci::Digest& digest) override;
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

  const std::filesystem::path& root() const { return root_; }

 private:
  explicit FsBlobStore(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path blob_path(const oci::Digest& digest) const;
  std::filesystem::path upload_path(const std::string& upload_id) const;
  std::filesystem::path root_;
};

}  // namespace berth::storage
