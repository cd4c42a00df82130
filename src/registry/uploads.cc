// Upload sessions: start, append (hashing on the way), status, complete, cancel, expire.
#include <ctime>

#include "registry/registry.h"

namespace berth::registry {

namespace {
constexpr size_t kRehashChunk = 1024 * 1024;
}

// ---- UploadAppender ----

UploadAppender::UploadAppender(Registry& registry, meta::UploadRecord record, std::unique_ptr<Hasher> hasher,
                               std::unique_ptr<storage::UploadWriter> writer)
    : registry_(registry),
      record_(std::move(record)),
      hasher_(std::move(hasher)),
      writer_(std::move(writer)),
      offset_(record_.offset) {}

UploadAppender::~UploadAppender() {
  if (!finished_) registry_.release(record_.id);
}

Status UploadAppender::write(const char* data, size_t len) {
  if (!write_error_.ok()) return write_error_;
  Status s = writer_->write(data, len);
  if (!s.ok()) {
    write_error_ = s;
    return s;
  }
  hasher_->update(data, len);
  offset_ += len;
  return Status::Ok();
}

Result<UploadState> UploadAppender::finish() {
  finished_ = true;
  struct Release {
    Registry& r;
    const std::string& id;
    ~Release() { r.release(id); }
  } release{registry_, record_.id};

  auto state = writer_->close();
  if (!state.ok()) return state.status();
  if (!write_error_.ok()) {
    // Keep the recorded offset: the bytes after it are discarded by the next append.
    return write_error_;
  }
  Status s = registry_.meta_.advance_upload(record_.id, record_.offset, offset_, hasher_->save(), *state,
                                            registry_.now());
  if (s.code() == Errc::conflict) {
    // Another request (on another node) appended first: this chunk no longer starts at the upload's
    // offset, which the spec answers with 416.
    return Status(Errc::range_invalid, "another request wrote to this upload first; ask for its status and resume");
  }
  if (!s.ok()) return s;
  return UploadState{record_.id, record_.repository, offset_};
}

// ---- Registry: uploads ----

bool Registry::claim(const std::string& id) {
  std::lock_guard lock(busy_mu_);
  return busy_uploads_.insert(id).second;
}

void Registry::release(const std::string& id) {
  std::lock_guard lock(busy_mu_);
  busy_uploads_.erase(id);
}

size_t Registry::uploads_in_progress() const {
  std::lock_guard lock(busy_mu_);
  return busy_uploads_.size();
}

Result<UploadState> Registry::start_upload(const std::string& repository) {
  BERTH_RETURN_IF_ERROR(meta_.ensure_repository(repository));
  std::string id = storage::new_upload_id();
  auto state = blobs_.begin_upload(id);
  if (!state.ok()) return state.status();
  meta::UploadRecord record;
  record.id = id;
  record.repository = repository;
  record.offset = 0;
  record.hash_state = Hasher(HashAlgorithm::sha256).save();
  record.storage_state = *state;
  record.started_at = record.updated_at = now();
  Status s = meta_.create_upload(record);
  if (!s.ok()) {
    (void)blobs_.abort_upload(id, *state);
    return s;
  }
  return UploadState{id, repository, 0};
}

Result<meta::UploadRecord> Registry::find_upload(const std::string& repository, const std::string& id) {
  if (!storage::is_valid_upload_id(id)) return Status(Errc::blob_upload_unknown, "unknown upload id");
  auto record = meta_.get_upload(id);
  if (!record.ok()) return record.status();
  if (!*record || (*record)->repository != repository) {
    return Status(Errc::blob_upload_unknown, "unknown upload id");
  }
  return std::move(**record);
}

Result<UploadState> Registry::upload_status(const std::string& repository, const std::string& id) {
  auto record = find_upload(repository, id);
  if (!record.ok()) return record.status();
  return UploadState{record->id, record->repository, record->offset};
}

Result<std::unique_ptr<UploadAppender>> Registry::begin_append(const std::string& repository, const std::string& id) {
  auto record = find_upload(repository, id);
  if (!record.ok()) return record.status();
  if (!claim(id)) return Status(Errc::blob_upload_invalid, "another request is writing to this upload");
  auto release_on_error = [&](Status s) -> Result<std::unique_ptr<UploadAppender>> {
    release(id);
    return s;
  };
  std::unique_ptr<Hasher> hasher = Hasher::restore(HashAlgorithm::sha256, record->hash_state);
  if (!hasher) {
    // A state saved by an incompatible build: hash again what the upload holds.
    hasher = std::make_unique<Hasher>(HashAlgorithm::sha256);
    auto source = blobs_.read_upload(id, record->storage_state, record->offset);
    if (!source.ok()) return release_on_error(source.status());
    std::string buffer(kRehashChunk, '\0');
    for (;;) {
      auto n = (*source)->read(buffer.data(), buffer.size());
      if (!n.ok()) return release_on_error(n.status());
      if (*n == 0) break;
      hasher->update(buffer.data(), *n);
    }
  }
  auto writer = blobs_.append_upload(id, record->storage_state, record->offset);
  if (!writer.ok()) {
    if (writer.status().code() == Errc::not_found) {
      return release_on_error(Status(Errc::blob_upload_unknown, "upload data is gone"));
    }
    return release_on_error(writer.status());
  }
  return std::unique_ptr<UploadAppender>(
      new UploadAppender(*this, std::move(*record), std::move(hasher), std::move(*writer)));
}

Result<std::string> Registry::digest_of_upload(const meta::UploadRecord& record, HashAlgorithm algorithm) {
  if (algorithm == HashAlgorithm::sha256) {
    if (auto hasher = Hasher::restore(HashAlgorithm::sha256, record.hash_state)) return hasher->hex_digest();
  }
  Hasher hasher(algorithm);
  auto source = blobs_.read_upload(record.id, record.storage_state, record.offset);
  if (!source.ok()) return source.status();
  std::string buffer(kRehashChunk, '\0');
  for (;;) {
    auto n = (*source)->read(buffer.data(), buffer.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    hasher.update(buffer.data(), *n);
  }
  return hasher.hex_digest();
}

void Registry::discard_upload(const meta::UploadRecord& record) {
  (void)blobs_.abort_upload(record.id, record.storage_state);
  (void)meta_.delete_upload(record.id);
}

Result<uint64_t> Registry::complete_upload(const std::string& repository, const std::string& id,
                                           const oci::Digest& digest) {
  if (!claim(id)) return Status(Errc::blob_upload_invalid, "another request is writing to this upload");
  struct Release {
    Registry& r;
    const std::string& id;
    ~Release() { r.release(id); }
  } release_guard{*this, id};

  auto record = find_upload(repository, id);
  if (!record.ok()) return record.status();
  auto actual = digest_of_upload(*record, digest.algorithm());
  if (!actual.ok()) return actual.status();
  if (*actual != digest.hex()) {
    discard_upload(*record);
    return Status(Errc::digest_invalid, "the uploaded content does not match digest " + digest.str());
  }
  BERTH_RETURN_IF_ERROR(blobs_.commit_upload(id, record->storage_state, digest, record->offset));
  // The blob is durable before any metadata names it: a crash here leaves at worst an unreferenced blob.
  BERTH_RETURN_IF_ERROR(meta_.record_blob(digest, record->offset));
  BERTH_RETURN_IF_ERROR(meta_.link_blob(repository, digest));
  (void)meta_.delete_upload(id);
  return record->offset;
}

Status Registry::cancel_upload(const std::string& repository, const std::string& id) {
  auto record = find_upload(repository, id);
  if (!record.ok()) return record.status();
  if (!claim(id)) return Status(Errc::blob_upload_invalid, "another request is writing to this upload");
  discard_upload(*record);
  release(id);
  return Status::Ok();
}

size_t Registry::expire_uploads() {
  auto idle = meta_.uploads_idle_since(now() - options_.upload_expire_after_seconds);
  if (!idle.ok()) return 0;
  size_t removed = 0;
  for (const auto& record : *idle) {
    if (!claim(record.id)) continue;  // being written right now: not idle after all
    discard_upload(record);
    release(record.id);
    ++removed;
  }
  return removed;
}

}  // namespace berth::registry
