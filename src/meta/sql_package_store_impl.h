// The bodies of SqlPackageStore's methods, for the driver .cc files that instantiate it (sqlite_store.cc,
// pg_store.cc), written against the API both drivers share (see sql_metadata_store_impl.h).
//
// Internal to meta/.
#pragma once

#include <algorithm>
#include <string>
#include <utility>

#include "meta/package_queries.h"
#include "oci/manifest.h"
#include "meta/sql_common.h"
#include "meta/sql_package_store.h"
#include "meta/sql_rows.h"
#include "meta/quota_impl.h"
#include "meta/tag_rules_impl.h"
#include "meta/versions_impl.h"

namespace berth::meta {
namespace package_detail {

template <class Stmt>
PackageRecord package_row(const Stmt& st) {
  PackageRecord p;
  p.id = st.column_int64(0);
  p.name = st.column_text(1);
  p.visibility = st.column_text(2);
  p.created_at = st.column_int64(3);
  p.updated_at = std::max(st.column_int64(4), p.created_at);
  p.version_count = sql::to_u64(st.column_int64(5));
  p.size = sql::to_u64(st.column_int64(6));
  p.downloads = sql::to_u64(st.column_int64(7));
  if (!st.column_is_null(8)) p.description = st.column_text(8);
  if (!st.column_is_null(9)) p.source = st.column_text(9);
  if (!st.column_is_null(10)) p.licenses = st.column_text(10);
  if (!st.column_is_null(11)) p.deleted_at = st.column_int64(11);
  return p;
}

template <class Stmt>
Result<VersionRecord> version_row(const Stmt& st) {
  META_TRY(digest, sql::stored_digest(st.column_text(2)));
  VersionRecord v{.id = st.column_int64(0),
                  .package_id = st.column_int64(1),
                  .digest = digest,
                  .media_type = st.column_text(3),
                  .content = {},
                  .created_at = st.column_int64(5),
                  .updated_at = st.column_int64(6),
                  .deleted_at = std::nullopt,
                  .tags = {},
                  .parts = {},
                  .size = sql::to_u64(st.column_int64(8)),
                  .unique_size = sql::to_u64(st.column_int64(9)),
                  .downloads = sql::to_u64(st.column_int64(10)),
                  .description = st.column_text(11),
                  .source = st.column_text(12),
                  .licenses = st.column_text(13)};
  if (!st.column_is_null(7)) v.deleted_at = st.column_int64(7);
  v.members = sql::to_u64(st.column_int64(4));
  return v;
}

// The live package's row id, or nullopt.
template <class Connection>
Result<std::optional<int64_t>> live_repository(Connection& c, const std::string& name) {
  return sql::int_of(c, sql::kLiveRepository, name);
}

// Tags, parts and (for an index) content of a version read by version_row().
template <class Connection>
Status complete_version(Connection& c, VersionRecord& v) {
  const bool live = !v.deleted_at;
  if (live) {
    META_TRY(tags, sql::texts(c, sql::kTagsOfManifest, v.package_id, v.digest.str()));
    std::sort(tags.begin(), tags.end());
    v.tags = std::move(tags);
  } else {
    META_TRY(tags, sql::texts(c, sql::kSavedTags, v.id));  // sorted by the query
    v.tags = std::move(tags);
  }
  if (oci::is_index_media_type(v.media_type)) {
    META_TRY(st, c.prepare(sql::kManifestContent));
    st.bind(1, v.package_id).bind(2, v.digest.str());
    META_TRY(row, st.step());
    if (row) v.content = st.column_blob(0);
  }
  if (v.members <= 1) return Status::Ok();  // no platform manifests, no referrers
  META_TRY(members, versions::members(c, v.package_id, v.digest.str(), live ? versions::Walk::live : versions::Walk::any));
  for (size_t i = 1; i < members.size(); ++i) {
    META_TRY(st, c.prepare(sql::kManifestState));
    st.bind(1, v.package_id).bind(2, members[i]);
    META_TRY(row, st.step());
    if (!row) continue;
    META_TRY(digest, sql::stored_digest(members[i]));
    VersionPart part{.digest = digest,
                     .media_type = st.column_text(3),
                     .artifact_type = std::nullopt,
                     .subject = std::nullopt,
                     .manifest_size = sql::to_u64(st.column_int64(5))};
    if (!st.column_is_null(2)) {
      META_TRY(subject, sql::stored_digest(st.column_text(2)));
      part.subject = subject;
    }
    if (!st.column_is_null(4)) part.artifact_type = st.column_text(4);
    v.parts.push_back(std::move(part));
  }
  return Status::Ok();
}

}  // namespace package_detail

// Reads run in one transaction: a listing's statements see one state of the store, and SQLite takes
// its WAL read lock once instead of once per statement (measured: ~10% of a version page's CPU).
template <class Pool>
template <class Body>
Status SqlPackageStore<Pool>::read(Body&& body) {
  return transact(pool_, false, [&](auto& c) -> Status {
    BERTH_RETURN_IF_ERROR(c.exec("BEGIN"));
    Status s = body(c);
    Status end = c.exec(s.ok() ? "COMMIT" : "ROLLBACK");
    return s.ok() ? end : s;
  });
}

template <class Pool>
template <class Body>
Status SqlPackageStore<Pool>::write(Body&& body) {
  return transact(pool_, true, std::forward<Body>(body));
}

// ---- Packages ----

template <class Pool>
Result<Listing<PackageRecord>> SqlPackageStore<Pool>::list_packages(const std::string& owner,
                                                                    const PackageFilter& filter, uint64_t offset,
                                                                    uint64_t limit) {
  Listing<PackageRecord> out;
  const std::string visibility = filter.visibility.value_or("");
  const std::string reader = filter.readable_by.value_or("");
  auto bind_filter = [&](auto& st) {
    st.bind(1, owner + "/").bind(2, owner + "0").bind(3, visibility).bind(4, visibility);
    st.bind(5, int64_t{filter.public_only ? 1 : 0}).bind(6, reader).bind(7, reader);
  };
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    out = {};
    {
      META_TRY(st, c.prepare(sql::kCountPackages));
      bind_filter(st);
      META_TRY(row, st.step());
      if (row) out.total = sql::to_u64(st.column_int64(0));
    }
    META_TRY(st, c.prepare(sql::kListPackages));
    bind_filter(st);
    st.bind(8, sql::to_sql(limit)).bind(9, sql::to_sql(offset));
    while (true) {
      META_TRY(row, st.step());
      if (!row) return Status::Ok();
      out.items.push_back(package_detail::package_row(st));
    }
  }));
  return out;
}

template <class Pool>
Result<std::optional<PackageRecord>> SqlPackageStore<Pool>::get_package(const std::string& name) {
  std::optional<PackageRecord> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    out.reset();
    META_TRY(st, c.prepare(sql::kGetPackage));
    st.bind(1, name);
    META_TRY(row, st.step());
    if (row) out = package_detail::package_row(st);
    return Status::Ok();
  }));
  return out;
}

template <class Pool>
Result<bool> SqlPackageStore<Pool>::delete_package(const std::string& name, int64_t now) {
  bool deleted = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    deleted = false;
    META_TRY(repo_id, package_detail::live_repository(c, name));
    if (!repo_id) return Status::Ok();
    const versions::Repo repo{*repo_id, versions::owner_of(name)};
    BERTH_RETURN_IF_ERROR(versions::lock_repository(c, repo.id));
    META_TRY(live, sql::id_texts(c, sql::kLiveVersionIds, repo.id));
    META_TRY(rules, tag_rules::load(c, repo));
    for (const auto& [id, root] : live) {
      META_TRY(held, tag_rules::protected_tag_on(c, repo, rules, root));
      if (held) return Status(Errc::denied, *held + ": the package cannot be deleted");
    }
    for (const auto& [id, root] : live) {
      // An earlier iteration may have deleted this one with its own (a shared child is no root).
      META_TRY(still, versions::live_version_of(c, repo.id, root));
      if (still) BERTH_RETURN_IF_ERROR(versions::delete_version(c, repo, id, root, true, now));
    }
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kGiveNameUp, "~deleted/" + std::to_string(repo.id), now, now, repo.id));
    deleted = true;
    return Status::Ok();
  }));
  return deleted;
}

template <class Pool>
Status SqlPackageStore<Pool>::restore_package(const std::string& name, int64_t now) {
  return write([&](auto& c) -> Status {
    META_TRY(deleted_id, sql::int_of(c, sql::kLastDeletedRepository, name));
    if (!deleted_id) return Status(Errc::not_found, "no deleted package named " + name);
    META_TRY(live, package_detail::live_repository(c, name));
    if (live) return Status(Errc::conflict, "a package named " + name + " exists again");
    BERTH_RETURN_IF_ERROR(versions::lock_repository(c, *deleted_id));
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kTakeNameBack, now, *deleted_id));
    const versions::Repo repo{*deleted_id, versions::owner_of(name)};
    // What a restore brings back counts against the quotas as a push would (the transaction rolls back).
    META_TRY(limits, quota::before_push(c, repo));
    META_TRY(to_restore, sql::id_texts(c, sql::kVersionsDeletedWithPackage, repo.id));
    std::vector<std::string> not_restored;  // a package restore answers no more than "restored"
    for (const auto& [id, root] : to_restore) {
      BERTH_RETURN_IF_ERROR(versions::restore_version(c, repo, id, root, not_restored, now));
    }
    return quota::after_push(c, repo, name, limits);
  });
}

// ---- Versions ----

template <class Pool>
Result<Listing<VersionRecord>> SqlPackageStore<Pool>::list_versions(const std::string& package, VersionState state,
                                                                    uint64_t offset, uint64_t limit) {
  Listing<VersionRecord> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    out = {};
    META_TRY(repo_id, package_detail::live_repository(c, package));
    if (!repo_id) return Status(Errc::not_found, "no package named " + package);
    const bool active = state == VersionState::active;
    META_TRY(total, sql::int_of(c, active ? sql::kRepositoryVersionCount : sql::kCountDeletedVersions, *repo_id));
    out.total = sql::to_u64(total.value_or(0));
    {
      META_TRY(st, c.prepare(active ? sql::kListLiveVersions : sql::kListDeletedVersions));
      st.bind(1, *repo_id).bind(2, sql::to_sql(limit)).bind(3, sql::to_sql(offset));
      while (true) {
        META_TRY(row, st.step());
        if (!row) break;
        META_TRY(v, package_detail::version_row(st));
        out.items.push_back(std::move(v));
      }
    }
    for (auto& v : out.items) BERTH_RETURN_IF_ERROR(package_detail::complete_version(c, v));
    return Status::Ok();
  }));
  return out;
}

template <class Pool>
Result<std::optional<VersionRecord>> SqlPackageStore<Pool>::get_version(const std::string& package, int64_t id) {
  std::optional<VersionRecord> out;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    out.reset();
    META_TRY(repo_id, package_detail::live_repository(c, package));
    if (!repo_id) return Status::Ok();
    {
      META_TRY(st, c.prepare(sql::kGetVersion));
      st.bind(1, *repo_id).bind(2, id);
      META_TRY(row, st.step());
      if (!row) return Status::Ok();
      META_TRY(v, package_detail::version_row(st));
      out = std::move(v);
    }
    return package_detail::complete_version(c, *out);
  }));
  return out;
}

template <class Pool>
Result<bool> SqlPackageStore<Pool>::delete_version(const std::string& package, int64_t id, int64_t now) {
  bool deleted = false;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    deleted = false;
    META_TRY(repo_id, package_detail::live_repository(c, package));
    if (!repo_id) return Status::Ok();
    BERTH_RETURN_IF_ERROR(versions::lock_repository(c, *repo_id));
    META_TRY(version, versions::version_by_id(c, *repo_id, id));
    if (!version || !version->live) return Status::Ok();
    const versions::Repo repo{*repo_id, versions::owner_of(package)};
    META_TRY(rules, tag_rules::load(c, repo));
    META_TRY(held, tag_rules::protected_tag_on(c, repo, rules, version->root));
    if (held) return Status(Errc::denied, *held + ": the version cannot be deleted");
    BERTH_RETURN_IF_ERROR(versions::delete_version(c, repo, id, version->root, false, now));
    deleted = true;
    return Status::Ok();
  }));
  return deleted;
}

template <class Pool>
Result<RestoreResult> SqlPackageStore<Pool>::restore_version(const std::string& package, int64_t id, int64_t now) {
  RestoreResult out;
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    out = {};
    META_TRY(repo_id, package_detail::live_repository(c, package));
    if (!repo_id) return Status(Errc::not_found, "no package named " + package);
    BERTH_RETURN_IF_ERROR(versions::lock_repository(c, *repo_id));
    META_TRY(version, versions::version_by_id(c, *repo_id, id));
    if (!version || version->live) return Status(Errc::not_found, "no deleted version " + std::to_string(id));
    const versions::Repo repo{*repo_id, versions::owner_of(package)};
    META_TRY(limits, quota::before_push(c, repo));
    BERTH_RETURN_IF_ERROR(versions::restore_version(c, repo, id, version->root, out.tags_not_restored, now));
    return quota::after_push(c, repo, package, limits);
  }));
  return out;
}

// ---- Accounting ----

template <class Pool>
Result<uint64_t> SqlPackageStore<Pool>::owner_size(const std::string& owner) {
  uint64_t size = 0;
  BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
    META_TRY(bytes, sql::int_of(c, sql::kOwnerSize, owner));
    size = sql::to_u64(bytes.value_or(0));
    return Status::Ok();
  }));
  return size;
}

template <class Pool>
Status SqlPackageStore<Pool>::add_downloads(const std::vector<DownloadCount>& counts) {
  if (counts.empty()) return Status::Ok();
  return write([&](auto& c) -> Status {
    for (const auto& d : counts) {
      int64_t version_id = 0, repo_id = 0;
      {
        META_TRY(st, c.prepare(sql::kLiveVersionOf));
        st.bind(1, d.repository).bind(2, d.digest.str());
        META_TRY(row, st.step());
        if (!row) continue;  // not a version's top-level manifest (or gone since)
        version_id = st.column_int64(0);
        repo_id = st.column_int64(1);
      }
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kAddVersionDownloads, sql::to_sql(d.count), version_id));
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kAddPackageDownloads, sql::to_sql(d.count), repo_id));
    }
    return Status::Ok();
  });
}

// ---- Purge ----

template <class Pool>
Result<PurgeStats> SqlPackageStore<Pool>::purge(int64_t cutoff, uint64_t limit) {
  PurgeStats stats;
  // Version rows first (their blob sets were uncounted when they were deleted), then the manifests no
  // remaining manifest lists, parents before children, then packages left without manifests.
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    stats.versions = 0;
    META_TRY(ids, sql::ints(c, sql::kVersionsToPurge, cutoff, sql::to_sql(limit)));
    for (int64_t id : ids) BERTH_RETURN_IF_ERROR(versions::drop_version_row(c, id));
    stats.versions = ids.size();
    return Status::Ok();
  }));
  while (stats.manifests < limit) {
    uint64_t round = 0;
    BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
      round = 0;
      META_TRY(doomed, sql::id_texts(c, sql::kManifestsToPurge, cutoff, sql::to_sql(limit - stats.manifests)));
      for (const auto& [repo_id, digest] : doomed) {
        for (std::string_view q : {sql::kDeleteRefsOfManifest, sql::kDeleteTagsOfManifest, sql::kDeleteManifest}) {
          BERTH_RETURN_IF_ERROR(sql::run(c, q, repo_id, digest));
        }
      }
      round = doomed.size();
      return Status::Ok();
    }));
    if (round == 0) break;
    stats.manifests += round;
  }
  BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
    stats.packages = 0;
    META_TRY(ids, sql::ints(c, sql::kPackagesToPurge, cutoff, sql::to_sql(limit)));
    for (int64_t id : ids) {
      for (std::string_view q : sql::kPurgeRepositoryRows) BERTH_RETURN_IF_ERROR(sql::run(c, q, id));
    }
    stats.packages = ids.size();
    return Status::Ok();
  }));
  return stats;
}

template <class Pool>
Result<size_t> SqlPackageStore<Pool>::build_missing_versions() {
  size_t built = 0;
  while (true) {
    std::vector<std::pair<int64_t, std::string>> todo;
    BERTH_RETURN_IF_ERROR(read([&](auto& c) -> Status {
      META_TRY(found, sql::id_texts(c, sql::kRepositoriesWithoutVersions, int64_t{100}));
      todo = std::move(found);
      return Status::Ok();
    }));
    if (todo.empty()) return built;
    for (const auto& entry : todo) {
      // Not a structured binding: clang before 16 cannot capture one in the lambda below.
      const int64_t id = entry.first;
      const std::string& name = entry.second;
      // One transaction per repository; a second process doing the same finds versions_ready set.
      bool did_build = false;
      BERTH_RETURN_IF_ERROR(write([&](auto& c) -> Status {
        did_build = false;
        BERTH_RETURN_IF_ERROR(versions::lock_repository(c, id));
        META_TRY(ready, sql::int_of(c, sql::kRepositoryVersionsReady, id));
        if (!ready || *ready != 0) return Status::Ok();
        did_build = true;
        return versions::build_versions(c, versions::Repo{id, versions::owner_of(name)});
      }));
      if (did_build) ++built;
    }
  }
}

}  // namespace berth::meta
