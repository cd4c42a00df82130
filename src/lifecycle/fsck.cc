#include "lifecycle/fsck.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "common/hasher.h"

namespace berth::lifecycle {

namespace {
constexpr size_t kBuffer = 1024 * 1024;

Status io_error(const std::string& what, int err) {
  return Status(Errc::io_error, what + ": " + std::strerror(err));
}

Status write_all(int fd, const char* data, size_t len, const std::string& path) {
  while (len > 0) {
    ssize_t n = ::write(fd, data, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return io_error("write " + path, errno);
    }
    data += n;
    len -= static_cast<size_t>(n);
  }
  return Status::Ok();
}
}  // namespace

const char* to_string(FsckProblem problem) {
  switch (problem) {
    case FsckProblem::missing: return "missing";
    case FsckProblem::wrong_size: return "wrong-size";
    case FsckProblem::corrupt: return "corrupt";
    case FsckProblem::damaged: return "damaged";
  }
  return "?";
}

bool FsckReport::image_damage() const {
  return std::any_of(findings.begin(), findings.end(), [](const FsckFinding& f) { return f.referenced; });
}

// What the object of one row looks like. `problem` empty: present with the row's size (and, verified,
// the right content).
struct Fsck::Inspection {
  std::optional<FsckProblem> problem;  // missing, wrong_size or corrupt
  std::optional<uint64_t> stored_size;
  uint64_t bytes_read = 0;  // hashed
};

Fsck::Fsck(storage::BlobStore& blobs, meta::CollectorStore& store, FsckOptions options, Clock clock)
    : blobs_(blobs), store_(store), options_(std::move(options)), clock_(std::move(clock)) {
  if (options_.page == 0) options_.page = 1;
}

int64_t Fsck::now() const { return clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr)); }

Result<FsckReport> Fsck::run() {
  const auto started = std::chrono::steady_clock::now();
  if (options_.verify) buffer_.resize(kBuffer);
  FsckReport report;
  std::string after;
  for (;;) {
    auto page = store_.scan_blobs(after, options_.page);
    if (!page.ok()) return page.status();
    for (const auto& row : *page) BERTH_RETURN_IF_ERROR(check_row(row, report));
    if (page->size() < options_.page) break;
    after = page->back().digest.str();
  }
  report.stats.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return report;
}

Result<Fsck::Inspection> Fsck::inspect(const meta::BlobEntry& row) {
  Inspection seen;
  auto size = blobs_.stat(row.digest);
  if (!size.ok()) {
    if (size.status().code() != Errc::not_found) {
      return Status(size.status().code(), row.digest.str() + ": " + size.status().message());
    }
    seen.problem = FsckProblem::missing;
    return seen;
  }
  seen.stored_size = *size;
  if (*size != row.size) {
    seen.problem = FsckProblem::wrong_size;
    return seen;
  }
  if (!options_.verify) return seen;
  auto matches = content_matches(row.digest, row.size, seen.bytes_read);
  // Once more after a failed read: a dropped connection to object storage should not end a long walk.
  if (!matches.ok() && matches.status().code() != Errc::not_found && matches.status().code() != Errc::range_invalid) {
    matches = content_matches(row.digest, row.size, seen.bytes_read);
  }
  if (!matches.ok()) {
    // Gone or shrunk between stat and open: what a second look would find.
    if (matches.status().code() == Errc::not_found) {
      seen.stored_size.reset();
      seen.problem = FsckProblem::missing;
      return seen;
    }
    if (matches.status().code() == Errc::range_invalid) {
      seen.problem = FsckProblem::wrong_size;
      return seen;
    }
    return Status(matches.status().code(), row.digest.str() + ": " + matches.status().message());
  }
  if (!*matches) seen.problem = FsckProblem::corrupt;
  return seen;
}

// Streams [0, size) of the object through the digest's hash. A read that ends early is an error, not
// corruption: the object had the right size a moment ago, so the read failed (a stream cut short), and
// calling it corrupt would let --repair remove bytes that may well be good.
Result<bool> Fsck::content_matches(const oci::Digest& digest, uint64_t size, uint64_t& bytes_read) {
  Hasher hasher(digest.algorithm());
  if (size > 0) {
    auto opened = blobs_.open(digest, 0, size);
    if (!opened.ok()) return opened.status();
    uint64_t done = 0;
    if (opened->fd() >= 0) {
      const int fd = opened->fd();
      const uint64_t base = opened->offset();
      while (done < size) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), size - done));
        ssize_t n = ::pread(fd, buffer_.data(), want, static_cast<off_t>(base + done));
        if (n < 0) {
          if (errno == EINTR) continue;
          return io_error("read " + digest.str(), errno);
        }
        if (n == 0) break;
        hasher.update(buffer_.data(), static_cast<size_t>(n));
        done += static_cast<uint64_t>(n);
      }
    } else {
      auto stream = opened->take_stream();
      while (stream && done < size) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), size - done));
        auto n = stream->read(buffer_.data(), want);
        if (!n.ok()) return n.status();
        if (*n == 0) break;
        hasher.update(buffer_.data(), *n);
        done += *n;
      }
    }
    bytes_read += done;
    if (done != size) {
      return Status(Errc::io_error, "read of " + digest.str() + " ended after " + std::to_string(done) + " of " +
                                        std::to_string(size) + " bytes");
    }
  }
  return hasher.hex_digest() == digest.hex();
}

Status Fsck::check_row(const meta::BlobEntry& row, FsckReport& report) {
  FsckStats& stats = report.stats;
  if (row.state != meta::BlobState::live && row.state != meta::BlobState::damaged) {
    ++stats.skipped;  // an upload or a collection in flight: its object is not settled
    return Status::Ok();
  }
  auto seen = inspect(row);
  if (!seen.ok()) return seen.status();
  ++stats.checked;
  stats.bytes_verified += seen->bytes_read;
  if (row.state == meta::BlobState::live && !seen->problem) return Status::Ok();

  // Confirmed against the row as it is now: a collector may have deleted the object (the row is then
  // deleting or gone), a push may have healed a damaged blob, a manifest may name the blob since.
  auto current = store_.blob_entry(row.digest);
  if (!current.ok()) return current.status();
  if (!*current || (*current)->state != row.state) {
    ++stats.skipped;
    return Status::Ok();
  }
  const meta::BlobEntry& now_row = **current;

  FsckFinding finding{.digest = row.digest,
                      .size = now_row.size,
                      .stored_size = seen->stored_size,
                      .problem = row.state == meta::BlobState::damaged ? FsckProblem::damaged : *seen->problem,
                      .referenced = now_row.referenced,
                      .uses = {},
                      .more_uses = false,
                      .repaired = false,
                      .note = {}};
  if (finding.referenced) {
    auto uses = store_.uses_of(row.digest, options_.uses_limit + 1);
    if (!uses.ok()) return uses.status();
    finding.more_uses = uses->size() > options_.uses_limit;
    if (finding.more_uses) uses->erase(uses->begin() + static_cast<ptrdiff_t>(options_.uses_limit), uses->end());
    finding.uses = std::move(*uses);
  }
  switch (finding.problem) {
    case FsckProblem::missing: ++stats.missing; break;
    case FsckProblem::wrong_size: ++stats.wrong_size; break;
    case FsckProblem::corrupt: ++stats.corrupt; break;
    case FsckProblem::damaged: ++stats.still_damaged; break;
  }
  if (!finding.referenced) ++stats.unreferenced;

  // A damaged row's object: gone, set aside by an earlier repair, or bytes that no longer match. Bytes
  // that match (restored from a backup, say) are kept: the next push finds them and makes the blob live.
  const bool object_bad = seen->problem == FsckProblem::wrong_size || seen->problem == FsckProblem::corrupt;
  if (finding.problem == FsckProblem::damaged) {
    if (seen->problem == FsckProblem::missing) {
      finding.note = "object absent; a push of the digest restores it";
    } else if (object_bad) {
      finding.note = std::string("object still ") + to_string(*seen->problem);
    } else {
      finding.note = options_.verify ? "object intact; a push of the digest makes it live again"
                                     : "a push of the digest makes it live again";
    }
  }

  if (options_.repair && finding.problem != FsckProblem::damaged) {
    // Copied first; then the row is held (uploads of the digest wait) while the bad object goes, and
    // left damaged, so the next upload writes the object anew instead of keeping the bad one.
    const std::string aside = object_bad ? keep_copy(row.digest, *seen->stored_size) : "";
    auto marked = store_.begin_repair(row.digest);
    if (!marked.ok()) return marked.status();
    if (!*marked) {
      finding.note = "changed while being repaired; left alone";
    } else {
      if (object_bad) BERTH_RETURN_IF_ERROR(blobs_.remove(row.digest));
      auto ended = store_.end_repair(row.digest);
      if (!ended.ok()) return ended.status();
      finding.repaired = true;
      finding.note = std::string("marked damaged") + (object_bad ? ", object " + aside : "") +
                     "; a push of the digest heals it";
    }
  } else if (options_.repair && object_bad) {
    // Left by a repair that stopped between marking and removing, or damaged again since. Looked at once
    // more after the copy (which may take long): a push may have made the blob live with new bytes.
    const std::string aside = keep_copy(row.digest, *seen->stored_size);
    auto again = store_.blob_entry(row.digest);
    if (!again.ok()) return again.status();
    auto held = *again && (*again)->state == meta::BlobState::damaged ? store_.begin_repair(row.digest)
                                                                      : Result<bool>(false);
    if (!held.ok()) return held.status();
    if (!*held) {
      finding.note += "; changed while being repaired; left alone";
    } else {
      BERTH_RETURN_IF_ERROR(blobs_.remove(row.digest));
      auto ended = store_.end_repair(row.digest);
      if (!ended.ok()) return ended.status();
      finding.repaired = true;
      finding.note += "; " + aside;
    }
  }
  if (finding.repaired) ++stats.repaired;
  report.findings.push_back(std::move(finding));
  return Status::Ok();
}

// Copies a bad object into the quarantine directory, when there is one, before the caller removes it;
// says where it went. A failed copy does not stop the removal: a corrupt object left in place would be
// kept by the next push of its digest, and healing matters more than the evidence.
std::string Fsck::keep_copy(const oci::Digest& digest, uint64_t size) {
  if (options_.quarantine_dir.empty()) return "removed";
  std::string path;
  if (Status s = copy_aside(digest, size, path); !s.ok()) return "removed (no copy kept: " + s.message() + ")";
  return "moved to " + path;
}

// A streamed copy through BlobStore::open, so it works for every store; the object is removed by the
// caller afterwards. Named <alg>-<hex>-<unix time> so copies of one digest from several runs coexist.
Status Fsck::copy_aside(const oci::Digest& digest, uint64_t size, std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(options_.quarantine_dir, ec);
  if (ec) return Status(Errc::io_error, "create " + options_.quarantine_dir + ": " + ec.message());
  const std::string base = options_.quarantine_dir + "/" + std::string(digest.algorithm_name()) + "-" +
                           std::string(digest.hex()) + "-" + std::to_string(now());
  int fd = -1;
  for (int n = 0; n < 100 && fd < 0; ++n) {
    path = n == 0 ? base : base + "." + std::to_string(n);
    fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0 && errno != EEXIST) return io_error("create " + path, errno);
  }
  if (fd < 0) return Status(Errc::io_error, "create " + base + ": too many copies");
  if (buffer_.empty()) buffer_.resize(kBuffer);
  auto fail = [&](Status s) {
    ::close(fd);
    ::unlink(path.c_str());
    return s;
  };
  if (size > 0) {
    auto opened = blobs_.open(digest, 0, size);
    if (!opened.ok()) return fail(opened.status());
    uint64_t done = 0;
    auto stream = opened->fd() >= 0 ? nullptr : opened->take_stream();
    while (done < size) {
      const size_t want = static_cast<size_t>(std::min<uint64_t>(buffer_.size(), size - done));
      size_t got = 0;
      if (stream) {
        auto n = stream->read(buffer_.data(), want);
        if (!n.ok()) return fail(n.status());
        got = *n;
      } else {
        ssize_t n = ::pread(opened->fd(), buffer_.data(), want, static_cast<off_t>(opened->offset() + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail(io_error("read " + digest.str(), errno));
        got = static_cast<size_t>(n);
      }
      if (got == 0) break;  // shorter than it was: what there is, is what is kept
      if (Status s = write_all(fd, buffer_.data(), got, path); !s.ok()) return fail(s);
      done += got;
    }
  }
  if (::fsync(fd) != 0) return fail(io_error("fsync " + path, errno));
  if (::close(fd) != 0) {
    ::unlink(path.c_str());
    return io_error("close " + path, errno);
  }
  return Status::Ok();
}

}  // namespace berth::lifecycle
