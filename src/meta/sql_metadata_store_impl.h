// The bodies of SqlMetadataStore's methods, for the driver .cc files that instantiate it (sqlite_store.cc,
// pg_store.cc). Written against the API the two drivers share: Connection::prepare() -> Stmt with
// bind / bind_optional / bind_blob / step / run / column_*, Connection::changes(), and the driver's
// transact(pool, write, body). What differs between the databases stays in the drivers.
//
// Every transaction body may run more than once (the drivers retry busy / aborted attempts), so a body
// resets whatever it outputs before filling it.
//
// Internal to meta/.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "meta/collector_store.h"
#include "meta/migrations.h"
#include "meta/queries.h"
#include "meta/sql_common.h"
#include "meta/sql_metadata_store.h"
#include "meta/quota_impl.h"
#include "meta/sql_rows.h"
#include "meta/tag_rules_impl.h"
#include "meta/versions_impl.h"

namespace berth::meta {
namespace store_detail {

using sql::to_u64;
using sql::unix_now;

template <class Stmt>
Result<oci::Digest> digest_column(const Stmt& st, int col) {
  return sql::stored_digest(st.column_text(col));
}

// Applies `m` unless schema_migrations says it already is, and records it. Runs inside the migration
// transaction the driver opened (how it keeps concurrent openers apart is the driver's business).
template <class Connection>
Status apply_migration(Connection& c, const Migration& m, Dialect dialect) {
  bool applied = false;
  {
    META_TRY(st, c.prepare(sql::kMigrationApplied));
    st.bind(1, m.version);
    META_TRY(row, st.step());
    applied = row;
  }
  if (applied) return Status::Ok();
  Status run = c.exec(render(m.sql, dialect));
  if (!run.ok()) return Status(run.code(), "migration " + std::to_string(m.version) + ": " + run.message());
  META_TRY(st, c.prepare(sql::kRecordMigration));
  return st.bind(1, m.version).bind(2, unix_now()).run();
}

// ---- Queries shared by several methods (run inside a caller's transaction) ----

template <class Connection>
Result<std::optional<int64_t>> find_repository_id(Connection& c, const std::string& name) {
  META_TRY(st, c.prepare(sql::kFindRepositoryId));
  st.bind(1, name);
  META_TRY(row, st.step());
  if (!row) return std::optional<int64_t>();
  return std::optional<int64_t>(st.column_int64(0));
}

template <class Connection>
Result<int64_t> ensure_repository_id(Connection& c, const std::string& name) {
  {
    META_TRY(ins, c.prepare(sql::kInsertRepository));
    BERTH_RETURN_IF_ERROR(ins.bind(1, name).bind(2, unix_now()).run());
  }
  META_TRY(id, find_repository_id(c, name));
  if (!id) return Status(Errc::internal, "repository vanished after insert: " + name);
  return *id;
}

// Whether the blob is live, holding its row until the transaction ends (kHoldBlob): a collector marking
// it waits for the transaction, or the transaction sees it marked.
template <class Connection>
Result<bool> hold_live_blob(Connection& c, const std::string& digest) {
  META_TRY(state, sql::int_of(c, sql::for_dialect<Connection>(sql::kHoldBlob, sql::kHoldBlobPg), digest));
  return state == std::optional<int64_t>(static_cast<int64_t>(BlobState::live));
}

template <class Connection>
Status bump_tag_version(Connection& c, int64_t repository_id) {
  META_TRY(st, c.prepare(sql::kBumpTagVersion));
  return st.bind(1, repository_id).run();
}

// A blob a manifest is about to name: live and linked to the repository, held until the transaction ends.
template <class Connection>
Status hold_linked_blob(Connection& c, int64_t repo_id, const std::string& digest) {
  if constexpr (Connection::kDialect == Dialect::sqlite) {
    META_TRY(row, sql::int_of(c, sql::kLiveLink, repo_id, digest));
    if (!row) return Status(Errc::manifest_blob_unknown, "blob unknown to repository: " + digest);
    return Status::Ok();
  }
  META_TRY(live, hold_live_blob(c, digest));
  bool linked = false;
  if (live) {
    META_TRY(link, sql::int_of(c, sql::kLinkExists, repo_id, digest));
    linked = link.has_value();
  }
  if (!linked) return Status(Errc::manifest_blob_unknown, "blob unknown to repository: " + digest);
  return Status::Ok();
}

template <class Stmt>
UploadRecord upload_row(const Stmt& st) {
  UploadRecord u;
  u.id = st.column_text(0);
  u.repository = st.column_text(1);
  u.offset = to_u64(st.column_int64(2));
  u.hash_state = st.column_blob(3);
  u.storage_state = st.column_blob(4);
  u.started_at = st.column_int64(5);
  u.updated_at = st.column_int64(6);
  return u;
}

template <class Stmt>
Result<ManifestRecord> manifest_row(const Stmt& st) {
  // ManifestRecord holds a Digest, which has no empty state: build it in one go.
  META_TRY(digest, digest_column(st, 1));
  std::optional<oci::Digest> subject;
  if (!st.column_is_null(5)) {
    META_TRY(s, digest_column(st, 5));
    subject = s;
  }
  std::optional<std::string> artifact_type;
  if (!st.column_is_null(3)) artifact_type = st.column_text(3);
  return ManifestRecord{.repository = st.column_text(0),
                        .digest = digest,
                        .media_type = st.column_text(2),
                        .artifact_type = std::move(artifact_type),
                        .content = st.column_blob(4),
                        .subject = std::move(subject),
                        .annotations_json = st.column_text(6),
                        .created_at = st.column_int64(7),
                        .description = {},
                        .source = {},
                        .licenses = {},
                        .attached_to = std::nullopt};
}

// Runs a query expected to yield at most one manifest row.
template <class Stmt>
Result<std::optional<ManifestRecord>> one_manifest(Stmt& st) {
  META_TRY(row, st.step());
  if (!row) return std::optional<ManifestRecord>();
  META_TRY(m, manifest_row(st));
  return std::optional<ManifestRecord>(std::move(m));
}

}  // namespace store_detail

// transact() is the driver's (sqlite::transact, pg::transact), found through Pool's namespace.
template <class Pool>
template <class Body>
Status SqlMetadataStore<Pool>::read(Body&& body) {
  return transact(pool_, false, std::forward<Body>(body));
}

template <class Pool>
template <class Body>
Status SqlMetadataStore<Pool>::write(Body&& body) {
  return transact(pool_, true, std::forward<Body>(body));
}

// ---- Repositories ----

template <class Pool>
Status SqlMetadataStore<Pool>::ensure_repository(const std::string& name) {
  // Most calls find it already there: answer those without taking the write lock.
  auto exists = repository_exists(name);
  if (exists.ok() && *exists) return Status::Ok();
  return write([&](auto& c) { return store_detail::ensure_repository_id(c, name).status(); });
}

template <class Pool>
Result<bool> SqlMetadataStore<Pool>::repository_exists(const std::string& name) {
  bool found = false;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(id, store_detail::find_repository_id(c, name));
    found = id.has_value();
    return Status::Ok();
  }));
  return found;
}

template <class Pool>
Result<std::vector<std::string>> SqlMetadataStore<Pool>::list_repositories(const std::string& after, size_t limit) {
  std::vector<std::string> names;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    names.clear();
    META_TRY(st, c.prepare(sql::kListRepositories));
    st.bind(1, after).bind(2, sql::to_sql(limit));
    while (true) {
      META_TRY(row, st.step());
      if (!row) return Status::Ok();
      names.push_back(st.column_text(0));
    }
  }));
  return names;
}

// ---- Blobs ----

template <class Pool>
Status SqlMetadataStore<Pool>::record_blob(const oci::Digest& digest, uint64_t size) {
  const int64_t now = sql::unix_now();
  return write([&](auto& c) { return sql::run(c, sql::kInsertBlob, digest.str(), sql::to_sql(size), now, now); });
}

template <class Pool>
Result<MetadataStore::BlobWrite> SqlMetadataStore<Pool>::begin_blob_write(const oci::Digest& digest, uint64_t size,
                                                                          int64_t now) {
  BlobWrite outcome = BlobWrite::write;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    using C = std::remove_reference_t<decltype(c)>;
    const std::string d = digest.str();
    outcome = BlobWrite::write;
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kInsertPendingBlob, d, sql::to_sql(size), now, now));
    if (c.changes() > 0) return Status::Ok();
    META_TRY(state, sql::int_of(c, sql::for_dialect<C>(sql::kHoldBlob, sql::kHoldBlobPg), d));
    // No row any more (a collector forgot it since the insert) is as busy: asking again inserts it.
    switch (state ? static_cast<BlobState>(*state) : BlobState::deleting) {
      case BlobState::live:
        outcome = BlobWrite::stored;
        return sql::run(c, sql::kTouchBlob, now, d, now);
      case BlobState::deleting:
        outcome = BlobWrite::busy;
        return Status::Ok();
      case BlobState::damaged:
        outcome = BlobWrite::rewrite;
        return sql::run(c, sql::kSetBlobPending, sql::to_sql(size), now, d);
      case BlobState::pending:  // another upload of the same bytes
        return sql::run(c, sql::kSetBlobPending, sql::to_sql(size), now, d);
    }
    return Status(Errc::internal, "blob " + d + " has an unknown state");
  }));
  return outcome;
}

template <class Pool>
Status SqlMetadataStore<Pool>::publish_blob(const std::string& repository, const oci::Digest& digest, int64_t now) {
  return write([&](auto& c) -> Status {
    const std::string d = digest.str();
    META_TRY(repo_id, store_detail::ensure_repository_id(c, repository));  // before the blob: see link_blob
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kPublishBlob, now, d));
    if (c.changes() == 0) return Status(Errc::not_found, "blob " + d + " was collected while it was being written");
    return sql::run(c, sql::kLinkBlob, repo_id, d, now);
  });
}

template <class Pool>
Result<std::optional<uint64_t>> SqlMetadataStore<Pool>::blob_size(const oci::Digest& digest) {
  std::optional<uint64_t> size;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(value, sql::int_of(c, sql::kBlobSize, digest.str()));
    size = value ? std::optional<uint64_t>(sql::to_u64(*value)) : std::nullopt;
    return Status::Ok();
  }));
  return size;
}

template <class Pool>
Status SqlMetadataStore<Pool>::link_blob(const std::string& repository, const oci::Digest& digest) {
  const int64_t now = sql::unix_now();
  return write([&](auto& c) -> Status {
    // The repository first, the blob second, as put_manifest does: no two transactions wait in a cycle.
    META_TRY(repo_id, store_detail::ensure_repository_id(c, repository));
    META_TRY(live, store_detail::hold_live_blob(c, digest.str()));
    if (!live) return Status(Errc::not_found, "blob not stored: " + digest.str());
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kTouchBlob, now, digest.str(), now));
    return sql::run(c, sql::kLinkBlob, repo_id, digest.str(), now);
  });
}

template <class Pool>
Result<std::optional<MetadataStore::LinkedBlob>> SqlMetadataStore<Pool>::linked_blob(const std::string& repository,
                                                                                     const oci::Digest& digest) {
  std::optional<LinkedBlob> blob;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    blob.reset();
    META_TRY(st, c.prepare(sql::kLinkedBlob));
    st.bind(1, repository).bind(2, digest.str());
    META_TRY(row, st.step());
    if (row) blob = LinkedBlob{.size = sql::to_u64(st.column_int64(0)), .last_seen_at = st.column_int64(1)};
    return Status::Ok();
  }));
  return blob;
}

template <class Pool>
Status SqlMetadataStore<Pool>::touch_blob(const oci::Digest& digest, int64_t now, int64_t older_than) {
  return write([&](auto& c) { return sql::run(c, sql::kTouchBlob, now, digest.str(), older_than); });
}

template <class Pool>
Result<bool> SqlMetadataStore<Pool>::unlink_blob(const std::string& repository, const oci::Digest& digest) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kUnlinkBlob));
    BERTH_RETURN_IF_ERROR(st.bind(1, repository).bind(2, digest.str()).run());
    removed = c.changes() > 0;
    return Status::Ok();
  }));
  return removed;
}

// ---- Upload sessions ----

template <class Pool>
Status SqlMetadataStore<Pool>::create_upload(const UploadRecord& upload, const UploadLimits& limits) {
  return write([&](auto& c) -> Status {
    // Counted in the transaction that adds the session: writers are serialized (SQLite) or the count is
    // at most a few concurrent starts stale (PostgreSQL), which a cap tolerates.
    auto within_cap = [&](std::string_view query, const std::string& who, size_t cap,
                          const std::string& whose) -> Status {
      if (cap == 0 || who.empty()) return Status::Ok();
      META_TRY(open, sql::int_of(c, query, who));
      if (open.value_or(0) < static_cast<int64_t>(cap)) return Status::Ok();
      return Status(Errc::too_many_requests, "too many open uploads " + whose + " (" + std::to_string(cap) +
                                                 "): finish or cancel some, or wait for them to expire");
    };
    BERTH_RETURN_IF_ERROR(within_cap(sql::kOpenUploadsBy, upload.opened_by, limits.per_opener, "for " + upload.opened_by));
    BERTH_RETURN_IF_ERROR(
        within_cap(sql::kOpenUploadsFrom, upload.opened_from, limits.per_address, "from this address"));
    META_TRY(repo_id, store_detail::ensure_repository_id(c, upload.repository));
    META_TRY(st, c.prepare(sql::kInsertUpload));
    st.bind(1, upload.id).bind(2, repo_id).bind(3, sql::to_sql(upload.offset));
    st.bind_blob(4, upload.hash_state).bind_blob(5, upload.storage_state);
    st.bind(8, upload.opened_by).bind(9, upload.opened_from);
    BERTH_RETURN_IF_ERROR(st.bind(6, upload.started_at).bind(7, upload.updated_at).run());
    if (c.changes() == 0) return Status(Errc::already_exists, "upload already exists: " + upload.id);
    return Status::Ok();
  });
}

template <class Pool>
Result<std::optional<UploadRecord>> SqlMetadataStore<Pool>::get_upload(const std::string& id) {
  std::optional<UploadRecord> upload;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kGetUpload));
    st.bind(1, id);
    META_TRY(row, st.step());
    upload = row ? std::optional<UploadRecord>(store_detail::upload_row(st)) : std::nullopt;
    return Status::Ok();
  }));
  return upload;
}

template <class Pool>
Status SqlMetadataStore<Pool>::advance_upload(const std::string& id, uint64_t expected_offset, uint64_t new_offset,
                                              const std::string& hash_state, const std::string& storage_state,
                                              int64_t now) {
  return write([&](auto& c) -> Status {
    {
      META_TRY(st, c.prepare(sql::kAdvanceUpload));
      st.bind(1, sql::to_sql(new_offset)).bind_blob(2, hash_state).bind_blob(3, storage_state).bind(4, now);
      BERTH_RETURN_IF_ERROR(st.bind(5, id).bind(6, sql::to_sql(expected_offset)).run());
      if (c.changes() > 0) return Status::Ok();
    }
    // Nothing matched: tell a lost race apart from a session that expired or was never there.
    META_TRY(st, c.prepare(sql::kUploadOffset));
    st.bind(1, id);
    META_TRY(row, st.step());
    if (!row) return Status(Errc::not_found, "upload not found: " + id);
    return Status(Errc::conflict, "upload " + id + " is at offset " + std::to_string(st.column_int64(0)) +
                                      ", not " + std::to_string(expected_offset));
  });
}

template <class Pool>
Status SqlMetadataStore<Pool>::delete_upload(const std::string& id) {
  return write([&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kDeleteUpload));
    return st.bind(1, id).run();
  });
}

template <class Pool>
Result<bool> SqlMetadataStore<Pool>::touch_upload(const std::string& id, int64_t now) {
  bool found = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kTouchUpload));
    BERTH_RETURN_IF_ERROR(st.bind(1, now).bind(2, id).run());
    found = c.changes() > 0;
    return Status::Ok();
  }));
  return found;
}

template <class Pool>
Result<bool> SqlMetadataStore<Pool>::delete_upload_if_idle(const std::string& id, int64_t before) {
  bool deleted = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kDeleteIdleUpload));
    BERTH_RETURN_IF_ERROR(st.bind(1, id).bind(2, before).run());
    deleted = c.changes() > 0;
    return Status::Ok();
  }));
  return deleted;
}

template <class Pool>
Result<std::vector<UploadRecord>> SqlMetadataStore<Pool>::uploads_idle_since(int64_t before) {
  return uploads_where(sql::kUploadsIdleSince, before);
}

template <class Pool>
Result<std::vector<UploadRecord>> SqlMetadataStore<Pool>::empty_uploads_idle_since(int64_t before) {
  return uploads_where(sql::kEmptyUploadsIdleSince, before);
}

template <class Pool>
Result<std::vector<UploadRecord>> SqlMetadataStore<Pool>::uploads_where(std::string_view query, int64_t before) {
  std::vector<UploadRecord> uploads;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    uploads.clear();
    META_TRY(st, c.prepare(query));
    st.bind(1, before);
    while (true) {
      META_TRY(row, st.step());
      if (!row) return Status::Ok();
      uploads.push_back(store_detail::upload_row(st));
    }
  }));
  return uploads;
}

// ---- Manifests and tags ----

template <class Pool>
Status SqlMetadataStore<Pool>::put_manifest(const ManifestRecord& manifest, const ManifestRefs& refs,
                                            const std::optional<std::string>& tag, int64_t now) {
  // Blob rows are held in digest order, so two pushes sharing layers never wait for each other in a cycle.
  std::vector<std::string> held_blobs;
  held_blobs.reserve(refs.blobs.size());
  for (const oci::Digest& blob : refs.blobs) held_blobs.push_back(blob.str());
  std::sort(held_blobs.begin(), held_blobs.end());
  held_blobs.erase(std::unique(held_blobs.begin(), held_blobs.end()), held_blobs.end());
  return write([&](auto& c) -> Status {
    META_TRY(repo_id, store_detail::ensure_repository_id(c, manifest.repository));
    const versions::Repo repo{repo_id, versions::owner_of(manifest.repository)};
    BERTH_RETURN_IF_ERROR(versions::lock_repository(c, repo_id));
    const std::string& digest = manifest.digest.str();
    META_TRY(state, versions::manifest_state(c, repo_id, digest));
    const bool was_live = state && !state->deleted;
    // Attached by the tag schema only to a live manifest of the repository (ManifestRecord::attached_to).
    std::optional<std::string> attached_to;
    if (manifest.attached_to && !manifest.subject && !state && manifest.attached_to->str() != digest) {
      META_TRY(target, versions::manifest_state(c, repo_id, manifest.attached_to->str()));
      if (target && !target->deleted) attached_to = manifest.attached_to->str();
    }
    if (state && state->deleted) {
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kReviveManifest, repo_id, digest));
    } else if (!state) {
      META_TRY(st, c.prepare(sql::kInsertManifest));
      std::optional<std::string> subject;
      if (manifest.subject) subject = manifest.subject->str();
      st.bind(1, repo_id).bind(2, digest).bind(3, manifest.media_type).bind_optional(4, manifest.artifact_type);
      st.bind_blob(5, manifest.content).bind_optional(6, subject).bind(7, manifest.annotations_json);
      st.bind(8, sql::to_sql(manifest.content.size())).bind(9, now).bind_optional(10, attached_to);
      BERTH_RETURN_IF_ERROR(st.run());
    }
    // Belongs to another manifest's version (a referrer, or attached): no version of its own.
    const bool belongs = manifest.subject || attached_to || (state && state->subject);
    for (const std::string& child : held_blobs) {
      BERTH_RETURN_IF_ERROR(store_detail::hold_linked_blob(c, repo_id, child));
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kInsertManifestRef, repo_id, digest, child, "blob"));
    }
    for (const oci::Digest& child : refs.manifests) {
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kInsertManifestRef, repo_id, digest, child.str(), "manifest"));
    }
    if (tag) {
      META_TRY(rules, tag_rules::load(c, repo));
      BERTH_RETURN_IF_ERROR(tag_rules::check_push(c, repo, rules, *tag, digest));
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kUpsertTag, repo_id, *tag, digest, now));
      BERTH_RETURN_IF_ERROR(tag_rules::move_floating_tags(c, repo, rules, *tag, digest, now));
      BERTH_RETURN_IF_ERROR(store_detail::bump_tag_version(c, repo_id));
    }
    // A push by tag is announced to webhooks (by digest alone, it is a platform or a referrer on its way
    // to an index, or a build's intermediate: nothing a person named).
    const auto announce = [&](int64_t version_id) -> Status {
      if (!tag || belongs) return Status::Ok();
      return webhook_events::record(c, repo_id, repo.owner, "published", digest, version_id,
                                    [&] { return sql::texts(c, sql::kTagsOfManifest, repo_id, digest); }, now);
    };
    if (was_live) {
      // Only a tag can have changed: the version (if this is one) was updated now.
      if (!tag) return Status::Ok();
      META_TRY(version, versions::live_version_of(c, repo_id, digest));
      if (version) BERTH_RETURN_IF_ERROR(sql::run(c, sql::kTouchVersion, now, *version));
      BERTH_RETURN_IF_ERROR(announce(version.value_or(0)));
      return sql::run(c, sql::kTouchRepository, now, repo_id);
    }
    META_TRY(limits, quota::before_push(c, repo));
    if (belongs) {
      BERTH_RETURN_IF_ERROR(versions::refresh_versions_holding(c, repo, digest, now));
    } else {
      versions::VersionFacts facts{.media_type = manifest.media_type,
                                   .created_at = now,
                                   .description = manifest.description,
                                   .source = manifest.source,
                                   .licenses = manifest.licenses};
      META_TRY(id, versions::start_version(c, repo, digest, facts, now));
      BERTH_RETURN_IF_ERROR(announce(id));
    }
    BERTH_RETURN_IF_ERROR(quota::after_push(c, repo, manifest.repository, limits));
    return sql::run(c, sql::kTouchRepository, now, repo_id);
  });
}

template <class Pool>
Result<std::optional<ManifestRecord>> SqlMetadataStore<Pool>::get_manifest(const std::string& repository,
                                                                           const oci::Digest& digest) {
  std::optional<ManifestRecord> manifest;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kGetManifest));
    st.bind(1, repository).bind(2, digest.str());
    META_TRY(m, store_detail::one_manifest(st));
    manifest = std::move(m);
    return Status::Ok();
  }));
  return manifest;
}

template <class Pool>
Result<bool> SqlMetadataStore<Pool>::manifest_exists(const std::string& repository, const oci::Digest& digest) {
  bool found = false;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kManifestExists));
    st.bind(1, repository).bind(2, digest.str());
    META_TRY(row, st.step());
    found = row;
    return Status::Ok();
  }));
  return found;
}

template <class Pool>
Result<std::optional<ManifestRecord>> SqlMetadataStore<Pool>::get_manifest_by_tag(const std::string& repository,
                                                                                  const std::string& tag) {
  std::optional<ManifestRecord> manifest;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kGetManifestByTag));
    st.bind(1, repository).bind(2, tag);
    META_TRY(m, store_detail::one_manifest(st));
    manifest = std::move(m);
    return Status::Ok();
  }));
  return manifest;
}

template <class Pool>
Result<ManifestDeletion> SqlMetadataStore<Pool>::delete_manifest(const std::string& repository,
                                                                 const oci::Digest& digest, int64_t now) {
  ManifestDeletion result;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    result = ManifestDeletion{};
    META_TRY(repo_id, store_detail::find_repository_id(c, repository));
    if (!repo_id) return Status::Ok();
    const versions::Repo repo{*repo_id, versions::owner_of(repository)};
    BERTH_RETURN_IF_ERROR(versions::lock_repository(c, repo.id));
    const std::string d = digest.str();
    META_TRY(state, versions::manifest_state(c, repo.id, d));
    if (!state || state->deleted) return Status::Ok();
    META_TRY(parents, sql::texts(c, sql::kLiveParents, repo.id, d));
    if (!parents.empty()) {
      result.outcome = ManifestDeletion::Outcome::refused;
      META_TRY(parent, sql::stored_digest(parents.front()));
      result.listed_by = parent;
      return Status::Ok();
    }
    result.outcome = ManifestDeletion::Outcome::deleted;
    META_TRY(version, versions::live_version_of(c, repo.id, d));
    if (version) {
      META_TRY(rules, tag_rules::load(c, repo));
      META_TRY(held, tag_rules::protected_tag_on(c, repo, rules, d));
      if (held) return Status(Errc::denied, *held + ": the version cannot be deleted");
      return versions::delete_version(c, repo, *version, d, false, now);
    }
    // A referrer (or a manifest of no version): it and its own referrers go, not restorable on their own;
    // the versions that held it are refreshed without it.
    META_TRY(holders, versions::live_versions_containing(c, repo.id, d));
    META_TRY(candidates, versions::members(c, repo.id, d, versions::Walk::live));
    BERTH_RETURN_IF_ERROR(versions::delete_members(c, repo, candidates, 0, now));
    return versions::refresh_versions_holding_ids(c, repo, holders, now);
  }));
  return result;
}

template <class Pool>
Result<bool> SqlMetadataStore<Pool>::delete_tag(const std::string& repository, const std::string& tag) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    META_TRY(repo_id, store_detail::find_repository_id(c, repository));
    if (!repo_id) return Status::Ok();
    const versions::Repo repo{*repo_id, versions::owner_of(repository)};
    META_TRY(rules, tag_rules::load(c, repo));
    if (auto why = rules.why(tag)) {
      META_TRY(exists, sql::texts(c, sql::kTagTarget, *repo_id, tag));
      if (!exists.empty()) return Status(Errc::denied, *why + ": it cannot be deleted");
    }
    META_TRY(st, c.prepare(sql::kDeleteTag));
    BERTH_RETURN_IF_ERROR(st.bind(1, *repo_id).bind(2, tag).run());
    removed = c.changes() > 0;
    return removed ? store_detail::bump_tag_version(c, *repo_id) : Status::Ok();
  }));
  return removed;
}

template <class Pool>
Result<std::optional<int64_t>> SqlMetadataStore<Pool>::tag_version(const std::string& repository) {
  std::optional<int64_t> version;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    version.reset();
    META_TRY(st, c.prepare(sql::kGetTagVersion));
    st.bind(1, repository);
    META_TRY(row, st.step());
    if (row) version = st.column_int64(0);
    return Status::Ok();
  }));
  return version;
}

template <class Pool>
Result<std::vector<std::string>> SqlMetadataStore<Pool>::list_tags(const std::string& repository,
                                                                   const std::string& after, size_t limit) {
  std::vector<std::string> tags;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    tags.clear();
    tags.reserve(std::min<size_t>(limit, 16384));  // 10,000 tags: no regrowth, no moving of names
    META_TRY(st, c.prepare(sql::kListTags));
    st.bind(1, repository).bind(2, after).bind(3, sql::to_sql(limit));
    while (true) {
      META_TRY(row, st.step());
      if (!row) return Status::Ok();
      tags.push_back(st.column_text(0));
    }
  }));
  return tags;
}

template <class Pool>
Result<std::vector<Referrer>> SqlMetadataStore<Pool>::list_referrers(const std::string& repository,
                                                                     const oci::Digest& subject,
                                                                     const std::optional<std::string>& artifact_type) {
  std::vector<Referrer> referrers;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    referrers.clear();
    META_TRY(st, c.prepare(artifact_type ? sql::kListReferrersOfType : sql::kListReferrers));
    st.bind(1, repository).bind(2, subject.str());
    if (artifact_type) st.bind(3, *artifact_type);
    while (true) {
      META_TRY(row, st.step());
      if (!row) return Status::Ok();
      META_TRY(digest, store_detail::digest_column(st, 0));
      Referrer r{.digest = digest,
                 .media_type = st.column_text(1),
                 .size = sql::to_u64(st.column_int64(2)),
                 .artifact_type = std::nullopt,
                 .annotations_json = st.column_text(4)};
      if (!st.column_is_null(3)) r.artifact_type = st.column_text(3);
      referrers.push_back(std::move(r));
    }
  }));
  return referrers;
}

}  // namespace berth::meta
