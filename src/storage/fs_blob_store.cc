#include "storage/fs_blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>  // renameat2
#include <string.h>  // strerrordesc_np
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <limits>
#include <system_error>
#include <utility>

#include "common/failpoint.h"

namespace berth::storage {

namespace {

// Error messages name paths relative to the root only: they may reach logs and clients, and the root
// says where the operator's disks are mounted.
std::string errno_text(int err) {
  const char* text = ::strerrordesc_np(err);  // unlike strerror, thread safe
  return text ? text : "errno " + std::to_string(err);
}

Status io_error(std::string_view what, int err) {
  if (err == ENOSPC || err == EDQUOT) {
    // A full disk (or quota) is the operator's to fix, and the client should be told why its push
    // failed: 507, the one 5xx whose message api/errors.cc keeps (tests/e2e/test_disk_full.sh).
    return Status(Errc::insufficient_storage, "insufficient storage: the registry's disk is full (" + std::string(what) + ": " +
                                       errno_text(err) + ")");
  }
  return Status(Errc::io_error, std::string(what) + ": " + errno_text(err));
}

std::string rel_blob(const oci::Digest& digest) {
  std::string hex(digest.hex());
  return "blobs/" + std::string(digest.algorithm_name()) + "/" + hex.substr(0, 2) + "/" + hex;
}

std::string rel_upload(const std::string& upload_id) { return "uploads/" + upload_id; }

Status invalid_upload_id() { return Status(Errc::invalid_argument, "malformed upload id"); }

constexpr uint64_t kMaxOffset = static_cast<uint64_t>(std::numeric_limits<off_t>::max());

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  ~UniqueFd() { reset(); }
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    if (this != &other) {
      reset();
      fd_ = other.release();
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;

  int get() const { return fd_; }
  int release() {
    int f = fd_;
    fd_ = -1;
    return f;
  }
  void reset() {
    // close(2) is not retried on EINTR: on Linux the descriptor is released either way, and a retry
    // could close a descriptor another thread has just been given.
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

// open(2) can be interrupted on slow filesystems (NFS, FUSE).
int open_retry(const std::string& path, int flags, mode_t mode = 0) {
  int fd;
  do {
    fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  } while (fd < 0 && errno == EINTR);
  return fd;
}

bool is_absent(int err) { return err == ENOENT || err == ENOTDIR; }

// Writes all of [data, data+len) at `offset`, through short writes and signals.
Status pwrite_all(int fd, const char* data, size_t len, uint64_t offset, const std::string& rel) {
  while (len > 0) {
    ssize_t n = ::pwrite(fd, data, len, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write " + rel, errno);
    }
    if (n == 0) return Status(Errc::io_error, "write " + rel + ": no progress");
    data += n;
    len -= static_cast<size_t>(n);
    offset += static_cast<uint64_t>(n);
  }
  return Status::Ok();
}

Status fsync_dir(const std::string& path, const std::string& rel) {
  UniqueFd fd(open_retry(path, O_RDONLY | O_DIRECTORY));
  if (fd.get() < 0) return io_error("open " + rel, errno);
  if (::fsync(fd.get()) != 0) return io_error("fsync " + rel, errno);
  return Status::Ok();
}

// mkdir that tolerates a concurrent creator. A directory we create is made durable by syncing its
// parent; when another thread created it first, our later fsync of the blob's directory still commits
// that mkdir on journaling filesystems (ext4, xfs), which order metadata operations.
Status ensure_dir(const std::string& root, const std::string& parent_rel, const std::string& rel) {
  std::string path = root + "/" + rel;
  if (::mkdir(path.c_str(), 0755) == 0) return fsync_dir(root + "/" + parent_rel, parent_rel);
  if (errno == EEXIST) return Status::Ok();
  return io_error("create " + rel, errno);
}

class FsUploadWriter final : public UploadWriter {
 public:
  FsUploadWriter(UniqueFd fd, uint64_t offset, std::string rel)
      : fd_(std::move(fd)), start_(offset), offset_(offset), writeback_from_(offset), rel_(std::move(rel)) {}

  Status write(const char* data, size_t len) override {
    if (fd_.get() < 0) return Status(Errc::internal, "write after close on " + rel_);
    if (!failed_.ok()) return failed_;
    if (len > kMaxOffset - offset_) return Status(Errc::too_large, "upload " + rel_ + " exceeds the file size limit");
    Status s = pwrite_all(fd_.get(), data, len, offset_, rel_);
    if (!s.ok()) {
      // Some bytes may have landed: the caller must not record a new offset, so close() fails too. They
      // are dropped now rather than by the next append: after ENOSPC they would hold the disk full until
      // the upload expires (a monolithic push's client never learns the upload's URL).
      failed_ = s;
      int r;
      do {
        r = ::ftruncate(fd_.get(), static_cast<off_t>(start_));
      } while (r != 0 && errno == EINTR);
      return s;
    }
    offset_ += len;
    // Start writeback of every full window as it fills, without waiting for it: the disk works while
    // the client sends, dirty pages stay bounded, and close()'s fdatasync finds little left to do.
    if (offset_ - writeback_from_ >= kWritebackWindow) {
      (void)::sync_file_range(fd_.get(), static_cast<off_t>(writeback_from_),
                              static_cast<off_t>(offset_ - writeback_from_), SYNC_FILE_RANGE_WRITE);
      writeback_from_ = offset_;
    }
    return Status::Ok();
  }

  Result<std::string> close() override {
    if (fd_.get() < 0) return Status(Errc::internal, "close twice on " + rel_);
    UniqueFd fd(fd_.release());
    if (!failed_.ok()) return failed_;
    // The caller records the new offset once close() returns: the bytes must be on disk by then, or a
    // crash could leave the recorded offset pointing past what the file holds.
    if (::fdatasync(fd.get()) != 0) return io_error("sync " + rel_, errno);
    int raw = fd.release();
    if (::close(raw) != 0 && errno != EINTR) return io_error("close " + rel_, errno);
    return std::string();
  }

 private:
  static constexpr uint64_t kWritebackWindow = 8 << 20;
  UniqueFd fd_;
  uint64_t start_;  // the recorded offset this writer appends at
  uint64_t offset_;
  uint64_t writeback_from_;  // start of the bytes not yet handed to writeback
  std::string rel_;
  Status failed_;
};

class FsUploadReader final : public ByteSource {
 public:
  FsUploadReader(UniqueFd fd, uint64_t size, std::string rel) : fd_(std::move(fd)), remaining_(size), rel_(std::move(rel)) {}

  Result<size_t> read(char* buffer, size_t capacity) override {
    if (remaining_ == 0 || capacity == 0) return size_t{0};
    size_t want = capacity < remaining_ ? capacity : static_cast<size_t>(remaining_);
    for (;;) {
      ssize_t n = ::pread(fd_.get(), buffer, want, static_cast<off_t>(position_));
      if (n < 0) {
        if (errno == EINTR) continue;
        return io_error("read " + rel_, errno);
      }
      if (n == 0) return Status(Errc::io_error, "read " + rel_ + ": upload shrank while being read");
      position_ += static_cast<uint64_t>(n);
      remaining_ -= static_cast<uint64_t>(n);
      return static_cast<size_t>(n);
    }
  }

 private:
  UniqueFd fd_;
  uint64_t position_ = 0;
  uint64_t remaining_;
  std::string rel_;
};

// The entry names of a directory, sorted. A missing directory, or a file where one was expected, has no
// entries: listings skip what is not the store's layout rather than fail on it.
Result<std::vector<std::string>> sorted_names(const std::string& path, const std::string& rel) {
  std::vector<std::string> names;
  DIR* dir = ::opendir(path.c_str());
  if (!dir) {
    if (is_absent(errno)) return names;
    return io_error("open " + rel, errno);
  }
  for (;;) {
    errno = 0;
    const dirent* e = ::readdir(dir);
    if (!e) break;
    std::string_view name = e->d_name;
    if (name != "." && name != "..") names.emplace_back(name);
  }
  int err = errno;
  ::closedir(dir);
  if (err != 0) return io_error("read " + rel, err);
  std::sort(names.begin(), names.end());
  return names;
}

// True when every string starting with `prefix` sorts at or before `after`: a directory whose entries
// all have that prefix can be passed over without reading it.
bool all_before(const std::string& prefix, const std::string& after) {
  return prefix < after && !after.starts_with(prefix);
}

bool is_two_hex(const std::string& s) {
  return s.size() == 2 && s.find_first_not_of("0123456789abcdef") == std::string::npos;
}

}  // namespace

Result<std::unique_ptr<FsBlobStore>> FsBlobStore::open(const std::filesystem::path& root) {
  std::error_code ec;
  // Absolute, so that a later chdir of the process cannot move the store.
  std::filesystem::path abs = std::filesystem::absolute(root, ec);
  if (ec) return Status(Errc::io_error, "cannot resolve the storage root: " + ec.message());
  for (const char* rel : {"", "blobs", "uploads"}) {
    std::filesystem::path dir = *rel ? abs / rel : abs;
    std::filesystem::create_directories(dir, ec);
    std::string name = *rel ? std::string(rel) + "/" : std::string("the storage root");
    if (ec) return Status(Errc::io_error, "cannot create " + name + ": " + ec.message());
    if (!std::filesystem::is_directory(dir, ec)) return Status(Errc::io_error, name + " is not a directory");
    // access(2) also reports a read-only mount (EROFS), which permission bits do not show.
    if (::access(dir.c_str(), W_OK | X_OK) != 0) return io_error("cannot write " + name, errno);
  }
  return std::unique_ptr<FsBlobStore>(new FsBlobStore(std::move(abs)));
}

std::filesystem::path FsBlobStore::blob_path(const oci::Digest& digest) const { return root_ / rel_blob(digest); }

std::filesystem::path FsBlobStore::upload_path(const std::string& upload_id) const {
  return root_ / rel_upload(upload_id);
}

Result<uint64_t> FsBlobStore::stat(const oci::Digest& digest) {
  struct stat st;
  if (::stat(blob_path(digest).c_str(), &st) != 0) {
    if (is_absent(errno)) return Status(Errc::not_found, "blob unknown");
    return io_error("stat " + rel_blob(digest), errno);
  }
  return static_cast<uint64_t>(st.st_size);
}

Result<OpenBlob> FsBlobStore::open(const oci::Digest& digest, uint64_t offset, uint64_t length) {
  UniqueFd fd(open_retry(blob_path(digest), O_RDONLY));
  if (fd.get() < 0) {
    if (is_absent(errno)) return Status(Errc::not_found, "blob unknown");
    return io_error("open " + rel_blob(digest), errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return io_error("stat " + rel_blob(digest), errno);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  // Written so that offset + length cannot overflow.
  if (offset > size || length > size - offset) {
    return Status(Errc::range_invalid, "range past the end of the blob (" + std::to_string(size) + " bytes)");
  }
  return OpenBlob(fd.release(), offset, length);
}

Status FsBlobStore::remove(const oci::Digest& digest) {
  if (::unlink(blob_path(digest).c_str()) != 0 && !is_absent(errno)) {
    return io_error("remove " + rel_blob(digest), errno);
  }
  return Status::Ok();
}

Result<std::string> FsBlobStore::begin_upload(const std::string& upload_id) {
  if (!is_valid_upload_id(upload_id)) return invalid_upload_id();
  std::string path = upload_path(upload_id);
  constexpr int kFlags = O_WRONLY | O_CREAT | O_EXCL;
  UniqueFd fd(open_retry(path, kFlags, 0644));
  if (fd.get() < 0 && errno == ENOENT) {
    // uploads/ went missing since open() (an operator cleaning up): recreate it rather than fail every push.
    BERTH_RETURN_IF_ERROR(ensure_dir(root_.native(), ".", "uploads"));
    fd = UniqueFd(open_retry(path, kFlags, 0644));
  }
  if (fd.get() < 0) {
    if (errno == EEXIST) return Status(Errc::already_exists, "upload exists");
    return io_error("create " + rel_upload(upload_id), errno);
  }
  return std::string();
}

Result<std::unique_ptr<UploadWriter>> FsBlobStore::append_upload(const std::string& upload_id,
                                                                 const std::string& state, uint64_t offset) {
  if (!is_valid_upload_id(upload_id)) return invalid_upload_id();
  std::string rel = rel_upload(upload_id);
  if (offset > kMaxOffset) return Status(Errc::invalid_argument, "offset out of range");
  UniqueFd fd(open_retry(upload_path(upload_id), O_WRONLY));
  if (fd.get() < 0) {
    if (is_absent(errno)) return Status(Errc::not_found, "upload unknown");
    return io_error("open " + rel, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return io_error("stat " + rel, errno);
  uint64_t stored = static_cast<uint64_t>(st.st_size);
  if (stored < offset) {
    // Bytes the caller counted are missing. Extending with zeros would publish them under a digest the
    // caller computed over the real bytes, so the upload cannot be continued.
    return Status(Errc::blob_upload_invalid, "upload holds " + std::to_string(stored) + " bytes, fewer than offset " +
                                                 std::to_string(offset));
  }
  if (stored > offset) {
    int r;
    do {
      r = ::ftruncate(fd.get(), static_cast<off_t>(offset));
    } while (r != 0 && errno == EINTR);
    if (r != 0) return io_error("truncate " + rel, errno);
  }
  return std::unique_ptr<UploadWriter>(new FsUploadWriter(std::move(fd), offset, std::move(rel)));
}

Result<std::unique_ptr<ByteSource>> FsBlobStore::read_upload(const std::string& upload_id, const std::string& state,
                                                            uint64_t size) {
  if (!is_valid_upload_id(upload_id)) return invalid_upload_id();
  std::string rel = rel_upload(upload_id);
  UniqueFd fd(open_retry(upload_path(upload_id), O_RDONLY));
  if (fd.get() < 0) {
    if (is_absent(errno)) return Status(Errc::not_found, "upload unknown");
    return io_error("open " + rel, errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return io_error("stat " + rel, errno);
  if (static_cast<uint64_t>(st.st_size) < size) {
    return Status(Errc::blob_upload_invalid, "upload holds fewer than " + std::to_string(size) + " bytes");
  }
  return std::unique_ptr<ByteSource>(new FsUploadReader(std::move(fd), size, std::move(rel)));
}

Status FsBlobStore::commit_upload(const std::string& upload_id, const std::string& state, const oci::Digest& digest,
                                  uint64_t size) {
  if (!is_valid_upload_id(upload_id)) return invalid_upload_id();
  const std::string up_rel = rel_upload(upload_id);
  const std::string up_path = upload_path(upload_id);
  const std::string blob_rel = rel_blob(digest);
  const std::string blob_file = blob_path(digest);
  const std::string what = "commit " + up_rel + ": ";

  UniqueFd fd(open_retry(up_path, O_RDWR));
  if (fd.get() < 0) {
    if (is_absent(errno)) return Status(Errc::not_found, "upload unknown");
    return io_error(what + "open", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return io_error(what + "stat", errno);
  uint64_t stored = static_cast<uint64_t>(st.st_size);
  if (stored < size) {
    return Status(Errc::blob_upload_invalid, "upload holds " + std::to_string(stored) + " bytes, fewer than the " +
                                                 std::to_string(size) + " to commit");
  }
  if (stored > size) {
    int r;
    do {
      r = ::ftruncate(fd.get(), static_cast<off_t>(size));
    } while (r != 0 && errno == EINTR);
    if (r != 0) return io_error(what + "truncate", errno);
  }
  // The data must be on disk before the rename makes it visible, or a crash could publish a hole.
  BERTH_FAILPOINT("blob.before_fsync");
  if (::fsync(fd.get()) != 0) return io_error(what + "fsync", errno);
  fd.reset();

  const std::string alg_rel = "blobs/" + std::string(digest.algorithm_name());
  const std::string dir_rel = alg_rel + "/" + std::string(digest.hex().substr(0, 2));
  const std::string& root = root_.native();
  for (auto [parent, dir] : {std::pair<std::string, std::string>{".", "blobs"}, {"blobs", alg_rel}, {alg_rel, dir_rel}}) {
    Status s = ensure_dir(root, parent, dir);
    if (!s.ok()) return Status(s.code(), what + s.message());
  }

  // RENAME_NOREPLACE keeps the blob a concurrent commit already published (readers may hold it open);
  // plain rename is the fallback on filesystems without the flag, replacing it by identical bytes.
  if (::renameat2(AT_FDCWD, up_path.c_str(), AT_FDCWD, blob_file.c_str(), RENAME_NOREPLACE) != 0) {
    int err = errno;
    bool replace = err == EINVAL || err == ENOSYS;
    if (err == EEXIST) {
      struct stat existing;
      if (::stat(blob_file.c_str(), &existing) == 0 && S_ISREG(existing.st_mode) &&
          static_cast<uint64_t>(existing.st_size) == size) {
        if (::unlink(up_path.c_str()) != 0 && errno != ENOENT) return io_error(what + "remove upload", errno);
      } else {
        // Content-addressed: a blob of another size under this digest can only be damage, and we hold
        // verified bytes.
        replace = true;
      }
    } else if (!replace) {
      return io_error(what + "rename to " + blob_rel, err);
    }
    if (replace && ::rename(up_path.c_str(), blob_file.c_str()) != 0) {
      return io_error(what + "rename to " + blob_rel, errno);
    }
  }
  BERTH_FAILPOINT("blob.after_rename");
  // Also when another commit published the blob: it may not have synced the directory yet. If this
  // fails the blob is visible but maybe not durable; the caller records nothing, and garbage collection
  // reclaims it if a crash does not.
  Status synced = fsync_dir(root + "/" + dir_rel, dir_rel);
  if (!synced.ok()) return Status(synced.code(), what + synced.message());
  return Status::Ok();
}

Status FsBlobStore::abort_upload(const std::string& upload_id, const std::string& state) {
  if (!is_valid_upload_id(upload_id)) return invalid_upload_id();
  if (::unlink(upload_path(upload_id).c_str()) != 0 && !is_absent(errno)) {
    return io_error("remove " + rel_upload(upload_id), errno);
  }
  return Status::Ok();
}

Result<std::vector<StoredObject>> FsBlobStore::list_blobs(const std::string& after, size_t limit) {
  std::vector<StoredObject> out;
  if (limit == 0) return out;
  const std::string& root = root_.native();
  auto algs = sorted_names(root + "/blobs", "blobs");
  if (!algs.ok()) return algs.status();
  // Digests sort as "<alg>:<hex>": order the algorithm directories by that prefix, not by their bare
  // names (which would differ if one name were a prefix of another).
  std::sort(algs->begin(), algs->end(), [](const std::string& a, const std::string& b) { return a + ":" < b + ":"; });
  for (const std::string& alg : *algs) {
    const std::string alg_prefix = alg + ":";
    if (all_before(alg_prefix, after)) continue;
    const std::string alg_rel = "blobs/" + alg;
    auto dirs = sorted_names(root + "/" + alg_rel, alg_rel);
    if (!dirs.ok()) return dirs.status();
    for (const std::string& xx : *dirs) {
      if (!is_two_hex(xx) || all_before(alg_prefix + xx, after)) continue;
      const std::string dir_rel = alg_rel + "/" + xx;
      auto files = sorted_names(root + "/" + dir_rel, dir_rel);
      if (!files.ok()) return files.status();
      for (const std::string& name : *files) {
        // Hex names of one algorithm have one length, so the names' order is the digests' order.
        auto digest = oci::Digest::parse(alg_prefix + name);
        if (!digest.ok() || digest->hex().substr(0, 2) != xx || digest->str() <= after) continue;
        struct stat st;
        if (::stat((root + "/" + dir_rel + "/" + name).c_str(), &st) != 0) {
          if (is_absent(errno)) continue;  // removed since the directory was read
          return io_error("stat " + dir_rel + "/" + name, errno);
        }
        if (!S_ISREG(st.st_mode)) continue;
        out.push_back({std::move(*digest), static_cast<uint64_t>(st.st_size), static_cast<int64_t>(st.st_mtime)});
        if (out.size() == limit) return out;
      }
    }
  }
  return out;
}

Result<std::vector<StoredUpload>> FsBlobStore::list_uploads(const std::string& after, size_t limit) {
  std::vector<StoredUpload> out;
  if (limit == 0) return out;
  // One directory of in-progress uploads: reading all its names is bounded by the pushes under way.
  auto names = sorted_names(root_.native() + "/uploads", "uploads");
  if (!names.ok()) return names.status();
  for (const std::string& id : *names) {
    if (id <= after || !is_valid_upload_id(id)) continue;
    struct stat st;
    if (::stat(upload_path(id).c_str(), &st) != 0) {
      if (is_absent(errno)) continue;  // committed or aborted since the directory was read
      return io_error("stat " + rel_upload(id), errno);
    }
    if (!S_ISREG(st.st_mode)) continue;
    // Every append writes the file, so its mtime is the upload's last activity.
    out.push_back({id, static_cast<int64_t>(st.st_mtime)});
    if (out.size() == limit) break;
  }
  return out;
}

Status FsBlobStore::remove_upload_leftovers(const std::string& upload_id) {
  // An upload is one file here: without its state, removing it is what abort does.
  return abort_upload(upload_id, std::string());
}

}  // namespace berth::storage
