// The non-virtual pieces of blob_store.h, shared by every BlobStore implementation.
#include "storage/blob_store.h"

#include "common/random.h"
#include <unistd.h>

#include <cstdio>
#include <cstdlib>

namespace berth::storage {

OpenBlob::~OpenBlob() {
  if (fd_ >= 0) ::close(fd_);
}

OpenBlob::OpenBlob(OpenBlob&& other) noexcept
    : fd_(other.fd_), offset_(other.offset_), stream_(std::move(other.stream_)), length_(other.length_) {
  other.fd_ = -1;
  other.length_ = 0;
}

namespace {
bool is_lower_hex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }
}  // namespace

bool is_valid_upload_id(std::string_view id) {
  if (id.size() == 32) {
    for (char c : id) {
      if (!is_lower_hex(c)) return false;
    }
    return true;
  }
  // Canonical UUID text 8-4-4-4-12, lowercase only so that one upload has exactly one spelling.
  if (id.size() == 36) {
    for (size_t i = 0; i < id.size(); ++i) {
      bool dash_here = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash_here ? id[i] != '-' : !is_lower_hex(id[i])) return false;
    }
    return true;
  }
  return false;
}

Status BlobStore::remove_many(const std::vector<oci::Digest>& digests) {
  for (const auto& digest : digests) BERTH_RETURN_IF_ERROR(remove(digest));
  return Status::Ok();
}

std::string new_upload_id() {
  // Upload ids are unguessable handles: a predictable one would let one client write into another's upload.
  return random_hex(16);
}

}  // namespace berth::storage
