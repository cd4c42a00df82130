// The statements every MetadataStore driver runs, written once.
//
// Texts use SQLite's '?' placeholders; the PostgreSQL driver turns them into $1..$n with
// numbered_placeholders() when it prepares them, so there is one copy of each query to review. The
// schema (migrations.h) makes the rest portable: byte-order collations, BIGINT everywhere, and
// ON CONFLICT clauses that both dialects accept.
//
// Internal to meta/.
#pragma once

#include <string>
#include <string_view>

namespace berth::meta::sql {

// ---- Migrations (run while holding the driver's migration lock) ----
inline constexpr std::string_view kMigrationApplied = "SELECT 1 FROM schema_migrations WHERE version = ?";
inline constexpr std::string_view kRecordMigration =
    "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)";

// ---- Repositories ----
inline constexpr std::string_view kFindRepositoryId = "SELECT id FROM repository WHERE name = ?";
inline constexpr std::string_view kInsertRepository =
    "INSERT INTO repository (name, created_at) VALUES (?, ?) ON CONFLICT (name) DO NOTHING";
inline constexpr std::string_view kListRepositories =
    "SELECT name FROM repository WHERE name > ? AND deleted_at IS NULL ORDER BY name LIMIT ?";

// ---- Blobs ----
// Rows are in one of four states (migration 6): 0 live, 1 pending, 2 deleting, 3 damaged. Only live
// blobs are served, linked and named by manifests; see docs/lifecycle.md for the collector's invariant.
inline constexpr std::string_view kInsertBlob =
    "INSERT INTO blob (digest, size, created_at, last_seen_at) VALUES (?, ?, ?, ?) ON CONFLICT (digest) DO NOTHING";
inline constexpr std::string_view kBlobSize = "SELECT size FROM blob WHERE digest = ? AND state = 0";
// The blob's state, holding its row until the transaction ends. On PostgreSQL an exclusive row lock (the
// kind an UPDATE takes, which the same transaction then needs for the blob's counters: a shared lock
// upgraded by two transactions at once deadlocks): a collector marking the blob waits for it, or it waits
// for the collector and sees the mark. SQLite's single writer orders them anyway. Callers holding several
// take them in digest order.
#define BERTH_META_BLOB_STATE "SELECT state FROM blob WHERE digest = ?"
inline constexpr std::string_view kHoldBlob = BERTH_META_BLOB_STATE;
inline constexpr std::string_view kHoldBlobPg = BERTH_META_BLOB_STATE " FOR NO KEY UPDATE";
#undef BERTH_META_BLOB_STATE
// An upload about to write the object: the row exists (pending) before the object does.
inline constexpr std::string_view kInsertPendingBlob =
    "INSERT INTO blob (digest, size, created_at, state, last_seen_at) VALUES (?, ?, ?, 1, ?) "
    "ON CONFLICT (digest) DO NOTHING";
inline constexpr std::string_view kSetBlobPending = "UPDATE blob SET state = 1, size = ?, last_seen_at = ? WHERE digest = ?";
// The object is whole: the blob becomes live (or stays live when another upload of it got there first).
inline constexpr std::string_view kPublishBlob =
    "UPDATE blob SET state = 0, last_seen_at = ? WHERE digest = ? AND state IN (0, 1)";
inline constexpr std::string_view kTouchBlob = "UPDATE blob SET last_seen_at = ? WHERE digest = ? AND last_seen_at < ?";
inline constexpr std::string_view kLinkBlob =
    "INSERT INTO repository_blob (repository_id, digest, created_at) VALUES (?, ?, ?) "
    "ON CONFLICT (repository_id, digest) DO NOTHING";
inline constexpr std::string_view kLinkedBlob =
    "SELECT b.size, b.last_seen_at FROM repository_blob rb "
    "JOIN repository r ON r.id = rb.repository_id JOIN blob b ON b.digest = rb.digest "
    "WHERE r.name = ? AND rb.digest = ? AND b.state = 0";
// Inside put_manifest, after the blob's row is held: the repository may still serve it.
inline constexpr std::string_view kLinkExists = "SELECT 1 FROM repository_blob WHERE repository_id = ? AND digest = ?";
// SQLite, whose writer holds everything anyway: both in one read (the blob live and linked here).
inline constexpr std::string_view kLiveLink =
    "SELECT 1 FROM repository_blob rb JOIN blob b ON b.digest = rb.digest "
    "WHERE rb.repository_id = ? AND rb.digest = ? AND b.state = 0";
inline constexpr std::string_view kUnlinkBlob =
    "DELETE FROM repository_blob WHERE repository_id = (SELECT id FROM repository WHERE name = ?) AND digest = ?";

// ---- Upload sessions ----
// Columns read by upload_row(): id, repository, offset, hash_state, storage_state, started_at, updated_at.
#define BERTH_META_UPLOAD_SELECT                                                                   \
  "SELECT u.id, r.name, u.byte_offset, u.hash_state, u.storage_state, u.started_at, u.updated_at " \
  "FROM upload u JOIN repository r ON r.id = u.repository_id "
inline constexpr std::string_view kInsertUpload =
    "INSERT INTO upload (id, repository_id, byte_offset, hash_state, storage_state, started_at, updated_at, "
    "opened_by, opened_from) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING";
inline constexpr std::string_view kOpenUploadsBy = "SELECT COUNT(*) FROM upload WHERE opened_by = ?";
inline constexpr std::string_view kOpenUploadsFrom = "SELECT COUNT(*) FROM upload WHERE opened_from = ?";
inline constexpr std::string_view kGetUpload = BERTH_META_UPLOAD_SELECT "WHERE u.id = ?";
inline constexpr std::string_view kUploadsIdleSince =
    BERTH_META_UPLOAD_SELECT "WHERE u.updated_at < ? ORDER BY u.updated_at, u.id";
inline constexpr std::string_view kEmptyUploadsIdleSince =
    BERTH_META_UPLOAD_SELECT "WHERE u.byte_offset = 0 AND u.updated_at < ? ORDER BY u.updated_at, u.id";
// Compare-and-set on the offset: the WHERE clause is the "compare".
inline constexpr std::string_view kAdvanceUpload =
    "UPDATE upload SET byte_offset = ?, hash_state = ?, storage_state = ?, updated_at = ? "
    "WHERE id = ? AND byte_offset = ?";
inline constexpr std::string_view kUploadOffset = "SELECT byte_offset FROM upload WHERE id = ?";
inline constexpr std::string_view kDeleteUpload = "DELETE FROM upload WHERE id = ?";
inline constexpr std::string_view kTouchUpload = "UPDATE upload SET updated_at = ? WHERE id = ?";
// Expiry: the WHERE clause checks again that the upload is idle, so activity since it was listed wins.
inline constexpr std::string_view kDeleteIdleUpload = "DELETE FROM upload WHERE id = ? AND updated_at < ?";
#undef BERTH_META_UPLOAD_SELECT

// ---- Manifests and tags ----
// Columns read by manifest_row(): repository, digest, media_type, artifact_type, content, subject,
// annotations, created_at.
#define BERTH_META_MANIFEST_SELECT                                                                             \
  "SELECT r.name, m.digest, m.media_type, m.artifact_type, m.content, m.subject, m.annotations, m.created_at " \
  "FROM manifest m JOIN repository r ON r.id = m.repository_id "
// Soft-deleted manifests (deleted_at set) are invisible to every read of the distribution API.
inline constexpr std::string_view kGetManifest =
    BERTH_META_MANIFEST_SELECT "WHERE r.name = ? AND m.digest = ? AND m.deleted_at IS NULL";
inline constexpr std::string_view kManifestExists =
    "SELECT 1 FROM manifest m JOIN repository r ON r.id = m.repository_id "
    "WHERE r.name = ? AND m.digest = ? AND m.deleted_at IS NULL LIMIT 1";
inline constexpr std::string_view kGetManifestByTag =
    BERTH_META_MANIFEST_SELECT
    "JOIN tag t ON t.repository_id = m.repository_id AND t.manifest_digest = m.digest "
    "WHERE r.name = ? AND t.name = ? AND m.deleted_at IS NULL";
#undef BERTH_META_MANIFEST_SELECT
// Same repository + digest means the same bytes: the first row stands, created_at included.
inline constexpr std::string_view kInsertManifest =
    "INSERT INTO manifest (repository_id, digest, media_type, artifact_type, content, subject, annotations, "
    "size, created_at, attached_to) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (repository_id, digest) "
    "DO NOTHING";
inline constexpr std::string_view kInsertManifestRef =
    "INSERT INTO manifest_ref (repository_id, manifest_digest, child_digest, kind) VALUES (?, ?, ?, ?) "
    "ON CONFLICT DO NOTHING";
inline constexpr std::string_view kUpsertTag =
    "INSERT INTO tag (repository_id, name, manifest_digest, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (repository_id, name) DO UPDATE "
    "SET manifest_digest = excluded.manifest_digest, updated_at = excluded.updated_at";
// A manifest's tags; purging removes its references, then the row (foreign keys). Each takes
// (repository_id, digest).
inline constexpr std::string_view kDeleteTagsOfManifest =
    "DELETE FROM tag WHERE repository_id = ? AND manifest_digest = ?";
inline constexpr std::string_view kDeleteRefsOfManifest =
    "DELETE FROM manifest_ref WHERE repository_id = ? AND manifest_digest = ?";
inline constexpr std::string_view kDeleteManifest = "DELETE FROM manifest WHERE repository_id = ? AND digest = ?";
inline constexpr std::string_view kDeleteTag = "DELETE FROM tag WHERE repository_id = ? AND name = ?";
// The tag-change counter (migration 3): bumped in the transaction of every tag change.
inline constexpr std::string_view kBumpTagVersion = "UPDATE repository SET tag_version = tag_version + 1 WHERE id = ?";
inline constexpr std::string_view kGetTagVersion = "SELECT tag_version FROM repository WHERE name = ?";
inline constexpr std::string_view kListTags =
    "SELECT t.name FROM tag t JOIN repository r ON r.id = t.repository_id "
    "WHERE r.name = ? AND t.name > ? ORDER BY t.name LIMIT ?";
// Two statements rather than "? IS NULL OR ...": each gets a plan that uses the subject index, and
// PostgreSQL cannot type an untyped NULL parameter.
#define BERTH_META_REFERRERS_SELECT                                         \
  "SELECT m.digest, m.media_type, m.size, m.artifact_type, m.annotations " \
  "FROM manifest m JOIN repository r ON r.id = m.repository_id "           \
  "WHERE r.name = ? AND m.subject = ? AND m.deleted_at IS NULL "
inline constexpr std::string_view kListReferrers = BERTH_META_REFERRERS_SELECT "ORDER BY m.digest";
inline constexpr std::string_view kListReferrersOfType =
    BERTH_META_REFERRERS_SELECT "AND m.artifact_type = ? ORDER BY m.digest";
#undef BERTH_META_REFERRERS_SELECT

// The statement with each '?' placeholder outside quotes replaced by $1, $2, ... in order, as
// PostgreSQL numbers its parameters.
inline std::string numbered_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 16);
  int n = 0;
  char quote = 0;  // inside '...' or "..." when set
  for (char ch : sql) {
    if (quote != 0) {
      if (ch == quote) quote = 0;  // a doubled quote closes and reopens: same result
      out += ch;
    } else if (ch == '\'' || ch == '"') {
      quote = ch;
      out += ch;
    } else if (ch == '?') {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += ch;
    }
  }
  return out;
}

}  // namespace berth::meta::sql
