// Berth's own endpoints of a package, beside GitHub's (docs/lifecycle.md): its retention policy, dry runs
// and runs of it, and its immutable tag rules. Under OWNER/packages/container/NAME/_berth/ — a segment
// no package name can contain — with GitHub's conventions: `{"message": …}` errors, the same scopes
// (read:packages to read; delete:packages to change what decides deletions, as deleting needs), and a
// package the caller may not see answers 404 whatever it is asked.
#include <charconv>
#include <ctime>
#include <optional>

#include <nlohmann/json.hpp>

#include "api/packages_call.h"
#include "common/time.h"
#include "lifecycle/retention.h"
#include "oci/tag_pattern.h"

namespace berth::api::packages_call {

namespace {

using json = nlohmann::json;

constexpr std::string_view kReadScopes = "read:packages";
constexpr std::string_view kChangeScopes = "delete:packages, read:packages";

http::Response failed(const Status& s) {
  if (s.code() == Errc::invalid_argument) return github::error(422, s.message());
  if (s.code() == Errc::not_found) return github::package_not_found();
  return github::error(s.code() == Errc::unavailable ? 503 : 500, "Server Error");
}

json policy_body(const meta::RetentionRecord& r) {
  json policy = json::parse(r.policy_json, nullptr, false);
  return {{"scope", r.package ? "package" : "owner"},
          {"owner", r.owner},
          {"policy", policy.is_discarded() ? json(nullptr) : policy},
          {"updated_at", utc_timestamp(r.updated_at)},
          {"updated_by", r.updated_by}};
}

json plan_body(const lifecycle::RetentionPlan& plan, bool dry_run) {
  json deletions = json::array();
  for (const auto& d : plan.deletions) {
    deletions.push_back({{"id", d.version_id},
                         {"name", d.digest},
                         {"tags", d.tags},
                         {"created_at", utc_timestamp(d.created_at)},
                         {"reason", d.reason}});
  }
  json body = {{"dry_run", dry_run}, {"versions", plan.versions}, {"deletions", std::move(deletions)}};
  if (!dry_run) {
    json skipped = json::array();
    for (const auto& d : plan.skipped) skipped.push_back(d.version_id);
    body["skipped"] = std::move(skipped);
  }
  return body;
}

http::Response retention(Call& call, const Target& t, const std::string& owner, const std::string& full) {
  auto& store = *call.options.packages;
  const std::string& method = call.request.method;
  if (t.kind == Target::Kind::retention && (method == "GET" || method == "HEAD")) {
    auto record = store.effective_retention(full);
    if (!record.ok()) return failed(record.status());
    if (!*record) return call.finish(github::error(404, "No retention policy applies to this package."), kReadScopes);
    return call.finish(github::json(200, policy_body(**record).dump()), kReadScopes);
  }
  if (t.kind == Target::Kind::retention && method == "PUT") {
    auto policy = lifecycle::RetentionPolicy::parse(call.request.body);
    if (!policy.ok()) return call.finish(github::error(422, policy.status().message()), kChangeScopes);
    const std::string canonical = policy->to_json();
    const int64_t now = std::time(nullptr);
    if (Status s = store.set_retention(owner, full, canonical, call.identity.actor(), now); !s.ok()) return failed(s);
    call.audit("retention.set", full, canonical);
    auto record = store.retention_of(owner, full);
    if (!record.ok() || !*record) return failed(record.ok() ? Status(Errc::internal, "policy vanished") : record.status());
    return call.finish(github::json(200, policy_body(**record).dump()), kChangeScopes);
  }
  if (t.kind == Target::Kind::retention && method == "DELETE") {
    auto cleared = store.clear_retention(owner, full);
    if (!cleared.ok()) return failed(cleared.status());
    if (!*cleared) return call.finish(github::error(404, "The package has no retention policy of its own."), kChangeScopes);
    call.audit("retention.clear", full);
    http::Response r;
    r.status = 204;
    return call.finish(std::move(r), kChangeScopes);
  }
  if (t.kind == Target::Kind::retention_run && method == "POST") {
    const std::string flag = call.request.query_param("dry_run").value_or("false");
    const bool dry_run = flag == "true" || flag == "1";
    lifecycle::Retention engine(store);
    auto plan = engine.plan(full);
    if (!plan.ok()) return failed(plan.status());
    if (dry_run) return call.finish(github::json(200, plan_body(*plan, true).dump()), kChangeScopes);
    auto done = engine.apply(*plan);
    if (!done.ok()) return failed(done.status());
    for (const auto& d : done->deletions) {
      call.audit("retention.delete", full + "@" + std::to_string(d.version_id), d.reason);
    }
    return call.finish(github::json(200, plan_body(*done, false).dump()), kChangeScopes);
  }
  return github::not_found();
}

http::Response tag_rules(Call& call, const Target& t, const std::string& owner, const std::string& full) {
  auto& store = *call.options.packages;
  const std::string& method = call.request.method;
  if (t.kind == Target::Kind::tag_rules && (method == "GET" || method == "HEAD")) {
    auto rules = store.list_tag_rules(owner);
    if (!rules.ok()) return failed(rules.status());
    json items = json::array();
    for (const auto& r : *rules) {
      if (r.package && *r.package != full) continue;
      items.push_back({{"id", r.id}, {"pattern", r.pattern}, {"scope", r.package ? "package" : "owner"},
                       {"created_at", utc_timestamp(r.created_at)}, {"created_by", r.created_by}});
    }
    return call.finish(github::json(200, items.dump()), kReadScopes);
  }
  if (t.kind == Target::Kind::tag_rules && method == "POST") {
    json body = json::parse(call.request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("pattern") || !body["pattern"].is_string()) {
      return call.finish(github::error(422, "Send {\"pattern\": \"v*\"}."), kChangeScopes);
    }
    const std::string pattern = body["pattern"].get<std::string>();
    auto id = store.add_tag_rule(owner, full, pattern, call.identity.actor(), std::time(nullptr));
    if (!id.ok()) return call.finish(failed(id.status()), kChangeScopes);
    call.audit("tag-rule.add", full, "id=" + std::to_string(*id) + " pattern=" + pattern);
    return call.finish(github::json(201, json{{"id", *id}, {"pattern", pattern}, {"scope", "package"}}.dump()),
                       kChangeScopes);
  }
  if (t.kind == Target::Kind::tag_rule && method == "DELETE") {
    int64_t id = 0;
    auto [ptr, ec] = std::from_chars(t.version.data(), t.version.data() + t.version.size(), id);
    if (ec != std::errc() || ptr != t.version.data() + t.version.size()) return github::not_found();
    // Only this package's rules are removed here; the owner's are the owner's business (berth admin).
    auto rules = store.list_tag_rules(owner);
    if (!rules.ok()) return failed(rules.status());
    bool ours = false;
    for (const auto& r : *rules) ours = ours || (r.id == id && r.package && *r.package == full);
    if (!ours) return github::not_found();
    auto removed = store.remove_tag_rule(owner, id);
    if (!removed.ok()) return failed(removed.status());
    call.audit("tag-rule.remove", full, "id=" + std::to_string(id));
    http::Response r;
    r.status = 204;
    return call.finish(std::move(r), kChangeScopes);
  }
  return github::not_found();
}

}  // namespace

http::Response policy_request(Call& call, const Target& t, const std::string& owner, const std::string& full) {
  const bool read = call.request.method == "GET" || call.request.method == "HEAD";
  if (call.anonymous()) return github::error(401, "Requires authentication");
  const std::string_view accepted = read ? kReadScopes : kChangeScopes;
  if (auto refusal = call.require_scopes(!read, false, accepted, read ? "read packages" : "change package policies")) {
    return std::move(*refusal);
  }
  auto rights = call.rights(full);
  if (!rights.count(Action::pull)) return github::package_not_found();
  if (!read && !rights.count(Action::del)) {
    return call.finish(github::error(403, "Must have admin rights to the package."), accepted);
  }
  if (t.kind == Target::Kind::retention || t.kind == Target::Kind::retention_run) {
    return retention(call, t, owner, full);
  }
  return tag_rules(call, t, owner, full);
}

}  // namespace berth::api::packages_call
