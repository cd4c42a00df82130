// PackageStore: packages and their versions as the packages API and the UI see them (docs/packages.md).
//
// A version is a top-level manifest (no subject, listed by no live index of its package) together with
// what belongs to it: the manifests it lists, the manifests whose subject is one of those, recursively.
// The versions themselves are maintained by MetadataStore::put_manifest / delete_manifest in the same
// transactions as the manifests; this interface reads them and deletes, restores and purges whole
// versions and packages. Implemented once for both drivers (sql_package_store_impl.h); suite in
// tests/unit/meta_package_suite.h.
//
// Contract as MetadataStore's: thread safe, names validated by the caller, nullopt/false for absent,
// times in Unix seconds given by the caller.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "meta/tag_protection.h"
#include "oci/digest.h"

namespace berth::meta {

struct PackageRecord {
  int64_t id = 0;
  std::string name;  // the whole repository name, owner included ("acme/platform/app")
  std::string visibility;
  int64_t created_at = 0;
  int64_t updated_at = 0;  // the last push, tag change, delete or restore
  uint64_t version_count = 0;  // live versions
  uint64_t size = 0;       // bytes of the blobs its live versions reference, each blob once
  uint64_t downloads = 0;
  // Of the newest live version (empty when unknown).
  std::string description;
  std::string source;
  std::string licenses;
  std::optional<int64_t> deleted_at;
};

// One manifest of a version other than its top-level one: a platform manifest (listed by an index of the
// version) or a referrer (has a subject).
struct VersionPart {
  oci::Digest digest;
  std::string media_type;
  std::optional<std::string> artifact_type;
  std::optional<oci::Digest> subject;
  uint64_t manifest_size = 0;
};

struct VersionRecord {
  int64_t id = 0;
  int64_t package_id = 0;
  oci::Digest digest;  // of the top-level manifest
  std::string media_type;
  std::string content;  // an index's bytes (it names its platforms); empty for an image manifest
  uint64_t members = 1;  // manifests in the version, its top-level one included
  int64_t created_at = 0;
  int64_t updated_at = 0;
  std::optional<int64_t> deleted_at;
  // Live: the tags pointing at the top-level manifest, sorted. Deleted: the tags it had (any of its
  // manifests), which a restore tries to put back.
  std::vector<std::string> tags;
  std::vector<VersionPart> parts;
  uint64_t size = 0;         // bytes of every blob its manifests reference, each once
  uint64_t unique_size = 0;  // of those, the bytes no other live version (any package) references
  uint64_t downloads = 0;
  std::string description;
  std::string source;
  std::string licenses;
};

enum class VersionState { active, deleted };

struct PackageFilter {
  std::optional<std::string> visibility;  // only this visibility
  // Set: only packages this user may see without owning them (public ones, and those the user holds a
  // role on). Unset: every package of the owner.
  std::optional<std::string> readable_by;
  bool public_only = false;  // only public packages (anonymous callers)
};

template <class T>
struct Listing {
  std::vector<T> items;
  uint64_t total = 0;  // across all pages
};

struct RestoreResult {
  std::vector<std::string> tags_not_restored;  // taken by another manifest since the delete
};

// What the purge of soft-deleted content removed.
struct PurgeStats {
  uint64_t versions = 0;
  uint64_t manifests = 0;
  uint64_t packages = 0;
};

// Name in the version's bookkeeping of a manifest pushed or pulled: for download counting.
struct DownloadCount {
  std::string repository;
  oci::Digest digest;
  uint64_t count = 0;
};

// A tag pattern immutable once pushed (docs/lifecycle.md), for every package of an owner or for one.
struct TagRule {
  int64_t id = 0;
  std::string owner;
  std::optional<std::string> package;  // the whole name; unset: every package of the owner
  std::string pattern;
  int64_t created_at = 0;
  std::string created_by;
};

// A package's semver policy: off; semantic-version tags immutable and each new release newer than the
// package's highest; and, in addition, a release that is the newest of its line moves "1.2" and "1".
enum class SemverPolicy : int64_t { off = 0, on = 1, move_floating = 2 };
// Its names in the CLI and the API: "off", "on", "move-floating".
inline std::string_view semver_policy_name(SemverPolicy p) {
  return p == SemverPolicy::off ? "off" : p == SemverPolicy::on ? "on" : "move-floating";
}
inline std::optional<SemverPolicy> parse_semver_policy(std::string_view name) {
  for (auto p : {SemverPolicy::off, SemverPolicy::on, SemverPolicy::move_floating}) {
    if (semver_policy_name(p) == name) return p;
  }
  return std::nullopt;
}

// A retention policy as stored (its JSON is read by lifecycle/retention), of an owner or of one package.
struct RetentionRecord {
  std::string owner;
  std::optional<std::string> package;  // unset: the owner's policy
  std::string policy_json;
  int64_t updated_at = 0;
  std::string updated_by;
};

// An owner's or a package's storage limit and what it uses now (each blob counted once).
struct QuotaRecord {
  std::string owner;
  std::optional<std::string> package;  // unset: the owner's limit
  std::optional<uint64_t> limit_bytes;  // unset: no limit
  uint64_t usage_bytes = 0;
};

class PackageStore {
 public:
  virtual ~PackageStore() = default;

  // ---- Packages ----
  // Live packages of `owner` (names "owner/…"), sorted by name, `offset` rows skipped, at most `limit`.
  virtual Result<Listing<PackageRecord>> list_packages(const std::string& owner, const PackageFilter& filter,
                                                       uint64_t offset, uint64_t limit) = 0;
  // The live package with this (whole) name.
  virtual Result<std::optional<PackageRecord>> get_package(const std::string& name) = 0;
  // Soft-deletes every live version and gives the name up. false when there is no live package.
  virtual Result<bool> delete_package(const std::string& name, int64_t now) = 0;
  // Restores the most recently deleted package of this name with the versions deleted with it.
  // not_found when none is deleted; conflict when a live package has the name now.
  virtual Status restore_package(const std::string& name, int64_t now) = 0;

  // ---- Versions (of a live package) ----
  virtual Result<Listing<VersionRecord>> list_versions(const std::string& package, VersionState state,
                                                       uint64_t offset, uint64_t limit) = 0;
  // By id, live or deleted; nullopt when the id is not a version of this package.
  virtual Result<std::optional<VersionRecord>> get_version(const std::string& package, int64_t id) = 0;
  // Soft delete. false when the id is not a live version of this package.
  virtual Result<bool> delete_version(const std::string& package, int64_t id, int64_t now) = 0;
  // not_found when the id is not a deleted version of this package.
  virtual Result<RestoreResult> restore_version(const std::string& package, int64_t id, int64_t now) = 0;

  // ---- Accounting ----
  // Bytes of the blobs live versions of the owner's packages reference, each blob once.
  virtual Result<uint64_t> owner_size(const std::string& owner) = 0;
  // Adds pulls to the versions whose top-level manifest these are (others are ignored) and their packages.
  virtual Status add_downloads(const std::vector<DownloadCount>& counts) = 0;

  // ---- Tag rules (enforced by MetadataStore's pushes and deletes, and by the deletes here) ----
  // The pattern must be valid (oci::TagPattern). A package rule creates the package if needed.
  virtual Result<int64_t> add_tag_rule(const std::string& owner, const std::optional<std::string>& package,
                                       const std::string& pattern, const std::string& created_by, int64_t now) = 0;
  // false when the owner has no rule with this id.
  virtual Result<bool> remove_tag_rule(const std::string& owner, int64_t id) = 0;
  // The owner's rules and those of its packages, oldest first.
  virtual Result<std::vector<TagRule>> list_tag_rules(const std::string& owner) = 0;
  // not_found when there is no live package of this name.
  virtual Status set_semver_policy(const std::string& package, SemverPolicy policy) = 0;
  virtual Result<SemverPolicy> semver_policy(const std::string& package) = 0;
  // What protects the tags of a live package (its rules, its owner's, its semver policy); not_found when
  // there is no such package.
  virtual Result<TagProtection> tag_protection(const std::string& package) = 0;

  // ---- Retention policies (applied by lifecycle/retention) ----
  // A package's policy replaces its owner's. Setting a package's creates the package if needed;
  // otherwise a named package must be live (not_found).
  virtual Status set_retention(const std::string& owner, const std::optional<std::string>& package,
                               const std::string& policy_json, const std::string& updated_by, int64_t now) = 0;
  virtual Result<bool> clear_retention(const std::string& owner, const std::optional<std::string>& package) = 0;
  // Exactly the policy of that level (the owner's, or the package's own).
  virtual Result<std::optional<RetentionRecord>> retention_of(const std::string& owner,
                                                              const std::optional<std::string>& package) = 0;
  // The policy that applies to a live package: its own, else its owner's.
  virtual Result<std::optional<RetentionRecord>> effective_retention(const std::string& package) = 0;
  // Live packages some policy applies to, by name after `after`, at most `limit`.
  virtual Result<std::vector<std::string>> packages_under_retention(const std::string& after, size_t limit) = 0;

  // ---- Storage quotas (enforced by MetadataStore::put_manifest) ----
  // `limit` unset removes the limit. A named package must be live (not_found).
  virtual Status set_quota(const std::string& owner, const std::optional<std::string>& package,
                           std::optional<uint64_t> limit_bytes) = 0;
  // The owner's usage and limit, then each package of the owner that has a limit.
  virtual Result<std::vector<QuotaRecord>> quotas(const std::string& owner) = 0;

  // ---- Purge ----
  // Removes what was soft-deleted before `cutoff`: versions, their manifests (once no remaining manifest
  // lists them), and packages left without manifests. At most about `limit` objects per call.
  virtual Result<PurgeStats> purge(int64_t cutoff, uint64_t limit) = 0;
};

}  // namespace berth::meta
