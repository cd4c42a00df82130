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
  META_TRY(st, c.prepare(sql::kLockRepository));
  return st.bind(1, repo_id).run();
}

// The first text column of every row of `query` bound to (repository id, key).
template <class Connection>
Result<std::vector<std::string>> texts(Connection& c, std::string_view query, int64_t repo_id, const std::string& key) {
  META_TRY(st, c.prepare(query));
  st.bind(1, repo_id).bind(2, key);
  std::vector<std::string> out;
  while (true) {
    META_TRY(row, st.step());
    if (!row) return out;
    out.push_back(st.column_text(0));
  }
}

struct ManifestState {
  bool deleted = false;
  int64_t deleted_in = 0;
  std::optional<std::string> subject;
};

template <class Connection>
Result<std::optional<ManifestState>> manifest_state(Connection& c, int64_t repo_id, const std::string& digest) {
  META_TRY(st, c.prepare(sql::kManifestState));
  st.bind(1, repo_id).bind(2, digest);
  META_TRY(row, st.step());
  if (!row) return std::optional<ManifestState>();
  ManifestState s;
  s.deleted = !st.column_is_null(0);
  s.deleted_in = st.column_is_null(1) ? 0 : st.column_int64(1);
  if (!st.column_is_null(2)) s.subject = st.column_text(2);
  return std::optional<ManifestState>(std::move(s));
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
    META_TRY(st, c.prepare(walk == Walk::live ? sql::kLiveBelow : sql::kAnyBelow));
    st.bind(1, repo_id).bind(2, at).bind(3, repo_id).bind(4, at);
    while (true) {
      META_TRY(row, st.step());
      if (!row) break;
      std::string d = st.column_text(0);
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
    {
      META_TRY(st, c.prepare(sql::kVersionByDigest));
      st.bind(1, repo_id).bind(2, at);
      META_TRY(row, st.step());
      if (row && st.column_is_null(1)) found.push_back(st.column_int64(0));
    }
    META_TRY(parents, texts(c, sql::kLiveParents, repo_id, at));
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

// One blob entering (+1) or leaving (-1) a live version: the global count and the package's and owner's
// totals, where the blob is counted once however many versions hold it.
template <class Connection>
Status count_blob(Connection& c, const Repo& repo, const std::string& digest, int64_t delta) {
  int64_t size = 0;  // 0 for a digest the registry has no blob row for (nothing to count)
  {
    META_TRY(st, c.prepare(sql::kCountBlobLive));
    st.bind(1, delta).bind(2, digest);
    META_TRY(row, st.step());
    if (row) size = st.column_int64(0);
  }
  // The row's new count tells whether the blob just arrived in (1 after +1) or left (0 after -1) the set.
  auto count_in = [&](std::string_view upsert, std::string_view drop, auto bind_key) -> Result<bool> {
    int64_t now_held = 0;
    {
      META_TRY(st, c.prepare(upsert));
      bind_key(st);
      st.bind(3, delta);
      META_TRY(row, st.step());
      if (!row) return Status(Errc::internal, "blob count returned no row");
      now_held = st.column_int64(0);
    }
    // delta is +1 or -1; a count going below 0 would be a bookkeeping bug: dropped, not subtracted.
    const bool changed = delta > 0 ? now_held == 1 : now_held == 0;
    if (now_held <= 0) {
      META_TRY(st, c.prepare(drop));
      bind_key(st);
      BERTH_RETURN_IF_ERROR(st.run());
    }
    return changed;
  };
  const int64_t signed_size = delta > 0 ? size : -size;
  META_TRY(package_changed, count_in(sql::kCountPackageBlob, sql::kDropPackageBlob,
                                     [&](auto& st) { st.bind(1, repo.id).bind(2, digest); }));
  if (package_changed && size != 0) {
    META_TRY(st, c.prepare(sql::kAddPackageSize));
    BERTH_RETURN_IF_ERROR(st.bind(1, signed_size).bind(2, repo.id).run());
  }
  META_TRY(owner_changed, count_in(sql::kCountOwnerBlob, sql::kDropOwnerBlob,
                                   [&](auto& st) { st.bind(1, repo.owner).bind(2, digest); }));
  if (owner_changed && size != 0) {
    META_TRY(st, c.prepare(sql::kAddOwnerSize));
    BERTH_RETURN_IF_ERROR(st.bind(1, repo.owner).bind(2, signed_size).run());
  }
  return Status::Ok();
}

template <class Connection>
Result<std::set<std::string>> stored_blob_set(Connection& c, int64_t version_id) {
  META_TRY(st, c.prepare(sql::kVersionBlobs));
  st.bind(1, version_id);
  std::set<std::string> out;
  while (true) {
    META_TRY(row, st.step());
    if (!row) return out;
    out.insert(st.column_text(0));
  }
}

// Brings a version's blob set and size up to date with its members. `live`: the version is live, so
// blobs entering or leaving the set are counted. A deleted version's set is kept as it was at the delete.
template <class Connection>
Status refresh_blobs(Connection& c, const Repo& repo, int64_t version_id, const std::string& root, bool live) {
  META_TRY(member_list, members(c, repo.id, root, live ? Walk::live : Walk::any));
  std::set<std::string> wanted;
  for (const auto& m : member_list) {
    META_TRY(blobs, texts(c, sql::kBlobsOfManifest, repo.id, m));
    wanted.insert(blobs.begin(), blobs.end());
  }
  META_TRY(stored, stored_blob_set(c, version_id));
  for (const auto& d : wanted) {
    if (stored.count(d)) continue;
    META_TRY(st, c.prepare(sql::kInsertVersionBlob));
    BERTH_RETURN_IF_ERROR(st.bind(1, version_id).bind(2, d).run());
    if (live) BERTH_RETURN_IF_ERROR(count_blob(c, repo, d, +1));
  }
  for (const auto& d : stored) {
    if (wanted.count(d)) continue;
    {
      META_TRY(st, c.prepare(sql::kDeleteVersionBlob));
      BERTH_RETURN_IF_ERROR(st.bind(1, version_id).bind(2, d).run());
    }
    if (live) BERTH_RETURN_IF_ERROR(count_blob(c, repo, d, -1));
  }
  int64_t bytes = 0;
  {
    META_TRY(st, c.prepare(sql::kVersionBlobBytes));
    st.bind(1, version_id);
    META_TRY(row, st.step());
    if (row) bytes = st.column_int64(0);
  }
  META_TRY(st, c.prepare(sql::kSetVersionSize));
  return st.bind(1, bytes).bind(2, static_cast<int64_t>(member_list.size())).bind(3, version_id).run();
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
  META_TRY(st, c.prepare(sql::kCountVersions));
  return st.bind(1, delta).bind(2, now).bind(3, repo.id).run();
}

// The live version rooted at `digest`, if there is one: its id.
template <class Connection>
Result<std::optional<int64_t>> live_version_of(Connection& c, int64_t repo_id, const std::string& digest) {
  META_TRY(st, c.prepare(sql::kVersionByDigest));
  st.bind(1, repo_id).bind(2, digest);
  META_TRY(row, st.step());
  if (!row || !st.column_is_null(1)) return std::optional<int64_t>();
  return std::optional<int64_t>(st.column_int64(0));
}

// The versions rooted at the children of `root` stop being versions: they are now part of root's
// (version `into`), which takes over their download counts. Their blobs leave the count here and
// come back with the adopting version's refresh.
template <class Connection>
Status adopt_children(Connection& c, const Repo& repo, int64_t into, const std::string& root, int64_t now) {
  META_TRY(children, texts(c, sql::kLiveChildren, repo.id, root));
  for (const auto& child : children) {
    META_TRY(child_version, live_version_of(c, repo.id, child));
    if (!child_version) continue;
    int64_t downloads = 0;
    {
      META_TRY(st, c.prepare(sql::kVersionDownloads));
      st.bind(1, *child_version);
      META_TRY(row, st.step());
      if (row) downloads = st.column_int64(0);
    }
    BERTH_RETURN_IF_ERROR(count_blob_set(c, repo, *child_version, -1));
    for (std::string_view q : {sql::kDeleteVersionBlobs, sql::kDropSavedTags, sql::kDeleteVersionRow}) {
      META_TRY(st, c.prepare(q));
      BERTH_RETURN_IF_ERROR(st.bind(1, *child_version).run());
    }
    {
      META_TRY(st, c.prepare(sql::kAddVersionDownloads));
      BERTH_RETURN_IF_ERROR(st.bind(1, downloads).bind(2, into).run());
    }
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
  int64_t id = 0;
  bool was_live = false, was_deleted = false;
  {
    META_TRY(st, c.prepare(sql::kVersionByDigest));
    st.bind(1, repo.id).bind(2, root);
    META_TRY(row, st.step());
    if (row) {
      id = st.column_int64(0);
      was_live = st.column_is_null(1);
      was_deleted = !was_live;
    }
  }
  if (was_live) return id;
  if (id != 0) {
    // A deleted version pushed again: live with what the push brings; its old tags are forgotten, and
    // manifests still deleted from back then no longer come back with a later restore.
    for (std::string_view q : {sql::kDropSavedTags, sql::kDeleteVersionBlobs}) {
      META_TRY(st, c.prepare(q));
      BERTH_RETURN_IF_ERROR(st.bind(1, id).run());
    }
    {
      META_TRY(st, c.prepare(sql::kForgetDeletedIn));
      BERTH_RETURN_IF_ERROR(st.bind(1, repo.id).bind(2, id).run());
    }
    META_TRY(st, c.prepare(sql::kReviveVersion));
    BERTH_RETURN_IF_ERROR(st.bind(1, now).bind(2, id).run());
  } else {
    META_TRY(st, c.prepare(sql::kInsertVersion));
    st.bind(1, repo.id).bind(2, root).bind(3, facts.media_type).bind(4, facts.created_at).bind(5, now);
    st.bind(6, facts.description).bind(7, facts.source).bind(8, facts.licenses);
    META_TRY(row, st.step());
    if (!row) return Status(Errc::internal, "version insert returned no id: " + root);
    id = st.column_int64(0);
  }
  if (was_deleted && (!facts.description.empty() || !facts.source.empty() || !facts.licenses.empty())) {
    META_TRY(st, c.prepare(sql::kDescribeVersion));
    BERTH_RETURN_IF_ERROR(st.bind(1, facts.description).bind(2, facts.source).bind(3, facts.licenses).bind(4, id).run());
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
    std::string root;
    {
      META_TRY(st, c.prepare(sql::kVersionState));
      st.bind(1, repo.id).bind(2, id);
      META_TRY(row, st.step());
      if (!row) continue;
      root = st.column_text(0);
    }
    BERTH_RETURN_IF_ERROR(refresh_blobs(c, repo, id, root, true));
    META_TRY(st, c.prepare(sql::kTouchVersion));
    BERTH_RETURN_IF_ERROR(st.bind(1, now).bind(2, id).run());
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
// saved under `deleted_in` (a version id; 0: not restorable) and removed. Returns the deleted digests.
template <class Connection>
Result<std::vector<std::string>> delete_members(Connection& c, const Repo& repo,
                                                const std::vector<std::string>& candidates, int64_t deleted_in,
                                                int64_t now) {
  std::set<std::string> in_set(candidates.begin(), candidates.end());
  std::vector<std::string> kept;
  for (size_t i = 1; i < candidates.size(); ++i) {
    const std::string& m = candidates[i];
    META_TRY(parents, texts(c, sql::kLiveParents, repo.id, m));
    bool keep = std::any_of(parents.begin(), parents.end(), [&](const std::string& p) { return !in_set.count(p); });
    if (!keep) {
      META_TRY(state, manifest_state(c, repo.id, m));
      if (state && state->subject && !in_set.count(*state->subject)) {
        META_TRY(subject, manifest_state(c, repo.id, *state->subject));
        keep = subject && !subject->deleted;
      }
    }
    if (keep) kept.push_back(m);
  }
  std::set<std::string> keep_set;
  for (const auto& k : kept) {
    META_TRY(below, members(c, repo.id, k, Walk::live));
    keep_set.insert(below.begin(), below.end());
  }
  std::vector<std::string> deleted;
  bool tags_changed = false;
  for (const auto& m : candidates) {
    if (keep_set.count(m)) continue;
    if (deleted_in != 0) {
      META_TRY(st, c.prepare(sql::kSaveTagsOfManifest));
      BERTH_RETURN_IF_ERROR(st.bind(1, deleted_in).bind(2, repo.id).bind(3, m).run());
    }
    {
      META_TRY(st, c.prepare(sql::kDeleteTagsOfManifest));
      BERTH_RETURN_IF_ERROR(st.bind(1, repo.id).bind(2, m).run());
      tags_changed = tags_changed || c.changes() > 0;
    }
    META_TRY(st, c.prepare(sql::kMarkManifestDeleted));
    BERTH_RETURN_IF_ERROR(st.bind(1, now).bind(2, deleted_in).bind(3, repo.id).bind(4, m).run());
    deleted.push_back(m);
  }
  if (tags_changed) {
    META_TRY(st, c.prepare(sql::kBumpTagVersion));
    BERTH_RETURN_IF_ERROR(st.bind(1, repo.id).run());
  }
  return deleted;
}

// Soft-deletes the live version `id` rooted at `root`.
template <class Connection>
Status delete_version(Connection& c, const Repo& repo, int64_t id, const std::string& root, bool with_package,
                      int64_t now) {
  META_TRY(candidates, members(c, repo.id, root, Walk::live));
  META_TRY(deleted, delete_members(c, repo, candidates, id, now));
  (void)deleted;
  BERTH_RETURN_IF_ERROR(count_blob_set(c, repo, id, -1));
  {
    META_TRY(st, c.prepare(sql::kMarkVersionDeleted));
    BERTH_RETURN_IF_ERROR(st.bind(1, now).bind(2, with_package ? 1 : 0).bind(3, now).bind(4, id).run());
  }
  return count_versions(c, repo, -1, now);
}

// Brings the deleted version `id` back: the manifests deleted with it, the deleted children its indexes
// still list (an index is never live with a child missing), its tags where they are free, and its counts.
template <class Connection>
Status restore_version(Connection& c, const Repo& repo, int64_t id, const std::string& root,
                       std::vector<std::string>& tags_not_restored, int64_t now) {
  tags_not_restored.clear();
  std::vector<std::string> revive;
  {
    META_TRY(st, c.prepare(sql::kManifestsDeletedIn));
    st.bind(1, repo.id).bind(2, id);
    while (true) {
      META_TRY(row, st.step());
      if (!row) break;
      revive.push_back(st.column_text(0));
    }
  }
  revive.push_back(root);
  std::set<std::string> done;
  for (size_t i = 0; i < revive.size(); ++i) {
    const std::string m = revive[i];
    if (!done.insert(m).second) continue;
    {
      META_TRY(st, c.prepare(sql::kReviveManifest));
      BERTH_RETURN_IF_ERROR(st.bind(1, repo.id).bind(2, m).run());
    }
    META_TRY(children, texts(c, sql::kAnyChildren, repo.id, m));
    for (auto& child : children) revive.push_back(std::move(child));
  }
  // Tags: back where they were, unless the name points elsewhere now (or its manifest is gone).
  struct Saved {
    std::string name, digest;
  };
  std::vector<Saved> saved;
  {
    META_TRY(st, c.prepare(sql::kSavedTags));
    st.bind(1, id);
    while (true) {
      META_TRY(row, st.step());
      if (!row) break;
      saved.push_back({st.column_text(0), st.column_text(1)});
    }
  }
  bool tags_changed = false;
  for (const auto& t : saved) {
    META_TRY(state, manifest_state(c, repo.id, t.digest));
    bool restored = false;
    if (state && !state->deleted) {
      META_TRY(st, c.prepare(sql::kRestoreTag));
      BERTH_RETURN_IF_ERROR(st.bind(1, repo.id).bind(2, t.name).bind(3, t.digest).bind(4, now).run());
      restored = c.changes() > 0;
    }
    if (restored) {
      tags_changed = true;
    } else {
      tags_not_restored.push_back(t.name);
    }
  }
  if (tags_changed) {
    META_TRY(st, c.prepare(sql::kBumpTagVersion));
    BERTH_RETURN_IF_ERROR(st.bind(1, repo.id).run());
  }
  for (std::string_view q : {sql::kDropSavedTags, sql::kDeleteVersionBlobs}) {
    META_TRY(st, c.prepare(q));
    BERTH_RETURN_IF_ERROR(st.bind(1, id).run());
  }
  {
    META_TRY(st, c.prepare(sql::kReviveVersion));
    BERTH_RETURN_IF_ERROR(st.bind(1, now).bind(2, id).run());
  }
  BERTH_RETURN_IF_ERROR(count_versions(c, repo, +1, now));
  // Children that were pushed again on their own meanwhile are versions again: this one takes them back.
  BERTH_RETURN_IF_ERROR(adopt_children(c, repo, id, root, now));
  return refresh_blobs(c, repo, id, root, true);
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
  META_TRY(st, c.prepare(sql::kMarkVersionsReady));
  return st.bind(1, repo.id).run();
}

}  // namespace berth::meta::versions
