// `berth fsck` (docs/lifecycle.md): checks that the object of every blob row exists with the row's size
// and, when asked, still hashes to its digest; reports what is damaged with the manifests that name it,
// and on request takes damaged blobs out of service so that the next push of the same digest heals them.
//
// The walk goes over the blob rows in bounded pages (CollectorStore::scan_blobs), live and damaged rows
// alike; pending and deleting rows are uploads and collections in flight and are passed over. Content is
// streamed through a fixed buffer, never held whole, from whichever BlobStore serves the registry.
//
// Safe while the registry serves: a finding is confirmed against a fresh read of its row before it is
// reported or repaired, so a blob collected (or healed) during the walk is not reported as missing.
// Repair of a corrupt object is mark_damaged, then the object's removal (after an optional copy kept
// for inspection): once the row is damaged nothing serves or links the blob, and an object left in place
// would be kept by the next upload of the same bytes (commit_upload keeps an object of the right size),
// so the corrupt bytes must go for the push to heal.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "meta/collector_store.h"
#include "storage/blob_store.h"

namespace berth::lifecycle {

struct FsckOptions {
  bool verify = false;   // re-hash every object's content, not only its size
  bool repair = false;   // take damaged blobs out of service and set corrupt objects aside
  size_t page = 500;     // blob rows read at a time
  size_t uses_limit = 20;  // manifests named per finding (a base layer may be in thousands)
  // Where a corrupt or wrong-size object is copied before it is removed, as <alg>-<hex>-<unix time>;
  // empty: removed without a copy (the default for object storage, where a local copy may be huge).
  std::string quarantine_dir;
};

enum class FsckProblem {
  missing,     // the row is live, the object absent
  wrong_size,  // the object's size differs from the row's
  corrupt,     // right size, but the content does not hash to the digest (--verify)
  damaged,     // the row was already damaged (an earlier repair): not served until pushed again
};
const char* to_string(FsckProblem problem);

struct FsckFinding {
  oci::Digest digest;
  uint64_t size = 0;                       // the row's
  std::optional<uint64_t> stored_size;     // the object's, when it exists
  FsckProblem problem = FsckProblem::missing;
  bool referenced = false;                 // a manifest names it: an image is broken
  std::vector<meta::BlobUse> uses;         // at most FsckOptions::uses_limit
  bool more_uses = false;                  // uses was cut at the limit
  bool repaired = false;                   // this run marked it damaged and/or set its object aside
  std::string note;                        // what repair did, or why it could not
};

struct FsckStats {
  uint64_t checked = 0;         // live and damaged rows whose object was looked at
  uint64_t bytes_verified = 0;  // content read and hashed
  uint64_t missing = 0;
  uint64_t wrong_size = 0;
  uint64_t corrupt = 0;
  uint64_t still_damaged = 0;   // rows found already damaged
  uint64_t unreferenced = 0;    // of the findings: blobs no manifest names (garbage collection's business)
  uint64_t repaired = 0;
  uint64_t skipped = 0;         // pending or deleting rows, and rows that changed while being checked
  double seconds = 0;

  uint64_t findings() const { return missing + wrong_size + corrupt + still_damaged; }
};

struct FsckReport {
  FsckStats stats;
  std::vector<FsckFinding> findings;  // in digest order
  // Damage to a blob a manifest names: an image cannot be pulled whole. What the exit status reports.
  bool image_damage() const;
};

class Fsck {
 public:
  using Clock = std::function<int64_t()>;  // Unix seconds (names of quarantined copies)
  Fsck(storage::BlobStore& blobs, meta::CollectorStore& store, FsckOptions options, Clock clock = {});

  // One whole walk. An error of a backend (not a damaged blob) ends it.
  Result<FsckReport> run();

 private:
  struct Inspection;
  Result<Inspection> inspect(const meta::BlobEntry& row);
  Result<bool> content_matches(const oci::Digest& digest, uint64_t size, uint64_t& bytes_read);
  Status check_row(const meta::BlobEntry& row, FsckReport& report);
  std::string keep_copy(const oci::Digest& digest, uint64_t size);
  Status copy_aside(const oci::Digest& digest, uint64_t size, std::string& path);
  int64_t now() const;

  storage::BlobStore& blobs_;
  meta::CollectorStore& store_;
  FsckOptions options_;
  Clock clock_;
  std::vector<char> buffer_;  // one, reused: memory stays flat whatever the blobs' sizes
};

}  // namespace berth::lifecycle
