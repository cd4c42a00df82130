// The statements of CollectorStore (collector_store.h), written once for both drivers as queries.h's are.
//
// Internal to meta/.
#pragma once

#include <string_view>

namespace berth::meta::sql {

// ---- Lease ----
// Taken when free, expired, or already the caller's: the WHERE of DO UPDATE is the compare-and-set.
inline constexpr std::string_view kAcquireLease =
    "INSERT INTO lease (name, holder, expires_at) VALUES (?, ?, ?) "
    "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at "
    "WHERE lease.expires_at < ? OR lease.holder = excluded.holder";
inline constexpr std::string_view kTakeOverLease =
    "UPDATE lease SET holder = ?, expires_at = ? WHERE name = ? AND holder = ? AND expires_at >= ?";
inline constexpr std::string_view kReleaseLease = "UPDATE lease SET expires_at = 0 WHERE name = ? AND holder = ?";
inline constexpr std::string_view kLeaseHolder = "SELECT holder, expires_at FROM lease WHERE name = ? AND expires_at >= ?";
inline constexpr std::string_view kLeaseProgress = "SELECT progress FROM lease WHERE name = ?";
inline constexpr std::string_view kSaveLeaseProgress = "UPDATE lease SET progress = ? WHERE name = ? AND holder = ?";

// ---- Blobs ----
// Columns read by blob_entry(): digest, size, state, last_seen_at, referenced (0/1).
#define BERTH_META_BLOB_ENTRY                                                                      \
  "SELECT b.digest, b.size, b.state, b.last_seen_at, "                                             \
  "CASE WHEN EXISTS (SELECT 1 FROM manifest_ref r WHERE r.child_digest = b.digest AND r.kind = 'blob') " \
  "THEN 1 ELSE 0 END FROM blob b "
inline constexpr std::string_view kScanBlobs = BERTH_META_BLOB_ENTRY "WHERE b.digest > ? ORDER BY b.digest LIMIT ?";
inline constexpr std::string_view kBlobEntry = BERTH_META_BLOB_ENTRY "WHERE b.digest = ?";
// One text per state, with the state written out: the partial index blob_not_live serves a literal, not
// a parameter PostgreSQL cannot see when it plans a prepared statement.
inline constexpr std::string_view kBlobsPending = BERTH_META_BLOB_ENTRY "WHERE b.state = 1 ORDER BY b.digest LIMIT ?";
inline constexpr std::string_view kBlobsDeleting = BERTH_META_BLOB_ENTRY "WHERE b.state = 2 ORDER BY b.digest LIMIT ?";
inline constexpr std::string_view kBlobsDamaged = BERTH_META_BLOB_ENTRY "WHERE b.state = 3 ORDER BY b.digest LIMIT ?";
#undef BERTH_META_BLOB_ENTRY
// Held exclusively while a collector decides (PostgreSQL; SQLite's writer holds everything).
#define BERTH_META_BLOB_FOR_COLLECTOR "SELECT state, last_seen_at FROM blob WHERE digest = ?"
inline constexpr std::string_view kBlobForCollector = BERTH_META_BLOB_FOR_COLLECTOR;
inline constexpr std::string_view kBlobForCollectorPg = BERTH_META_BLOB_FOR_COLLECTOR " FOR UPDATE";
#undef BERTH_META_BLOB_FOR_COLLECTOR
inline constexpr std::string_view kBlobReferenced =
    "SELECT 1 FROM manifest_ref WHERE child_digest = ? AND kind = 'blob' LIMIT 1";
inline constexpr std::string_view kMarkBlobDeleting = "UPDATE blob SET state = 2 WHERE digest = ?";
inline constexpr std::string_view kUnlinkBlobEverywhere = "DELETE FROM repository_blob WHERE digest = ?";
inline constexpr std::string_view kInsertOrphanBlob =
    "INSERT INTO blob (digest, size, created_at, state, last_seen_at) VALUES (?, ?, ?, 2, ?) "
    "ON CONFLICT (digest) DO NOTHING";
inline constexpr std::string_view kForgetBlob = "DELETE FROM blob WHERE digest = ? AND state = 2";
inline constexpr std::string_view kBeginRepair = "UPDATE blob SET state = 2 WHERE digest = ? AND state IN (0, 3)";
inline constexpr std::string_view kEndRepair = "UPDATE blob SET state = 3 WHERE digest = ? AND state = 2";

// ---- Links ----
inline constexpr std::string_view kScanLinks =
    "SELECT rb.repository_id, rb.digest, rb.created_at, b.last_seen_at, "
    "CASE WHEN EXISTS (SELECT 1 FROM manifest_ref r WHERE r.child_digest = rb.digest AND r.kind = 'blob' "
    "AND r.repository_id = rb.repository_id) THEN 1 ELSE 0 END "
    "FROM repository_blob rb JOIN blob b ON b.digest = rb.digest "
    "WHERE (rb.repository_id, rb.digest) > (?, ?) ORDER BY rb.repository_id, rb.digest LIMIT ?";
inline constexpr std::string_view kLinkAge = "SELECT created_at FROM repository_blob WHERE repository_id = ? AND digest = ?";
inline constexpr std::string_view kLinkUsedHere =
    "SELECT 1 FROM manifest_ref WHERE child_digest = ? AND kind = 'blob' AND repository_id = ? LIMIT 1";
inline constexpr std::string_view kDeleteLink = "DELETE FROM repository_blob WHERE repository_id = ? AND digest = ?";

// ---- fsck ----
inline constexpr std::string_view kBlobUses =
    "SELECT r.name, r.id, m.digest, CASE WHEN m.deleted_at IS NULL THEN 0 ELSE 1 END "
    "FROM manifest_ref mr JOIN repository r ON r.id = mr.repository_id "
    "JOIN manifest m ON m.repository_id = mr.repository_id AND m.digest = mr.manifest_digest "
    "WHERE mr.child_digest = ? AND mr.kind = 'blob' ORDER BY r.name, m.digest LIMIT ?";
inline constexpr std::string_view kIndexesListing =
    "SELECT manifest_digest FROM manifest_ref WHERE repository_id = ? AND child_digest = ? AND kind = 'manifest' "
    "ORDER BY manifest_digest LIMIT 1";

}  // namespace berth::meta::sql
