// The version bookkeeping of the package model (docs/packages.md), as functions over a driver's
// Connection that run inside the caller's write transaction: MetadataStore's manifest push and delete
// (sql_metadata_store_impl.h) and PackageStore's deletes, restores and purges (sql_package_store_impl.h)
// share them, so one set of rules keeps versions, tags and sizes consistent whichever way they change.
//
// Vocabulary: a version's *root* is its top-level manifest; its *members* are the manifests reachable from
// the root through index children (manifest_ref kind 'manifest') and referrers (manifest.subject),
// the root included. A version's blob set (version_blob) is the blobs its members reference; while the
// version is live each blob of the set counts once in blob.live_versions, package_blob and owner_blob,
// which keep the unique size and the package and owner totals current.
//
// Internal to meta/.
#pragma once

#include <algorithm>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "meta/package_queries.h"
#include "meta/queries.h"
#include "meta/sql_common.h"
#include "meta/sql_rows.h"
#include "meta/webhook_events_impl.h"

namespace berth::meta::versions {

// The repository a change happens in: its row id and its owner (the name's first component), for the
// owner's totals.
struct Repo {
  int64_t id = 0;
  std::string owner;
};

inline std::string owner_of(std::string_view repository) {
  return std::string(repository.substr(0, repository.find('/')));
}

// Serializes the version changes of one repository (see kLockRepository): call first in the transaction.
template <class Connection>
Status lock_repository(Connection& c, int64_t repo_id) {
  return sql::run(c, sql::kLockRepository, repo_id);
}

struct ManifestState {
  bool deleted = false;
  std::optional<std::string> subject;  // or the manifest it is attached to (ManifestRecord::attached_to)
};

template <class Connection>
Result<std::optional<ManifestState>> manifest_state(Connection& c, int64_t repo_id, const std::string& digest) {
  META_TRY(st, c.prepare(sql::kManifestState));
  st.bind(1, repo_id).bind(2, digest);
  META_TRY(row, st.step());
  if (!row) return std::optional<ManifestState>();
  ManifestState s;
  s.deleted = !st.column_is_null(0);
  if (!st.column_is_null(2)) s.subject = st.column_text(2);
  return std::optional<ManifestState>(std::move(s));
}

// A version row, live or deleted.
struct VersionRow {
  int64_t id = 0;
  std::string root;  // digest of its top-level manifest
  bool live = false;
};

// The version rooted at `digest` (any state), if there is one.
template <class Connection>
Result<std::optional<VersionRow>> version_rooted_at(Connection& c, int64_t repo_id, const std::string& digest) {
  META_TRY(st, c.prepare(sql::kVersionByDigest));
  st.bind(1, repo_id).bind(2, digest);
  META_TRY(row, st.step());
  if (!row) return std::optional<VersionRow>();
  return std::optional<VersionRow>(VersionRow{st.column_int64(0), digest, st.column_is_null(1)});
}

// The version `id` of the repository (any state), if there is one.
template <class Connection>
Result<std::optional<VersionRow>> version_by_id(Connection& c, int64_t repo_id, int64_t id) {
  META_TRY(st, c.prepare(sql::kVersionState));
  st.bind(1, repo_id).bind(2, id);
  META_TRY(row, st.step());
  if (!row) return std::optional<VersionRow>();
  return std::optional<VersionRow>(VersionRow{id, st.column_text(0), st.column_is_null(1)});
}

// The live version rooted at `digest`, if there is one: its id.
template <class Connection>
Result<std::optional<int64_t>> live_version_of(Connection& c, int64_t repo_id, const std::string& digest) {
  META_TRY(v, version_rooted_at(c, repo_id, digest));
  if (!v || !v->live) return std::optional<int64_t>();
  return std::optional<int64_t>(v->id);
}

// Which manifests a walk may step onto.
enum class Walk {
  live,  // live manifests only (a live version's members)
  any,   // whatever their state (what a deleted version held)
};

// The members of the version rooted at `root` (root first), breadth first.
template <class Connection>
Result<std::vector<std::string>> members(Connection& c, int64_t repo_id, const std::string& root, Walk walk) {
  std::vector<std::string> out{root};
  std::set<std::string> seen{root};
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string at = out[i];
    META_TRY(below, sql::texts(c, walk == Walk::live ? sql::kLiveBelow : sql::kAnyBelow, repo_id, at, repo_id, at,
                                         repo_id, at));
    for (auto& d : below) {
      if (seen.insert(d).second) out.push_back(std::move(d));
    }
  }
  return out;
}

// The live versions whose members include `digest` (walking up through live parents and subjects).
template <class Connection>
Result<std::vector<int64_t>> live_versions_containing(Connection& c, int64_t repo_id, const std::string& digest) {
  std::vector<std::string> todo{digest};
  std::set<std::string> seen{digest};
  std::vector<int64_t> found;
  for (size_t i = 0; i < todo.size(); ++i) {
    const std::string at = todo[i];
    META_TRY(version, live_version_of(c, repo_id, at));
    if (version) found.push_back(*version);
    META_TRY(parents, sql::texts(c, sql::kLiveParents, repo_id, at));
    META_TRY(state, manifest_state(c, repo_id, at));
    if (state && state->subject) {
      META_TRY(subject, manifest_state(c, repo_id, *state->subject));
      if (subject && !subject->deleted) parents.push_back(*state->subject);
    }
    for (auto& p : parents) {
      if (seen.insert(p).second) todo.push_back(std::move(p));
    }
  }
  return found;
}

// The count of one blob in a package's or an owner's set goes up or down by one; true when the blob just
// entered (count 1 after +1) or left (0 after -1) the set, so its size moves the total. A count that would
// go below 0 is a bookkeeping bug: the row is dropped, nothing subtracted.
template <class Connection, class Key>
Result<bool> count_in_set(Connection& c, std::string_view upsert, std::string_view drop, const Key& key,
                          const std::string& digest, int64_t delta) {
  META_TRY(held, sql::int_of(c, upsert, key, digest, delta));
  if (!held) return Status(Errc::internal, "blob count returned no row");
  if (*held <= 0) BERTH_RETURN_IF_ERROR(sql::run(c, drop, key, digest));
  return delta > 0 ? *held == 1 : *held == 0;
}

// One blob entering (+1) or leaving (-1) a live version: the global count and the package's and owner's
// totals, where the blob is counted once however many versions hold it.
template <class Connection>
Status count_blob(Connection& c, const Repo& repo, const std::string& digest, int64_t delta) {
  // The blob's size; nullopt for a digest the registry has no blob row for (nothing to count).
  META_TRY(size, sql::int_of(c, sql::kCountBlobLive, delta, digest));
  const int64_t signed_size = delta > 0 ? size.value_or(0) : -size.value_or(0);
  META_TRY(package_changed, count_in_set(c, sql::kCountPackageBlob, sql::kDropPackageBlob, repo.id, digest, delta));
  if (package_changed && signed_size != 0) {
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kAddPackageSize, signed_size, repo.id));
  }
  META_TRY(owner_changed, count_in_set(c, sql::kCountOwnerBlob, sql::kDropOwnerBlob, repo.owner, digest, delta));
  if (owner_changed && signed_size != 0) {
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kAddOwnerSize, repo.owner, signed_size));
  }
  return Status::Ok();
}

template <class Connection>
Result<std::set<std::string>> stored_blob_set(Connection& c, int64_t version_id) {
  META_TRY(digests, sql::texts(c, sql::kVersionBlobs, version_id));
  return std::set<std::string>(digests.begin(), digests.end());
}

// Brings a version's blob set, size and member count up to date with its members. `live`: the version is
// live, so blobs entering or leaving the set are counted. A deleted version's set is kept as it was at the
// delete.
template <class Connection>
Status refresh_blobs(Connection& c, const Repo& repo, int64_t version_id, const std::string& root, bool live) {
  META_TRY(member_list, members(c, repo.id, root, live ? Walk::live : Walk::any));
  std::set<std::string> wanted;
  for (const auto& m : member_list) {
    META_TRY(blobs, sql::texts(c, sql::kBlobsOfManifest, repo.id, m));
    wanted.insert(blobs.begin(), blobs.end());
  }
  META_TRY(stored, stored_blob_set(c, version_id));
  for (const auto& d : wanted) {
    if (stored.count(d)) continue;
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kInsertVersionBlob, version_id, d));
    if (live) BERTH_RETURN_IF_ERROR(count_blob(c, repo, d, +1));
  }
  for (const auto& d : stored) {
    if (wanted.count(d)) continue;
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kDeleteVersionBlob, version_id, d));
    if (live) BERTH_RETURN_IF_ERROR(count_blob(c, repo, d, -1));
  }
  META_TRY(bytes, sql::int_of(c, sql::kVersionBlobBytes, version_id));
  return sql::run(c, sql::kSetVersionSize, bytes.value_or(0), static_cast<int64_t>(member_list.size()), version_id);
}

// Counts every blob of the version's stored set in (+1, it became live) or out (-1, it was deleted).
template <class Connection>
Status count_blob_set(Connection& c, const Repo& repo, int64_t version_id, int64_t delta) {
  META_TRY(stored, stored_blob_set(c, version_id));
  for (const auto& d : stored) BERTH_RETURN_IF_ERROR(count_blob(c, repo, d, delta));
  return Status::Ok();
}

template <class Connection>
Status count_versions(Connection& c, const Repo& repo, int64_t delta, int64_t now) {
  return sql::run(c, sql::kCountVersions, delta, now, repo.id);
}

// Removes a version row and what hangs off it (its blob set must be uncounted already).
template <class Connection>
Status drop_version_row(Connection& c, int64_t id) {
  for (std::string_view q : {sql::kDeleteVersionBlobs, sql::kDropSavedTags, sql::kDeleteVersionRow}) {
    BERTH_RETURN_IF_ERROR(sql::run(c, q, id));
  }
  return Status::Ok();
}

// The versions rooted at the children of `root` stop being versions: they are now part of root's
// (version `into`), which takes over their download counts. Their blobs leave the count here and
// come back with the adopting version's refresh.
template <class Connection>
Status adopt_children(Connection& c, const Repo& repo, int64_t into, const std::string& root, int64_t now) {
  META_TRY(children, sql::texts(c, sql::kLiveChildren, repo.id, root));
  for (const auto& child : children) {
    META_TRY(child_version, live_version_of(c, repo.id, child));
    if (!child_version) continue;
    META_TRY(downloads, sql::int_of(c, sql::kVersionDownloads, *child_version));
    BERTH_RETURN_IF_ERROR(count_blob_set(c, repo, *child_version, -1));
    BERTH_RETURN_IF_ERROR(drop_version_row(c, *child_version));
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kAddVersionDownloads, downloads.value_or(0), into));
    BERTH_RETURN_IF_ERROR(count_versions(c, repo, -1, now));
  }
  return Status::Ok();
}

struct VersionFacts {
  std::string media_type;
  int64_t created_at = 0;
  std::string description, source, licenses;
};

// `root` (live, no subject, listed by no live index) is a version: creates its row, or brings back the
// deleted row of the same digest (same id), then adopts its children's versions and counts its blobs.
// Returns the version id.
template <class Connection>
Result<int64_t> start_version(Connection& c, const Repo& repo, const std::string& root, const VersionFacts& facts,
                              int64_t now) {
  META_TRY(existing, version_rooted_at(c, repo.id, root));
  if (existing && existing->live) return existing->id;
  int64_t id = 0;
  if (existing) {
    // A deleted version pushed again: live with what the push brings; its old tags are forgotten, and
    // manifests still deleted from back then no longer come back with a later restore.
    id = existing->id;
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kDropSavedTags, id));
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kDeleteVersionBlobs, id));
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kForgetDeletedIn, repo.id, id));
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kReviveVersion, now, id));
    if (!facts.description.empty() || !facts.source.empty() || !facts.licenses.empty()) {
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kDescribeVersion, facts.description, facts.source, facts.licenses, id));
    }
  } else {
    META_TRY(inserted, sql::int_of(c, sql::kInsertVersion, repo.id, root, facts.media_type, facts.created_at, now,
                                   facts.description, facts.source, facts.licenses));
    if (!inserted) return Status(Errc::internal, "version insert returned no id: " + root);
    id = *inserted;
  }
  BERTH_RETURN_IF_ERROR(count_versions(c, repo, +1, now));
  BERTH_RETURN_IF_ERROR(adopt_children(c, repo, id, root, now));
  BERTH_RETURN_IF_ERROR(refresh_blobs(c, repo, id, root, true));
  return id;
}

// After a live manifest with a subject appeared or left: the versions holding it (found before it left)
// take it in or let it go.
template <class Connection>
Status refresh_versions_holding_ids(Connection& c, const Repo& repo, const std::vector<int64_t>& ids, int64_t now) {
  for (int64_t id : ids) {
    META_TRY(version, version_by_id(c, repo.id, id));
    if (!version) continue;
    BERTH_RETURN_IF_ERROR(refresh_blobs(c, repo, id, version->root, true));
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kTouchVersion, now, id));
  }
  return Status::Ok();
}

template <class Connection>
Status refresh_versions_holding(Connection& c, const Repo& repo, const std::string& digest, int64_t now) {
  META_TRY(ids, live_versions_containing(c, repo.id, digest));
  return refresh_versions_holding_ids(c, repo, ids, now);
}

// Soft-deletes the members of `candidates` (live manifests, the first one where the deletion starts)
// that nothing outside the set keeps: a member that a live manifest outside the set lists, or whose
// subject is live outside it, stays, and so does everything below it. Tags of deleted manifests are
// saved under `deleted_in` (a version id; 0: not restorable) and removed.
template <class Connection>
Status delete_members(Connection& c, const Repo& repo, const std::vector<std::string>& candidates,
                      int64_t deleted_in, int64_t now) {
  std::set<std::string> in_set(candidates.begin(), candidates.end());
  std::set<std::string> keep_set;
  for (size_t i = 1; i < candidates.size(); ++i) {
    const std::string& m = candidates[i];
    META_TRY(parents, sql::texts(c, sql::kLiveParents, repo.id, m));
    bool keep = std::any_of(parents.begin(), parents.end(), [&](const std::string& p) { return !in_set.count(p); });
    if (!keep) {
      META_TRY(state, manifest_state(c, repo.id, m));
      if (state && state->subject && !in_set.count(*state->subject)) {
        META_TRY(subject, manifest_state(c, repo.id, *state->subject));
        keep = subject && !subject->deleted;
      }
    }
    if (!keep) continue;
    META_TRY(below, members(c, repo.id, m, Walk::live));
    keep_set.insert(below.begin(), below.end());
  }
  bool tags_changed = false;
  for (const auto& m : candidates) {
    if (keep_set.count(m)) continue;
    if (deleted_in != 0) BERTH_RETURN_IF_ERROR(sql::run(c, sql::kSaveTagsOfManifest, deleted_in, repo.id, m));
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kDeleteTagsOfManifest, repo.id, m));
    tags_changed = tags_changed || c.changes() > 0;
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kMarkManifestDeleted, now, deleted_in, repo.id, m));
  }
  return tags_changed ? sql::run(c, sql::kBumpTagVersion, repo.id) : Status::Ok();
}

// Soft-deletes the live version `id` rooted at `root`.
template <class Connection>
Status delete_version(Connection& c, const Repo& repo, int64_t id, const std::string& root, bool with_package,
                      int64_t now) {
  BERTH_RETURN_IF_ERROR(webhook_events::record(c, repo.id, repo.owner, "deleted", root, id,
                                               [&] { return sql::texts(c, sql::kTagsOfManifest, repo.id, root); }, now));
  META_TRY(candidates, members(c, repo.id, root, Walk::live));
  BERTH_RETURN_IF_ERROR(delete_members(c, repo, candidates, id, now));
  BERTH_RETURN_IF_ERROR(count_blob_set(c, repo, id, -1));
  BERTH_RETURN_IF_ERROR(sql::run(c, sql::kMarkVersionDeleted, now, int64_t{with_package ? 1 : 0}, now, id));
  return count_versions(c, repo, -1, now);
}

// Brings the deleted version `id` back: the manifests deleted with it, the deleted children its indexes
// still list (an index is never live with a child missing), its tags where they are free, and its counts.
template <class Connection>
Status restore_version(Connection& c, const Repo& repo, int64_t id, const std::string& root,
                       std::vector<std::string>& tags_not_restored, int64_t now) {
  tags_not_restored.clear();
  META_TRY(revive, sql::texts(c, sql::kManifestsDeletedIn, repo.id, id));
  revive.push_back(root);
  std::set<std::string> done;
  for (size_t i = 0; i < revive.size(); ++i) {
    const std::string m = revive[i];
    if (!done.insert(m).second) continue;
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kReviveManifest, repo.id, m));
    META_TRY(children, sql::texts(c, sql::kAnyChildren, repo.id, m));
    for (auto& child : children) revive.push_back(std::move(child));
  }
  // Tags: back where they were, unless the name points elsewhere now (or its manifest is gone).
  std::vector<std::pair<std::string, std::string>> saved;  // name, digest
  {
    META_TRY(st, c.prepare(sql::kSavedTags));
    st.bind(1, id);
    while (true) {
      META_TRY(row, st.step());
      if (!row) break;
      saved.emplace_back(st.column_text(0), st.column_text(1));
    }
  }
  bool tags_changed = false;
  for (const auto& [name, digest] : saved) {
    META_TRY(state, manifest_state(c, repo.id, digest));
    bool restored = false;
    if (state && !state->deleted) {
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kRestoreTag, repo.id, name, digest, now));
      restored = c.changes() > 0;
    }
    if (!restored) tags_not_restored.push_back(name);
    tags_changed = tags_changed || restored;
  }
  if (tags_changed) BERTH_RETURN_IF_ERROR(sql::run(c, sql::kBumpTagVersion, repo.id));
  BERTH_RETURN_IF_ERROR(sql::run(c, sql::kDropSavedTags, id));
  BERTH_RETURN_IF_ERROR(sql::run(c, sql::kDeleteVersionBlobs, id));
  BERTH_RETURN_IF_ERROR(sql::run(c, sql::kReviveVersion, now, id));
  BERTH_RETURN_IF_ERROR(count_versions(c, repo, +1, now));
  // Children that were pushed again on their own meanwhile are versions again: this one takes them back.
  BERTH_RETURN_IF_ERROR(adopt_children(c, repo, id, root, now));
  BERTH_RETURN_IF_ERROR(refresh_blobs(c, repo, id, root, true));
  return webhook_events::record(c, repo.id, repo.owner, "restored", root, id,
                                [&] { return sql::texts(c, sql::kTagsOfManifest, repo.id, root); }, now);
}

// Builds the versions of a repository whose manifests predate the package model (migration 4).
template <class Connection>
Status build_versions(Connection& c, const Repo& repo) {
  struct Top {
    std::string digest, media_type;
    int64_t created_at;
  };
  std::vector<Top> tops;
  {
    META_TRY(st, c.prepare(sql::kTopLevelManifests));
    st.bind(1, repo.id);
    while (true) {
      META_TRY(row, st.step());
      if (!row) break;
      tops.push_back({st.column_text(0), st.column_text(1), st.column_int64(2)});
    }
  }
  for (const auto& t : tops) {
    VersionFacts facts{.media_type = t.media_type, .created_at = t.created_at, .description = {}, .source = {},
                       .licenses = {}};
    META_TRY(id, start_version(c, repo, t.digest, facts, t.created_at));
    (void)id;
  }
  return sql::run(c, sql::kMarkVersionsReady, repo.id);
}

}  // namespace berth::meta::versions
