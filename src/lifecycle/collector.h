// Online garbage collection (docs/lifecycle.md): deletes the objects of blobs no manifest names and no
// client has read, uploaded or mounted within the grace period, objects the metadata does not know
// (crash leftovers), upload data whose session is gone, and repository links no manifest of the
// repository uses — while pushes and pulls go on, on any node of a fleet.
//
// A pass walks, in bounded pages: the blob rows (marking and deleting the unreferenced), the links, the
// objects of the BlobStore, and its upload data. Only the holder of the "gc" lease in the metadata store
// collects; the walks' position is kept with the lease, so a pass a node started (or died in) is finished
// by the next holder. Every object deletion goes through the blob row's `deleting` state
// (meta/collector_store.h), which is what makes it safe against concurrent uploads and manifest pushes.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/status.h"
#include "meta/collector_store.h"
#include "meta/metadata_store.h"
#include "storage/blob_store.h"

namespace berth::lifecycle {

struct CollectorOptions {
  // A blob named by no manifest goes once it was last uploaded, linked, mounted or read this long ago.
  int64_t grace_seconds = 3600;
  // Pending blob rows (an upload that died between writing and publishing) and upload data without a
  // session go once this old; as long as the registry keeps idle upload sessions.
  int64_t stale_upload_seconds = 24 * 3600;
  // step(): a new pass starts this long after the last one ended (on any node); run() starts at once.
  int64_t pass_interval_seconds = 0;
  size_t page = 500;            // rows or objects read at a time
  int64_t lease_seconds = 120;  // renewed after every page; another node takes over after this long
  std::string holder;           // this process, as the lease names it (host:pid)
  // Whether a lease holder is known to be gone (a process of this host that no longer runs): run() then
  // takes the lease over at once instead of waiting for it to expire. Unset: never.
  std::function<bool(const std::string& holder)> holder_gone;
};

struct CollectorStats {
  uint64_t examined = 0;        // rows and objects looked at
  uint64_t blobs_deleted = 0;   // objects deleted: unreferenced blobs, orphans, dead uploads' blobs
  uint64_t bytes_deleted = 0;
  uint64_t orphans_deleted = 0;  // of blobs_deleted: objects the metadata did not know
  uint64_t links_removed = 0;
  uint64_t uploads_removed = 0;  // upload leftovers without a session
  uint64_t blobs_in_grace = 0;   // unreferenced, but read or written within the grace period
  uint64_t bytes_in_grace = 0;
  double seconds = 0;
  bool complete = false;  // a whole pass ended with this call

  void add(const CollectorStats& other);
};

// Totals since start, for /metrics (read while passes run).
struct CollectorMetrics {
  std::atomic<uint64_t> passes{0};
  std::atomic<uint64_t> blobs_deleted{0};
  std::atomic<uint64_t> bytes_deleted{0};
  std::atomic<uint64_t> links_removed{0};
  std::atomic<uint64_t> uploads_removed{0};
  std::atomic<uint64_t> blobs_in_grace{0};   // at the end of the last complete pass
  std::atomic<uint64_t> bytes_in_grace{0};
  std::atomic<double> last_pass_seconds{0};
  std::atomic<int64_t> last_pass_end{0};     // Unix seconds

  std::string render() const;  // Prometheus text
};

class Collector {
 public:
  using Clock = std::function<int64_t()>;  // Unix seconds
  Collector(storage::BlobStore& blobs, meta::MetadataStore& meta, meta::CollectorStore& store,
            CollectorOptions options, Clock clock = {});

  // A whole pass now (`berth gc`), continuing one another node left unfinished. unavailable, naming the
  // holder, when another live node holds the lease.
  Result<CollectorStats> run();
  // What a pass would delete, deleting nothing and taking no lease (`berth gc --dry-run`).
  Result<CollectorStats> dry_run();
  // Part of a pass (`berth serve`'s background collector): about `budget` rows and objects, then it
  // returns; the next step, on any node, goes on from there. Ok with nothing done when another node
  // holds the lease.
  Result<CollectorStats> step(size_t budget);

  CollectorMetrics& metrics() { return metrics_; }
  // Called after every complete pass (for the audit log).
  using PassListener = std::function<void(const CollectorStats&)>;
  void set_pass_listener(PassListener listener);

 private:
  struct Walk;
  Result<CollectorStats> advance(Walk& walk, size_t budget, bool collect);
  Status finish_deleting(CollectorStats& stats);
  struct Doomed {
    oci::Digest digest;
    uint64_t size = 0;
  };
  Status delete_marked(const std::vector<Doomed>& doomed, CollectorStats& stats);
  Status walk_blobs(Walk& walk, size_t& budget, bool collect, CollectorStats& stats);
  Status walk_links(Walk& walk, size_t& budget, bool collect, CollectorStats& stats);
  Status walk_objects(Walk& walk, size_t& budget, bool collect, CollectorStats& stats);
  Status walk_uploads(Walk& walk, size_t& budget, bool collect, CollectorStats& stats);
  void record_pass(const CollectorStats& pass);
  int64_t now() const;

  storage::BlobStore& blobs_;
  meta::MetadataStore& meta_;
  meta::CollectorStore& store_;
  CollectorOptions options_;
  Clock clock_;
  CollectorMetrics metrics_;
  CollectorStats pass_so_far_;  // of the pass this node's steps are in
  PassListener on_pass_;
};

}  // namespace berth::lifecycle
