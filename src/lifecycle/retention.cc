#include "lifecycle/retention.h"

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <set>

#include <nlohmann/json.hpp>


namespace berth::lifecycle {

namespace {

using json = nlohmann::json;

constexpr uint64_t kPage = 100;

Result<int64_t> duration_field(const json& doc, const char* key) {
  const json& v = doc.at(key);
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return v.get<int64_t>();
  if (v.is_string()) {
    if (auto d = parse_duration(v.get<std::string>())) return *d;
  }
  return Status(Errc::invalid_argument, std::string(key) + " must be a duration such as \"7d\", \"12h\" or seconds");
}

Result<std::vector<oci::TagPattern>> patterns_field(const json& doc, const char* key) {
  const json& v = doc.at(key);
  std::string list;
  if (v.is_string()) {
    list = v.get<std::string>();
  } else if (v.is_array()) {
    for (const auto& item : v) {
      if (!item.is_string()) return Status(Errc::invalid_argument, std::string(key) + " must list tag patterns");
      list += (list.empty() ? "" : ",") + item.get<std::string>();
    }
  } else {
    return Status(Errc::invalid_argument, std::string(key) + " must list tag patterns");
  }
  auto parsed = oci::parse_tag_patterns(list);
  if (!parsed.ok()) return Status(Errc::invalid_argument, std::string(key) + ": " + parsed.status().message());
  return parsed;
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out;
}

const oci::TagPattern* first_match(const std::vector<oci::TagPattern>& patterns, const std::string& tag) {
  for (const auto& p : patterns) {
    if (p.matches(tag)) return &p;
  }
  return nullptr;
}

}  // namespace

std::optional<int64_t> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int64_t unit = 1;
  std::string number = text;
  switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: unit = 0; break;
  }
  if (unit != 0) {
    number.pop_back();
  } else {
    unit = 1;
  }
  if (number.empty() || number.size() > 12 || !std::all_of(number.begin(), number.end(), ::isdigit)) {
    return std::nullopt;
  }
  return std::stoll(number) * unit;
}

std::string format_duration(int64_t s) {
  if (s > 0 && s % 86400 == 0) return std::to_string(s / 86400) + "d";
  if (s > 0 && s % 3600 == 0) return std::to_string(s / 3600) + "h";
  if (s > 0 && s % 60 == 0) return std::to_string(s / 60) + "m";
  return std::to_string(s) + "s";
}

Result<RetentionPolicy> RetentionPolicy::parse(const std::string& text) {
  json doc = json::parse(text, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return Status(Errc::invalid_argument, "a retention policy is a JSON object");
  static const std::set<std::string> kKeys = {"keep_newest", "untagged_older_than", "delete_tags", "tagged_older_than",
                                              "keep_tags"};
  for (const auto& [key, value] : doc.items()) {
    if (!kKeys.count(key)) {
      return Status(Errc::invalid_argument, "unknown retention rule '" + key +
                                                "' (known: keep_newest, untagged_older_than, delete_tags, "
                                                "tagged_older_than, keep_tags)");
    }
  }
  RetentionPolicy p;
  if (doc.contains("keep_newest")) {
    const json& v = doc["keep_newest"];
    if (!v.is_number_integer() || v.get<int64_t>() < 0) {
      return Status(Errc::invalid_argument, "keep_newest must be a number of versions");
    }
    p.keep_newest = v.get<uint64_t>();
  }
  if (doc.contains("untagged_older_than")) {
    auto d = duration_field(doc, "untagged_older_than");
    if (!d.ok()) return d.status();
    p.untagged_older_than = *d;
  }
  if (doc.contains("delete_tags")) {
    auto list = patterns_field(doc, "delete_tags");
    if (!list.ok()) return list.status();
    p.delete_tags = std::move(*list);
  }
  if (doc.contains("tagged_older_than")) {
    if (p.delete_tags.empty()) return Status(Errc::invalid_argument, "tagged_older_than needs delete_tags");
    auto d = duration_field(doc, "tagged_older_than");
    if (!d.ok()) return d.status();
    p.tagged_older_than = *d;
  }
  if (doc.contains("keep_tags")) {
    auto list = patterns_field(doc, "keep_tags");
    if (!list.ok()) return list.status();
    p.keep_tags = std::move(*list);
  }
  if (!p.untagged_older_than && p.delete_tags.empty()) {
    return Status(Errc::invalid_argument, "the policy deletes nothing: give untagged_older_than or delete_tags");
  }
  return p;
}

std::string RetentionPolicy::to_json() const {
  json doc = json::object();
  if (keep_newest) doc["keep_newest"] = *keep_newest;
  if (untagged_older_than) doc["untagged_older_than"] = *untagged_older_than;
  auto texts = [](const std::vector<oci::TagPattern>& ps) {
    json a = json::array();
    for (const auto& p : ps) a.push_back(p.text());
    return a;
  };
  if (!delete_tags.empty()) {
    doc["delete_tags"] = texts(delete_tags);
    doc["tagged_older_than"] = tagged_older_than;
  }
  if (!keep_tags.empty()) doc["keep_tags"] = texts(keep_tags);
  return doc.dump();
}

Retention::Retention(meta::PackageStore& store, Clock clock) : store_(store), clock_(std::move(clock)) {}

int64_t Retention::now() const { return clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr)); }

Result<RetentionPlan> Retention::plan(const std::string& package) {
  auto record = store_.effective_retention(package);
  if (!record.ok()) return record.status();
  if (!*record) return RetentionPlan{package, {}, 0, {}};
  auto policy = RetentionPolicy::parse((*record)->policy_json);
  if (!policy.ok()) return Status(policy.status().code(), "the stored policy of " + package + ": " + policy.status().message());
  return plan(package, *policy);
}

Result<RetentionPlan> Retention::plan(const std::string& package, const RetentionPolicy& policy) {
  const int64_t t = now();
  // Tags that immutability rules or the semver policy protect are never deleted by retention either: the
  // store would refuse, and a plan must name exactly what a run deletes.
  auto protection = store_.tag_protection(package);
  if (!protection.ok()) return protection.status();

  RetentionPlan out{package, {}, 0, {}};
  for (uint64_t offset = 0;; offset += kPage) {
    auto page = store_.list_versions(package, meta::VersionState::active, offset, kPage);
    if (!page.ok()) return page.status();
    for (const auto& v : page->items) {
      const uint64_t rank = out.versions++;  // newest first
      if (policy.keep_newest && rank < *policy.keep_newest) continue;
      bool kept = false;
      for (const auto& tag : v.tags) {
        kept = kept || first_match(policy.keep_tags, tag) || protection->why(tag);
      }
      if (kept) continue;
      RetentionDecision d{v.id, v.digest.str(), v.tags, v.created_at, {}};
      if (v.tags.empty()) {
        if (policy.untagged_older_than && v.created_at < t - *policy.untagged_older_than) {
          d.reason = "untagged, older than " + format_duration(*policy.untagged_older_than) + " (untagged_older_than)";
        }
      } else if (!policy.delete_tags.empty() && v.created_at < t - policy.tagged_older_than) {
        std::vector<std::string> matched;
        for (const auto& tag : v.tags) {
          const oci::TagPattern* p = first_match(policy.delete_tags, tag);
          if (!p) {
            matched.clear();
            break;
          }
          matched.push_back(tag + " ~ " + p->text());
        }
        if (!matched.empty()) {
          d.reason = "every tag matches delete_tags (" + joined(matched) + "), older than " +
                     format_duration(policy.tagged_older_than);
        }
      }
      if (!d.reason.empty()) out.deletions.push_back(std::move(d));
    }
    if (page->items.size() < kPage) break;
  }
  return out;
}

Result<RetentionPlan> Retention::apply(const RetentionPlan& plan) {
  RetentionPlan done{plan.package, {}, plan.versions, {}};
  const int64_t t = now();
  for (const auto& d : plan.deletions) {
    auto deleted = store_.delete_version(plan.package, d.version_id, t);
    if (!deleted.ok() && deleted.status().code() != Errc::denied) return deleted.status();
    if (deleted.ok() && *deleted) {
      done.deletions.push_back(d);
    } else {
      done.skipped.push_back(d);
    }
  }
  return done;
}

RetentionSchedule::RetentionSchedule(meta::PackageStore& packages, meta::CollectorStore& leases, std::string holder,
                                     int64_t interval_seconds, Retention::Clock clock)
    : packages_(packages), leases_(leases), holder_(std::move(holder)), interval_(interval_seconds),
      clock_(std::move(clock)) {}

Result<uint64_t> RetentionSchedule::run_if_due(const Listener& on_package) {
  constexpr const char* kLease = "retention";
  const int64_t t = clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr));
  auto held = leases_.acquire_lease(kLease, holder_, t, std::max<int64_t>(600, interval_));
  if (!held.ok()) return held.status();
  if (!*held) return uint64_t{0};
  auto last = leases_.lease_progress(kLease);
  int64_t last_end = 0;
  if (last.ok() && last->starts_with("last:")) last_end = std::atoll(last->c_str() + 5);
  if (!last.ok() || t < last_end + interval_) {
    (void)leases_.release_lease(kLease, holder_);
    return last.ok() ? Result<uint64_t>(uint64_t{0}) : Result<uint64_t>(last.status());
  }
  Retention retention(packages_, clock_);
  uint64_t deleted = 0;
  Status failure;
  std::string after;
  for (bool more = true; more && failure.ok();) {
    auto names = packages_.packages_under_retention(after, 100);
    if (!names.ok()) {
      failure = names.status();
      break;
    }
    more = names->size() == 100;
    for (const auto& name : *names) {
      after = name;
      auto plan = retention.plan(name);
      if (!plan.ok()) continue;  // a policy that no longer parses stops only its own packages
      auto done = retention.apply(*plan);
      if (!done.ok()) {
        failure = done.status();
        break;
      }
      deleted += done->deletions.size();
      if (on_package && !done->deletions.empty()) on_package(*done);
    }
  }
  if (failure.ok()) (void)leases_.save_lease_progress(kLease, holder_, "last:" + std::to_string(t));
  (void)leases_.release_lease(kLease, holder_);
  if (!failure.ok()) return failure;
  return deleted;
}

}  // namespace berth::lifecycle
