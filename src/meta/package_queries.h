// The statements of the package model (migration 4), shared by both drivers as queries.h's are: the
// version bookkeeping that runs inside manifest pushes and deletes (versions_impl.h) and the
// PackageStore reads and changes (sql_package_store_impl.h).
//
// Internal to meta/.
#pragma once

#include <string_view>

namespace berth::meta::sql {

// ---- Manifests of a version: walking its graph (live rows, or rows deleted with a version) ----
// Looking up a manifest's parents: `+r.repository_id` keeps SQLite off the primary key (repository first,
// which would scan the repository's every reference) and on manifest_ref_by_child (child digest, kind);
// PostgreSQL reads the unary plus as a no-op.
// A manifest's state; its subject, or the manifest it is attached to by the tag schema.
inline constexpr std::string_view kManifestState =
    "SELECT deleted_at, deleted_in, COALESCE(subject, attached_to), media_type, artifact_type, size FROM manifest "
    "WHERE repository_id = ? AND digest = ?";
inline constexpr std::string_view kLiveChildren =
    "SELECT r.child_digest FROM manifest_ref r "
    "JOIN manifest m ON m.repository_id = r.repository_id AND m.digest = r.child_digest "
    "WHERE r.repository_id = ? AND r.manifest_digest = ? AND r.kind = 'manifest' AND m.deleted_at IS NULL";
inline constexpr std::string_view kLiveParents =
    "SELECT r.manifest_digest FROM manifest_ref r "
    "JOIN manifest m ON m.repository_id = r.repository_id AND m.digest = r.manifest_digest "
    "WHERE +r.repository_id = ? AND r.child_digest = ? AND r.kind = 'manifest' AND m.deleted_at IS NULL";
// The next layer of a walk down a version in one statement: index children, referrers, then tag-schema
// attachments (ManifestRecord::attached_to). Parameters: repository, digest, three times.
inline constexpr std::string_view kLiveBelow =
    "SELECT r.child_digest FROM manifest_ref r "
    "JOIN manifest m ON m.repository_id = r.repository_id AND m.digest = r.child_digest "
    "WHERE r.repository_id = ? AND r.manifest_digest = ? AND r.kind = 'manifest' AND m.deleted_at IS NULL "
    "UNION ALL SELECT digest FROM manifest WHERE repository_id = ? AND subject = ? AND deleted_at IS NULL "
    "UNION ALL SELECT digest FROM manifest WHERE repository_id = ? AND attached_to = ? AND deleted_at IS NULL";
inline constexpr std::string_view kAnyBelow =
    "SELECT child_digest FROM manifest_ref WHERE repository_id = ? AND manifest_digest = ? AND kind = 'manifest' "
    "UNION ALL SELECT digest FROM manifest WHERE repository_id = ? AND subject = ? "
    "UNION ALL SELECT digest FROM manifest WHERE repository_id = ? AND attached_to = ?";
inline constexpr std::string_view kAnyChildren =
    "SELECT child_digest FROM manifest_ref WHERE repository_id = ? AND manifest_digest = ? AND kind = 'manifest'";
inline constexpr std::string_view kBlobsOfManifest =
    "SELECT child_digest FROM manifest_ref WHERE repository_id = ? AND manifest_digest = ? AND kind = 'blob'";
inline constexpr std::string_view kMarkManifestDeleted =
    "UPDATE manifest SET deleted_at = ?, deleted_in = ? WHERE repository_id = ? AND digest = ?";
inline constexpr std::string_view kReviveManifest =
    "UPDATE manifest SET deleted_at = NULL, deleted_in = NULL WHERE repository_id = ? AND digest = ?";
inline constexpr std::string_view kForgetDeletedIn =
    "UPDATE manifest SET deleted_in = 0 WHERE repository_id = ? AND deleted_in = ? AND deleted_at IS NOT NULL";
inline constexpr std::string_view kManifestsDeletedIn =
    "SELECT digest FROM manifest WHERE repository_id = ? AND deleted_in = ? AND deleted_at IS NOT NULL";

// ---- Version rows ----
inline constexpr std::string_view kVersionByDigest =
    "SELECT id, deleted_at FROM package_version WHERE repository_id = ? AND digest = ?";
inline constexpr std::string_view kInsertVersion =
    "INSERT INTO package_version (repository_id, digest, media_type, created_at, updated_at, description, source, "
    "licenses) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id";
inline constexpr std::string_view kReviveVersion =
    "UPDATE package_version SET deleted_at = NULL, deleted_with_package = 0, updated_at = ? WHERE id = ?";
inline constexpr std::string_view kDescribeVersion =
    "UPDATE package_version SET description = ?, source = ?, licenses = ? WHERE id = ?";
inline constexpr std::string_view kMarkVersionDeleted =
    "UPDATE package_version SET deleted_at = ?, deleted_with_package = ?, updated_at = ? WHERE id = ?";
inline constexpr std::string_view kTouchVersion = "UPDATE package_version SET updated_at = ? WHERE id = ?";
inline constexpr std::string_view kSetVersionSize = "UPDATE package_version SET size = ?, members = ? WHERE id = ?";
inline constexpr std::string_view kAddVersionDownloads =
    "UPDATE package_version SET downloads = downloads + ? WHERE id = ?";
inline constexpr std::string_view kDeleteVersionRow = "DELETE FROM package_version WHERE id = ?";
inline constexpr std::string_view kVersionDownloads = "SELECT downloads FROM package_version WHERE id = ?";
inline constexpr std::string_view kCountVersions =
    "UPDATE repository SET version_count = version_count + ?, updated_at = ? WHERE id = ?";
inline constexpr std::string_view kTouchRepository = "UPDATE repository SET updated_at = ? WHERE id = ?";
// Taken first by every transaction that changes a repository's versions: on PostgreSQL (READ COMMITTED)
// the row lock makes them run one after the other, so that each sees what the previous one committed (a
// referrer and its subject pushed at once must not each miss the other). SQLite's single writer does
// this anyway.
inline constexpr std::string_view kLockRepository =
    "UPDATE repository SET version_count = version_count WHERE id = ?";

// ---- Blob accounting ----
inline constexpr std::string_view kVersionBlobs = "SELECT digest FROM version_blob WHERE version_id = ?";
inline constexpr std::string_view kInsertVersionBlob =
    "INSERT INTO version_blob (version_id, digest) VALUES (?, ?) ON CONFLICT DO NOTHING";
inline constexpr std::string_view kDeleteVersionBlob = "DELETE FROM version_blob WHERE version_id = ? AND digest = ?";
inline constexpr std::string_view kDeleteVersionBlobs = "DELETE FROM version_blob WHERE version_id = ?";
inline constexpr std::string_view kVersionBlobBytes =
    "SELECT CAST(COALESCE(SUM(b.size), 0) AS BIGINT) FROM version_blob vb JOIN blob b ON b.digest = vb.digest "
    "WHERE vb.version_id = ?";
inline constexpr std::string_view kCountBlobLive =
    "UPDATE blob SET live_versions = live_versions + ? WHERE digest = ? RETURNING size";
// The upserts return the new count: 1 after an increment means the blob is new to the package (or owner),
// 0 after a decrement that it has left it.
inline constexpr std::string_view kCountPackageBlob =
    "INSERT INTO package_blob (repository_id, digest, versions) VALUES (?, ?, ?) "
    "ON CONFLICT (repository_id, digest) DO UPDATE SET versions = package_blob.versions + excluded.versions "
    "RETURNING versions";
inline constexpr std::string_view kDropPackageBlob =
    "DELETE FROM package_blob WHERE repository_id = ? AND digest = ? AND versions <= 0";
inline constexpr std::string_view kAddPackageSize = "UPDATE repository SET size = size + ? WHERE id = ?";
inline constexpr std::string_view kCountOwnerBlob =
    "INSERT INTO owner_blob (owner, digest, versions) VALUES (?, ?, ?) "
    "ON CONFLICT (owner, digest) DO UPDATE SET versions = owner_blob.versions + excluded.versions "
    "RETURNING versions";
inline constexpr std::string_view kDropOwnerBlob = "DELETE FROM owner_blob WHERE owner = ? AND digest = ? AND versions <= 0";
inline constexpr std::string_view kAddOwnerSize =
    "INSERT INTO owner_usage (owner, size) VALUES (?, ?) "
    "ON CONFLICT (owner) DO UPDATE SET size = owner_usage.size + excluded.size";
inline constexpr std::string_view kOwnerSize = "SELECT size FROM owner_usage WHERE owner = ?";

// ---- Tags of deleted versions ----
inline constexpr std::string_view kSaveTagsOfManifest =
    "INSERT INTO deleted_tag (version_id, name, manifest_digest) "
    "SELECT ?, name, manifest_digest FROM tag WHERE repository_id = ? AND manifest_digest = ? "
    "ON CONFLICT DO NOTHING";
inline constexpr std::string_view kSavedTags =
    "SELECT name, manifest_digest FROM deleted_tag WHERE version_id = ? ORDER BY name";
inline constexpr std::string_view kDropSavedTags = "DELETE FROM deleted_tag WHERE version_id = ?";
inline constexpr std::string_view kRestoreTag =
    "INSERT INTO tag (repository_id, name, manifest_digest, updated_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (repository_id, name) DO NOTHING";
// Unordered: with ORDER BY name SQLite walks the whole (repository, name) index instead of the tag_by_manifest
// one. The caller sorts the few names it gets.
inline constexpr std::string_view kTagsOfManifest = "SELECT name FROM tag WHERE repository_id = ? AND manifest_digest = ?";

// ---- Repositories built before migration 4 ----
inline constexpr std::string_view kRepositoriesWithoutVersions =
    "SELECT id, name FROM repository WHERE versions_ready = 0 AND deleted_at IS NULL ORDER BY id LIMIT ?";
inline constexpr std::string_view kTopLevelManifests =
    "SELECT m.digest, m.media_type, m.created_at FROM manifest m WHERE m.repository_id = ? AND m.subject IS NULL "
    "AND m.attached_to IS NULL "
    "AND m.deleted_at IS NULL AND NOT EXISTS (SELECT 1 FROM manifest_ref r JOIN manifest p "
    "ON p.repository_id = r.repository_id AND p.digest = r.manifest_digest WHERE +r.repository_id = m.repository_id "
    "AND r.child_digest = m.digest AND r.kind = 'manifest' AND p.deleted_at IS NULL) ORDER BY m.created_at, m.digest";
inline constexpr std::string_view kMarkVersionsReady = "UPDATE repository SET versions_ready = 1 WHERE id = ?";
inline constexpr std::string_view kRepositoryVersionsReady = "SELECT versions_ready FROM repository WHERE id = ?";

// ---- Packages ----
// Columns read by package_row(): id, name, visibility, created_at, updated_at, version_count, size,
// downloads, description, source, licenses, deleted_at; the last three texts are the newest live
// version's (NULL without one).
#define BERTH_META_PACKAGE_SELECT                                                                       \
  "SELECT r.id, r.name, r.visibility, r.created_at, r.updated_at, r.version_count, r.size, r.downloads, " \
  "v.description, v.source, v.licenses, r.deleted_at FROM repository r "                                \
  "LEFT JOIN package_version v ON v.id = (SELECT n.id FROM package_version n WHERE n.repository_id = r.id " \
  "AND n.deleted_at IS NULL ORDER BY n.created_at DESC, n.id DESC LIMIT 1) "
// The owner's packages are the names in [owner + "/", owner + "0"): '0' follows '/' in byte order.
// Filters, each off when its first parameter is '' / 0: visibility; public only; readable by a user
// (public, or a package role held).
#define BERTH_META_PACKAGES_OF_OWNER                                                               \
  "WHERE r.name >= ? AND r.name < ? AND r.deleted_at IS NULL AND (? = '' OR r.visibility = ?) "    \
  "AND (? = 0 OR r.visibility = 'public') "                                                        \
  "AND (? = '' OR r.visibility = 'public' OR EXISTS (SELECT 1 FROM package_role pr JOIN account a " \
  "ON a.id = pr.user_id WHERE pr.repository_id = r.id AND a.name = ?)) "
inline constexpr std::string_view kListPackages =
    BERTH_META_PACKAGE_SELECT BERTH_META_PACKAGES_OF_OWNER "ORDER BY r.name LIMIT ? OFFSET ?";
inline constexpr std::string_view kCountPackages =
    "SELECT COUNT(*) FROM repository r " BERTH_META_PACKAGES_OF_OWNER;
inline constexpr std::string_view kGetPackage = BERTH_META_PACKAGE_SELECT "WHERE r.name = ? AND r.deleted_at IS NULL";
#undef BERTH_META_PACKAGES_OF_OWNER
#undef BERTH_META_PACKAGE_SELECT
inline constexpr std::string_view kLiveRepository = "SELECT id FROM repository WHERE name = ? AND deleted_at IS NULL";
inline constexpr std::string_view kLastDeletedRepository =
    "SELECT id FROM repository WHERE deleted_name = ? AND deleted_at IS NOT NULL ORDER BY deleted_at DESC, id DESC "
    "LIMIT 1";
inline constexpr std::string_view kLiveVersionIds =
    "SELECT id, digest FROM package_version WHERE repository_id = ? AND deleted_at IS NULL ORDER BY id";
inline constexpr std::string_view kVersionsDeletedWithPackage =
    "SELECT id, digest FROM package_version WHERE repository_id = ? AND deleted_at IS NOT NULL "
    "AND deleted_with_package = 1 ORDER BY id";
// A deleted package's name becomes '~deleted/<id>': '~' is not allowed in repository names.
inline constexpr std::string_view kGiveNameUp =
    "UPDATE repository SET deleted_name = name, name = ?, deleted_at = ?, updated_at = ? WHERE id = ?";
inline constexpr std::string_view kTakeNameBack =
    "UPDATE repository SET name = deleted_name, deleted_name = NULL, deleted_at = NULL, updated_at = ? WHERE id = ?";

// ---- Versions ----
// Columns read by version_row(): id, repository_id, digest, media_type, members, created_at, updated_at,
// deleted_at, size, unique size, downloads, description, source, licenses. A page touches only the
// version rows, their blob sets and the blobs: the manifest's bytes (read only for an index) and its
// parts (walked only when it has any) would be random reads of other tables for every row, more pages
// than SQLite's capped cache holds.
// The unique size: the version's blobs that no other live version references (live_versions is 1 for a
// blob only this live version holds, 0 for one only deleted versions hold). Sums are cast: PostgreSQL's
// SUM of BIGINT is NUMERIC.
#define BERTH_META_VERSION_SELECT                                                                          \
  "SELECT v.id, v.repository_id, v.digest, v.media_type, v.members, v.created_at, v.updated_at, "           \
  "v.deleted_at, v.size, (SELECT CAST(COALESCE(SUM(b.size), 0) AS BIGINT) FROM version_blob vb JOIN blob b " \
  "ON b.digest = vb.digest WHERE vb.version_id = v.id AND b.live_versions <= "                               \
  "CASE WHEN v.deleted_at IS NULL THEN 1 ELSE 0 END), v.downloads, v.description, v.source, v.licenses "    \
  "FROM package_version v "
inline constexpr std::string_view kListLiveVersions =
    BERTH_META_VERSION_SELECT
    "WHERE v.repository_id = ? AND v.deleted_at IS NULL ORDER BY v.created_at DESC, v.id DESC LIMIT ? OFFSET ?";
inline constexpr std::string_view kListDeletedVersions =
    BERTH_META_VERSION_SELECT
    "WHERE v.repository_id = ? AND v.deleted_at IS NOT NULL ORDER BY v.created_at DESC, v.id DESC LIMIT ? OFFSET ?";
inline constexpr std::string_view kGetVersion = BERTH_META_VERSION_SELECT "WHERE v.repository_id = ? AND v.id = ?";
#undef BERTH_META_VERSION_SELECT
inline constexpr std::string_view kManifestContent =
    "SELECT content FROM manifest WHERE repository_id = ? AND digest = ?";
inline constexpr std::string_view kRepositoryVersionCount = "SELECT version_count FROM repository WHERE id = ?";
inline constexpr std::string_view kCountDeletedVersions =
    "SELECT COUNT(*) FROM package_version WHERE repository_id = ? AND deleted_at IS NOT NULL";
inline constexpr std::string_view kVersionState =
    "SELECT digest, deleted_at FROM package_version WHERE repository_id = ? AND id = ?";

// ---- Downloads ----
inline constexpr std::string_view kLiveVersionOf =
    "SELECT v.id, v.repository_id FROM package_version v JOIN repository r ON r.id = v.repository_id "
    "WHERE r.name = ? AND v.digest = ? AND v.deleted_at IS NULL";
inline constexpr std::string_view kAddPackageDownloads = "UPDATE repository SET downloads = downloads + ? WHERE id = ?";

// ---- Purge ----
inline constexpr std::string_view kVersionsToPurge =
    "SELECT id FROM package_version WHERE deleted_at IS NOT NULL AND deleted_at < ? ORDER BY deleted_at LIMIT ?";
// Deleted manifests no remaining manifest lists (their parents go first).
inline constexpr std::string_view kManifestsToPurge =
    "SELECT m.repository_id, m.digest FROM manifest m WHERE m.deleted_at IS NOT NULL AND m.deleted_at < ? "
    "AND NOT EXISTS (SELECT 1 FROM manifest_ref r WHERE +r.repository_id = m.repository_id "
    "AND r.child_digest = m.digest AND r.kind = 'manifest') "
    "AND NOT EXISTS (SELECT 1 FROM package_version v WHERE v.repository_id = m.repository_id "
    "AND v.digest = m.digest) LIMIT ?";
inline constexpr std::string_view kPackagesToPurge =
    "SELECT r.id FROM repository r WHERE r.deleted_at IS NOT NULL AND r.deleted_at < ? AND r.deleted_name IS NOT NULL "
    "AND NOT EXISTS (SELECT 1 FROM manifest m WHERE m.repository_id = r.id) LIMIT ?";
// Everything that refers to a purged repository, children first (foreign keys). The row itself stays as a
// tombstone that can no longer be restored: SQLite would otherwise give its id to the next new package.
inline constexpr std::string_view kPurgeRepositoryRows[] = {
    "DELETE FROM version_blob WHERE version_id IN (SELECT id FROM package_version WHERE repository_id = ?)",
    "DELETE FROM deleted_tag WHERE version_id IN (SELECT id FROM package_version WHERE repository_id = ?)",
    "DELETE FROM package_version WHERE repository_id = ?",
    "DELETE FROM tag WHERE repository_id = ?",
    "DELETE FROM package_blob WHERE repository_id = ?",
    "DELETE FROM repository_blob WHERE repository_id = ?",
    "DELETE FROM upload WHERE repository_id = ?",
    "DELETE FROM package_role WHERE repository_id = ?",
    "UPDATE repository SET deleted_name = NULL WHERE id = ?",
};

}  // namespace berth::meta::sql
