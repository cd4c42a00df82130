// The bodies of SqlCollectorStore's methods, for the driver .cc files that instantiate it. Every
// transaction body may run more than once (the drivers retry), so each resets what it outputs.
//
// Internal to meta/.
#pragma once

#include <algorithm>
#include <string>
#include <type_traits>
#include <utility>

#include "meta/collector_queries.h"
#include "meta/package_queries.h"
#include "meta/queries.h"
#include "meta/sql_collector_store.h"
#include "meta/sql_common.h"
#include "meta/sql_rows.h"

namespace berth::meta {
namespace collector_detail {

template <class Stmt>
Result<BlobEntry> blob_entry(const Stmt& st) {
  META_TRY(digest, sql::stored_digest(st.column_text(0)));
  return BlobEntry{.digest = digest,
                   .size = sql::to_u64(st.column_int64(1)),
                   .state = static_cast<BlobState>(st.column_int64(2)),
                   .last_seen_at = st.column_int64(3),
                   .referenced = st.column_int64(4) != 0};
}

template <class Connection, class... Args>
Result<std::vector<BlobEntry>> blob_entries(Connection& c, std::string_view query, const Args&... args) {
  META_TRY(st, c.prepare(query));
  sql::bind_all(st, 1, args...);
  std::vector<BlobEntry> out;
  while (true) {
    META_TRY(row, st.step());
    if (!row) return out;
    META_TRY(entry, blob_entry(st));
    out.push_back(std::move(entry));
  }
}

}  // namespace collector_detail

template <class Pool>
template <class Body>
Status SqlCollectorStore<Pool>::read(Body&& body) {
  return transact(pool_, false, std::forward<Body>(body));
}

template <class Pool>
template <class Body>
Status SqlCollectorStore<Pool>::write(Body&& body) {
  return transact(pool_, true, std::forward<Body>(body));
}

// ---- Lease ----

template <class Pool>
Result<bool> SqlCollectorStore<Pool>::acquire_lease(const std::string& name, const std::string& holder, int64_t now,
                                                    int64_t ttl_seconds) {
  bool held = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kAcquireLease, name, holder, now + ttl_seconds, now));
    held = c.changes() > 0;
    return Status::Ok();
  }));
  return held;
}

template <class Pool>
Result<bool> SqlCollectorStore<Pool>::take_over_lease(const std::string& name, const std::string& from,
                                                      const std::string& holder, int64_t now, int64_t ttl_seconds) {
  bool taken = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kTakeOverLease, holder, now + ttl_seconds, name, from, now));
    taken = c.changes() > 0;
    return Status::Ok();
  }));
  return taken;
}

template <class Pool>
Status SqlCollectorStore<Pool>::release_lease(const std::string& name, const std::string& holder) {
  return write([&](auto& c) { return sql::run(c, sql::kReleaseLease, name, holder); });
}

template <class Pool>
Result<std::optional<LeaseHolder>> SqlCollectorStore<Pool>::lease_holder(const std::string& name, int64_t now) {
  std::optional<LeaseHolder> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    out.reset();
    META_TRY(st, c.prepare(sql::kLeaseHolder));
    st.bind(1, name).bind(2, now);
    META_TRY(row, st.step());
    if (row) out = LeaseHolder{.holder = st.column_text(0), .expires_at = st.column_int64(1)};
    return Status::Ok();
  }));
  return out;
}

template <class Pool>
Result<std::string> SqlCollectorStore<Pool>::lease_progress(const std::string& name) {
  std::string progress;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(rows, sql::texts(c, sql::kLeaseProgress, name));
    progress = rows.empty() ? std::string() : rows.front();
    return Status::Ok();
  }));
  return progress;
}

template <class Pool>
Status SqlCollectorStore<Pool>::save_lease_progress(const std::string& name, const std::string& holder,
                                                    const std::string& progress) {
  return write([&](auto& c) { return sql::run(c, sql::kSaveLeaseProgress, progress, name, holder); });
}

// ---- Blobs ----

template <class Pool>
Result<std::vector<BlobEntry>> SqlCollectorStore<Pool>::scan_blobs(const std::string& after, size_t limit) {
  std::vector<BlobEntry> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(rows, collector_detail::blob_entries(c, sql::kScanBlobs, after, sql::to_sql(limit)));
    out = std::move(rows);
    return Status::Ok();
  }));
  return out;
}

template <class Pool>
Result<std::optional<BlobEntry>> SqlCollectorStore<Pool>::blob_entry(const oci::Digest& digest) {
  std::optional<BlobEntry> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(rows, collector_detail::blob_entries(c, sql::kBlobEntry, digest.str()));
    out.reset();
    if (!rows.empty()) out = std::move(rows.front());
    return Status::Ok();
  }));
  return out;
}

template <class Pool>
Result<std::vector<BlobEntry>> SqlCollectorStore<Pool>::blobs_in_state(BlobState state, size_t limit) {
  std::string_view query;
  switch (state) {
    case BlobState::pending: query = sql::kBlobsPending; break;
    case BlobState::deleting: query = sql::kBlobsDeleting; break;
    case BlobState::damaged: query = sql::kBlobsDamaged; break;
    case BlobState::live: return Status(Errc::invalid_argument, "live blobs are walked with scan_blobs");
  }
  std::vector<BlobEntry> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(rows, collector_detail::blob_entries(c, query, sql::to_sql(limit)));
    out = std::move(rows);
    return Status::Ok();
  }));
  return out;
}

template <class Pool>
Result<std::vector<oci::Digest>> SqlCollectorStore<Pool>::mark_for_deletion(const std::vector<oci::Digest>& digests,
                                                                            int64_t seen_before,
                                                                            int64_t pending_before) {
  std::vector<oci::Digest> marked;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    using C = std::remove_reference_t<decltype(c)>;
    marked.clear();
    for (const auto& digest : digests) {
      const std::string d = digest.str();
      BlobState state;
      int64_t last_seen;
      {
        // Held from here to the commit: a link or manifest naming the blob either committed before (and
        // is seen below) or waits and then finds the blob deleting.
        META_TRY(hold, c.prepare(sql::for_dialect<C>(sql::kBlobForCollector, sql::kBlobForCollectorPg)));
        hold.bind(1, d);
        META_TRY(row, hold.step());
        if (!row) continue;
        state = static_cast<BlobState>(hold.column_int64(0));
        last_seen = hold.column_int64(1);
      }
      if (state == BlobState::pending) {
        if (last_seen >= pending_before) continue;
      } else if (state == BlobState::live || state == BlobState::damaged) {
        if (last_seen >= seen_before) continue;
        META_TRY(named, sql::int_of(c, sql::kBlobReferenced, d));
        if (named) continue;
      } else {
        continue;  // deleting already
      }
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kMarkBlobDeleting, d));
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kUnlinkBlobEverywhere, d));
      marked.push_back(digest);
    }
    return Status::Ok();
  }));
  return marked;
}

template <class Pool>
Result<bool> SqlCollectorStore<Pool>::claim_orphan(const oci::Digest& digest, uint64_t size, int64_t now) {
  bool claimed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kInsertOrphanBlob, digest.str(), sql::to_sql(size), now, now));
    claimed = c.changes() > 0;
    return Status::Ok();
  }));
  return claimed;
}

template <class Pool>
Status SqlCollectorStore<Pool>::forget_blobs(const std::vector<oci::Digest>& digests) {
  return write([&](auto& c) -> Status {
    for (const auto& digest : digests) {
      const std::string d = digest.str();
      // A repair that died (begin_repair keeps the links) leaves a deleting row that still has links.
      META_TRY(state, sql::int_of(c, sql::kHoldBlob, d));
      if (state != std::optional<int64_t>(static_cast<int64_t>(BlobState::deleting))) continue;
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kUnlinkBlobEverywhere, d));
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kForgetBlob, d));
    }
    return Status::Ok();
  });
}

// ---- Links ----

template <class Pool>
Result<std::vector<LinkEntry>> SqlCollectorStore<Pool>::scan_links(int64_t after_repository,
                                                                   const std::string& after_digest, size_t limit) {
  std::vector<LinkEntry> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    out.clear();
    META_TRY(st, c.prepare(sql::kScanLinks));
    sql::bind_all(st, 1, after_repository, after_digest, sql::to_sql(limit));
    while (true) {
      META_TRY(row, st.step());
      if (!row) return Status::Ok();
      META_TRY(digest, sql::stored_digest(st.column_text(1)));
      out.push_back(LinkEntry{.repository_id = st.column_int64(0),
                              .digest = digest,
                              .linked_at = st.column_int64(2),
                              .last_seen_at = st.column_int64(3),
                              .referenced_here = st.column_int64(4) != 0});
    }
  }));
  return out;
}

template <class Pool>
Result<bool> SqlCollectorStore<Pool>::remove_unused_link(int64_t repository_id, const oci::Digest& digest,
                                                         int64_t before) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    using C = std::remove_reference_t<decltype(c)>;
    removed = false;
    const std::string d = digest.str();
    META_TRY(st, c.prepare(sql::for_dialect<C>(sql::kBlobForCollector, sql::kBlobForCollectorPg)));
    st.bind(1, d);
    META_TRY(row, st.step());
    if (!row || st.column_int64(1) >= before) return Status::Ok();
    META_TRY(linked_at, sql::int_of(c, sql::kLinkAge, repository_id, d));
    if (!linked_at || *linked_at >= before) return Status::Ok();
    META_TRY(used, sql::int_of(c, sql::kLinkUsedHere, d, repository_id));
    if (used) return Status::Ok();
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kDeleteLink, repository_id, d));
    removed = c.changes() > 0;
    return Status::Ok();
  }));
  return removed;
}

// ---- fsck ----

template <class Pool>
Result<bool> SqlCollectorStore<Pool>::begin_repair(const oci::Digest& digest) {
  bool changed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kBeginRepair, digest.str()));
    changed = c.changes() > 0;
    return Status::Ok();
  }));
  return changed;
}

template <class Pool>
Result<bool> SqlCollectorStore<Pool>::end_repair(const oci::Digest& digest) {
  bool changed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kEndRepair, digest.str()));
    changed = c.changes() > 0;
    return Status::Ok();
  }));
  return changed;
}

template <class Pool>
Result<std::vector<BlobUse>> SqlCollectorStore<Pool>::uses_of(const oci::Digest& digest, size_t limit) {
  std::vector<BlobUse> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    out.clear();
    struct Row {
      std::string repository;
      int64_t repository_id;
      std::string manifest;
      bool deleted;
    };
    std::vector<Row> rows;
    {
      META_TRY(st, c.prepare(sql::kBlobUses));
      sql::bind_all(st, 1, digest.str(), sql::to_sql(limit));
      while (true) {
        META_TRY(row, st.step());
        if (!row) break;
        rows.push_back(Row{st.column_text(0), st.column_int64(1), st.column_text(2), st.column_int64(3) != 0});
      }
    }
    for (const Row& r : rows) {
      META_TRY(manifest, sql::stored_digest(r.manifest));
      BlobUse use{.repository = r.repository, .manifest = manifest, .tags = {}, .listed_by = std::nullopt,
                  .deleted = r.deleted};
      META_TRY(parents, sql::texts(c, sql::kIndexesListing, r.repository_id, r.manifest));
      std::string tagged = r.manifest;
      if (!parents.empty()) {
        META_TRY(parent, sql::stored_digest(parents.front()));
        use.listed_by = parent;
        tagged = parents.front();
      }
      META_TRY(tags, sql::texts(c, sql::kTagsOfManifest, r.repository_id, tagged));
      use.tags = std::move(tags);
      std::sort(use.tags.begin(), use.tags.end());
      out.push_back(std::move(use));
    }
    return Status::Ok();
  }));
  return out;
}

}  // namespace berth::meta
