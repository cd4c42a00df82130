// Upload sessions: start, append (hashing on the way), status, complete, cancel, expire.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <thread>

#include "common/failpoint.h"
#include "registry/registry.h"

namespace berth::registry {

namespace {
constexpr size_t kRehashChunk = 1024 * 1024;
// A collector deletes one object between marking a blob and forgetting it: seconds at the very most.
constexpr auto kCollectorWait = std::chrono::seconds(30);
constexpr auto kCollectorPoll = std::chrono::milliseconds(20);
constexpr const char* kGoneDuringRequest = "the upload was cancelled, completed or expired during this request";
}

// ---- UploadAppender ----

UploadAppender::UploadAppender(Registry& registry, UploadClaim claim, meta::UploadRecord record,
                               std::unique_ptr<Hasher> hasher, std::unique_ptr<storage::UploadWriter> writer)
    : registry_(registry),
      claim_(std::move(claim)),
      record_(std::move(record)),
      hasher_(std::move(hasher)),
      writer_(std::move(writer)),
      offset_(record_.offset),
      touched_at_(record_.updated_at) {}

UploadAppender::~UploadAppender() = default;

Status UploadAppender::write(const char* data, size_t len) {
  if (!write_error_.ok()) return write_error_;
  Status s = writer_->write(data, len);
  if (!s.ok()) {
    write_error_ = s;
    return s;
  }
  hasher_->update(data, len);
  offset_ += len;
  // A long request keeps the upload active for every node's expiry sweeper: one UPDATE now and then,
  // not one per chunk. A store error is not fatal here: the next write tries again.
  int64_t now = registry_.now();
  if (now - touched_at_ >= registry_.activity_refresh_seconds()) {
    auto found = registry_.meta_.touch_upload(record_.id, now);
    if (found.ok() && !*found) {
      // Cancelled, completed or expired meanwhile (possibly by another node): stop taking bytes.
      write_error_ = Status(Errc::blob_upload_unknown, kGoneDuringRequest);
      return write_error_;
    }
    if (found.ok()) touched_at_ = now;
  }
  return Status::Ok();
}

Result<UploadState> UploadAppender::finish() {
  // Whatever happens below, the upload is free for the next request (e.g. the same request's commit).
  UploadClaim claim = std::move(claim_);
  auto state = writer_->close();
  if (!state.ok()) return state.status();
  if (!write_error_.ok()) {
    // Keep the recorded offset: the bytes after it are discarded by the next append.
    return write_error_;
  }
  BERTH_FAILPOINT("upload.append.before_record");
  Status s = registry_.meta_.advance_upload(record_.id, record_.offset, offset_, hasher_->save(), *state,
                                            registry_.now());
  if (s.code() == Errc::conflict) {
    // Another request (on another node) appended first: this chunk no longer starts at the upload's
    // offset, which the spec answers with 416.
    return Status(Errc::range_invalid, "another request wrote to this upload first; ask for its status and resume");
  }
  if (s.code() == Errc::not_found) return Status(Errc::blob_upload_unknown, kGoneDuringRequest);
  if (!s.ok()) return s;
  BERTH_FAILPOINT("upload.append.after_record");
  return UploadState{record_.id, record_.repository, offset_};
}

// ---- Registry: uploads ----

UploadClaim& UploadClaim::operator=(UploadClaim&& other) noexcept {
  if (this != &other) {
    release();
    registry_ = std::exchange(other.registry_, nullptr);
    id_ = std::move(other.id_);
  }
  return *this;
}

void UploadClaim::release() {
  if (!registry_) return;
  std::lock_guard lock(registry_->busy_mu_);
  registry_->busy_uploads_.erase(id_);
  registry_ = nullptr;
}

UploadClaim Registry::claim(const std::string& id) {
  std::lock_guard lock(busy_mu_);
  if (!busy_uploads_.insert(id).second) return {};
  return UploadClaim(this, id);
}

size_t Registry::uploads_in_progress() const {
  std::lock_guard lock(busy_mu_);
  return busy_uploads_.size();
}

Result<UploadState> Registry::start_upload(const std::string& repository, const std::string& opener,
                                           const std::string& address) {
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
  record.opened_by = opener;
  record.opened_from = address;
  Status s = meta_.create_upload(record, options_.upload_limits);
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
  UploadClaim claim = this->claim(id);
  if (!claim) return Status(Errc::blob_upload_invalid, "another request is writing to this upload");
  auto hasher = hasher_for(*record, HashAlgorithm::sha256);
  if (!hasher.ok()) return hasher.status();
  auto writer = blobs_.append_upload(id, record->storage_state, record->offset);
  if (!writer.ok()) {
    if (writer.status().code() == Errc::not_found) {
      // A completion that crashed after committing the data (it is the blob now) but before deleting the row
      // leaves a session that can never continue: drop the row too, so that its status (GET) says what this
      // answer says, rather than a Range to resume from until the session expires.
      discard_upload(*record);
      return Status(Errc::blob_upload_unknown, "upload data is gone; start the upload again");
    }
    return writer.status();
  }
  return std::unique_ptr<UploadAppender>(
      new UploadAppender(*this, std::move(claim), std::move(*record), std::move(*hasher), std::move(*writer)));
}

Result<std::unique_ptr<Hasher>> Registry::hasher_for(const meta::UploadRecord& record, HashAlgorithm algorithm) {
  // Uploads hash with sha256 as they go; a state from an incompatible build, or another algorithm
  // (a sha512 digest given at the end), means reading the upload back.
  if (algorithm == HashAlgorithm::sha256) {
    if (auto hasher = Hasher::restore(HashAlgorithm::sha256, record.hash_state)) return hasher;
  }
  auto hasher = std::make_unique<Hasher>(algorithm);
  auto source = blobs_.read_upload(record.id, record.storage_state, record.offset);
  if (!source.ok()) return source.status();
  std::string buffer(kRehashChunk, '\0');
  for (;;) {
    auto n = (*source)->read(buffer.data(), buffer.size());
    if (!n.ok()) return n.status();
    if (*n == 0) break;
    hasher->update(buffer.data(), *n);
  }
  return hasher;
}

void Registry::discard_upload(const meta::UploadRecord& record) {
  (void)blobs_.abort_upload(record.id, record.storage_state);
  (void)meta_.delete_upload(record.id);
}

Result<uint64_t> Registry::complete_upload(const std::string& repository, const std::string& id,
                                           const oci::Digest& digest) {
  UploadClaim claim = this->claim(id);
  if (!claim) return Status(Errc::blob_upload_invalid, "another request is writing to this upload");
  auto record = find_upload(repository, id);
  if (!record.ok()) return record.status();
  auto hasher = hasher_for(*record, digest.algorithm());
  if (!hasher.ok()) return hasher.status();
  if ((*hasher)->hex_digest() != digest.hex()) {
    discard_upload(*record);
    return Status(Errc::digest_invalid, "the uploaded content does not match digest " + digest.str());
  }
  // The blob's row decides (docs/lifecycle.md): it is made pending before the object is written, so no
  // collector deletes the object once it exists; a collector already deleting the digest is waited out;
  // a blob stored already is only linked.
  const auto give_up_at = std::chrono::steady_clock::now() + kCollectorWait;
  for (;;) {
    auto mode = meta_.begin_blob_write(digest, record->offset, now());
    if (!mode.ok()) return mode.status();
    if (*mode == meta::MetadataStore::BlobWrite::write) break;
    if (*mode == meta::MetadataStore::BlobWrite::rewrite) {
      // fsck found the stored object bad: the store would keep it rather than publish these bytes.
      BERTH_RETURN_IF_ERROR(blobs_.remove(digest));
      break;
    }
    if (*mode == meta::MetadataStore::BlobWrite::stored) {
      Status linked = meta_.link_blob(repository, digest);
      if (linked.ok()) {
        discard_upload(*record);
        return record->offset;
      }
      if (linked.code() != Errc::not_found) return linked;
      continue;  // marked by a collector since: ask again
    }
    if (std::chrono::steady_clock::now() > give_up_at) {
      return Status(Errc::unavailable, "blob " + digest.str() + " is being garbage-collected; try again");
    }
    std::this_thread::sleep_for(kCollectorPoll);
  }
  BERTH_RETURN_IF_ERROR(blobs_.commit_upload(id, record->storage_state, digest, record->offset));
  BERTH_FAILPOINT("upload.after_blob_commit");
  // The object is durable before the blob is live: a crash here leaves a pending row, which a collector
  // removes with the object once it is older than the stale-upload limit.
  BERTH_RETURN_IF_ERROR(meta_.publish_blob(repository, digest, now()));
  BERTH_FAILPOINT("upload.after_publish");
  (void)meta_.delete_upload(id);
  return record->offset;
}

Status Registry::cancel_upload(const std::string& repository, const std::string& id) {
  auto record = find_upload(repository, id);
  if (!record.ok()) return record.status();
  UploadClaim claim = this->claim(id);
  if (!claim) return Status(Errc::blob_upload_invalid, "another request is writing to this upload");
  discard_upload(*record);
  return Status::Ok();
}

int64_t Registry::activity_refresh_seconds() const {
  return std::max<int64_t>(1, options_.upload_expire_after_seconds / 4);
}

size_t Registry::expire_uploads() {
  size_t removed = 0;
  auto expire = [&](const Result<std::vector<meta::UploadRecord>>& idle, int64_t before) {
    if (!idle.ok()) return;
    for (const auto& record : *idle) {
      UploadClaim claim = this->claim(record.id);
      if (!claim) continue;  // being written on this node right now: not idle after all
      // Another node may have written to it (or refreshed it) since it was listed: the row goes only if
      // it is still idle, and its data only with the row.
      auto deleted = meta_.delete_upload_if_idle(record.id, before);
      if (!deleted.ok() || !*deleted) continue;
      (void)blobs_.abort_upload(record.id, record.storage_state);
      ++removed;
    }
  };
  const int64_t empty_before = now() - options_.empty_upload_expire_after_seconds;
  expire(meta_.empty_uploads_idle_since(empty_before), empty_before);
  const int64_t before = now() - options_.upload_expire_after_seconds;
  expire(meta_.uploads_idle_since(before), before);
  return removed;
}

}  // namespace berth::registry
