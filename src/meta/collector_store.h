// CollectorStore: what garbage collection and `berth fsck` read and change in the metadata
// (docs/lifecycle.md). The rules of when a blob may go live in the transactions here; walking the store,
// deleting objects and counting live in lifecycle/collector.
//
// A blob row's state (migration 6) is the lock between a collector and uploads:
//   live ──mark_for_deletion──► deleting ──(object deleted)──► forget_blobs: row gone
//   (upload) pending ──publish──► live;  live ──begin/end_repair (fsck)──► damaged ──(upload)──► pending
// An object is deleted only while its row is `deleting`, and a row becomes `deleting` only in a
// transaction that found no manifest naming the blob and no read of it within the grace period; an
// upload never writes an object whose row is `deleting` (it waits) and makes the row `pending` before it
// writes, so a collector never deletes an object an upload has just written.
//
// Contract as MetadataStore's: thread safe, nullopt/false for absent, times in Unix seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "oci/digest.h"

namespace berth::meta {

enum class BlobState : int64_t { live = 0, pending = 1, deleting = 2, damaged = 3 };

struct BlobEntry {
  oci::Digest digest;
  uint64_t size = 0;
  BlobState state = BlobState::live;
  int64_t last_seen_at = 0;
  bool referenced = false;  // a manifest row names it (live, or soft-deleted and still restorable)
};

// A repository's link to a blob (it may serve the blob).
struct LinkEntry {
  int64_t repository_id = 0;
  oci::Digest digest;
  int64_t linked_at = 0;
  int64_t last_seen_at = 0;      // of the blob
  bool referenced_here = false;  // a manifest of this repository names the blob
};

// A manifest that names a blob, for fsck's report.
struct BlobUse {
  std::string repository;
  oci::Digest manifest;
  std::vector<std::string> tags;           // of the manifest, or of the index that lists it
  std::optional<oci::Digest> listed_by;    // the index whose platform the manifest is, if any
  bool deleted = false;                    // soft-deleted (restorable)
};

struct LeaseHolder {
  std::string holder;
  int64_t expires_at = 0;
};

class CollectorStore {
 public:
  virtual ~CollectorStore() = default;

  // ---- One collector at a time (a fleet shares the database) ----
  // Takes the lease `name` for `holder` until now + ttl if it is free, expired or already the holder's
  // (then renews it). True when the holder has it.
  virtual Result<bool> acquire_lease(const std::string& name, const std::string& holder, int64_t now,
                                     int64_t ttl_seconds) = 0;
  // Takes the lease from `from` (a holder known to be dead: a process of this host that no longer runs)
  // if `from` still holds it. True when taken.
  virtual Result<bool> take_over_lease(const std::string& name, const std::string& from, const std::string& holder,
                                       int64_t now, int64_t ttl_seconds) = 0;
  // Ok whoever holds it; only the holder's lease is released.
  virtual Status release_lease(const std::string& name, const std::string& holder) = 0;
  virtual Result<std::optional<LeaseHolder>> lease_holder(const std::string& name, int64_t now) = 0;
  // Where the walks of a pass have got to (opaque to the store), kept with the lease so that the next
  // holder, on any node, goes on from there.
  virtual Result<std::string> lease_progress(const std::string& name) = 0;
  virtual Status save_lease_progress(const std::string& name, const std::string& holder,
                                     const std::string& progress) = 0;

  // ---- Blobs ----
  // Blob rows in digest order after `after`, at most `limit`, with whether a manifest names each.
  virtual Result<std::vector<BlobEntry>> scan_blobs(const std::string& after, size_t limit) = 0;
  // One blob's row as it is now (nullopt: none).
  virtual Result<std::optional<BlobEntry>> blob_entry(const oci::Digest& digest) = 0;
  // Rows in one of the non-live states (few: found through a partial index), at most `limit`.
  virtual Result<std::vector<BlobEntry>> blobs_in_state(BlobState state, size_t limit) = 0;
  // One transaction for the batch: each blob that is live or damaged, named by no manifest and last seen
  // before `seen_before` — or pending and last seen before `pending_before` (an upload that died) —
  // becomes deleting and every repository's link to it is removed. Returns the blobs marked.
  virtual Result<std::vector<oci::Digest>> mark_for_deletion(const std::vector<oci::Digest>& digests,
                                                             int64_t seen_before, int64_t pending_before) = 0;
  // An object the BlobStore holds without a row (a crash between writing it and recording it, or a
  // store filled by other means): creates its row as deleting unless a row appeared meanwhile. True when
  // the caller may now delete the object.
  virtual Result<bool> claim_orphan(const oci::Digest& digest, uint64_t size, int64_t now) = 0;
  // Removes the rows of deleting blobs once their objects are gone, in one transaction. Rows that are not
  // deleting (or absent) are left alone.
  virtual Status forget_blobs(const std::vector<oci::Digest>& digests) = 0;

  // ---- Links ----
  // Links in (repository id, digest) order after the given pair, at most `limit`.
  virtual Result<std::vector<LinkEntry>> scan_links(int64_t after_repository, const std::string& after_digest,
                                                    size_t limit) = 0;
  // Removes a link no manifest of its repository uses, made and last seen before `before` (checked again
  // with the blob row held, so that a manifest push naming the blob cannot slip in between). True when
  // removed.
  virtual Result<bool> remove_unused_link(int64_t repository_id, const oci::Digest& digest, int64_t before) = 0;

  // ---- fsck ----
  // Repairing a blob whose object is missing or corrupt, in two steps around the removal of the object:
  // begin_repair makes a live (or damaged) row deleting, keeping its links, so uploads of the digest wait
  // while the bad object goes; end_repair then makes it damaged: not served or linked, and the next
  // upload of the digest writes the object anew and makes it live. The caller holds the collector's
  // lease meanwhile (a collector would take a deleting row for its own). True when changed.
  virtual Result<bool> begin_repair(const oci::Digest& digest) = 0;
  virtual Result<bool> end_repair(const oci::Digest& digest) = 0;
  // The manifests naming a blob, at most `limit`.
  virtual Result<std::vector<BlobUse>> uses_of(const oci::Digest& digest, size_t limit) = 0;
};

}  // namespace berth::meta
