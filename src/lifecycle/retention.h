// Retention policies (docs/lifecycle.md, "Retention"): which versions of a package to delete, and why.
// A policy belongs to an owner or to one package (which then replaces the owner's); it is applied to
// whole versions (an image with its platforms and referrers), so a platform manifest of a kept multi-arch
// image is never touched. A plan names exactly the versions a run deletes, each with its reason; a run
// applies a plan computed the same way (soft deletes, restorable, each one audited by the caller).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "meta/collector_store.h"
#include "meta/package_store.h"
#include "oci/tag_pattern.h"

namespace berth::lifecycle {

struct RetentionPolicy {
  std::optional<uint64_t> keep_newest;         // the newest N versions stay, whatever else matches
  std::optional<int64_t> untagged_older_than;  // seconds: delete untagged versions pushed longer ago
  std::vector<oci::TagPattern> delete_tags;    // delete versions whose tags all match one of these …
  int64_t tagged_older_than = 0;               // … and that were pushed longer ago than this
  std::vector<oci::TagPattern> keep_tags;      // a version with a tag matching one of these stays

  // {"keep_newest": 10, "untagged_older_than": "7d", "delete_tags": ["pr-*", "sha-*"],
  //  "tagged_older_than": "14d", "keep_tags": ["latest", "v*"]}: durations as "90s", "30m", "12h", "7d" or
  // seconds. Unknown keys, bad patterns and a policy that deletes nothing are invalid_argument.
  static Result<RetentionPolicy> parse(const std::string& json);
  std::string to_json() const;  // the canonical form (durations in seconds)
};

struct RetentionDecision {
  int64_t version_id = 0;
  std::string digest;
  std::vector<std::string> tags;
  int64_t created_at = 0;
  std::string reason;  // which rule selects it
};

struct RetentionPlan {
  std::string package;
  std::vector<RetentionDecision> deletions;
  uint64_t versions = 0;  // live versions looked at
  std::vector<RetentionDecision> skipped;  // apply(): selected, but changed since (deleted, retagged)
};

class Retention {
 public:
  using Clock = std::function<int64_t()>;
  explicit Retention(meta::PackageStore& store, Clock clock = {});

  // What the package's policy (its own, else its owner's) deletes now. An empty plan without a policy.
  Result<RetentionPlan> plan(const std::string& package);
  Result<RetentionPlan> plan(const std::string& package, const RetentionPolicy& policy);
  // Soft-deletes the plan's versions, each only if it is still live; returns what it deleted (and in
  // `skipped` what it left).
  Result<RetentionPlan> apply(const RetentionPlan& plan);

 private:
  int64_t now() const;
  meta::PackageStore& store_;
  Clock clock_;
};

// The scheduled run of every policy (`berth serve`): at most once per interval across a fleet (the
// "retention" lease in the metadata store holds when the last run ended).
class RetentionSchedule {
 public:
  using Listener = std::function<void(const RetentionPlan& done)>;  // after each package (for the audit log)
  RetentionSchedule(meta::PackageStore& packages, meta::CollectorStore& leases, std::string holder,
                    int64_t interval_seconds, Retention::Clock clock = {});
  // Applies every package's policy if the interval has passed since the last run; versions deleted.
  Result<uint64_t> run_if_due(const Listener& on_package);

 private:
  meta::PackageStore& packages_;
  meta::CollectorStore& leases_;
  std::string holder_;
  int64_t interval_;
  Retention::Clock clock_;
};

// "7d", "12h", "30m", "90s" or plain seconds; nullopt when unreadable.
std::optional<int64_t> parse_duration(const std::string& text);
std::string format_duration(int64_t seconds);

}  // namespace berth::lifecycle
