// Berth's own endpoints, beside GitHub's packages API (docs/lifecycle.md): retention policies, dry runs
// and runs of them, immutable tag rules, the semver policy and storage quotas. A package's under
// OWNER/packages/container/NAME/_berth/, an owner's under /orgs/ORG/_berth/ or /users/USER/_berth/ (and
// /user/_berth/) — `_berth` is a segment no package name can contain. GitHub's conventions apply:
// `{"message": …}` errors, the same scopes (read:packages to read; delete:packages to change what decides
// deletions, as deleting needs), and what the caller may not see answers 404 whatever it is asked.
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
using Package = std::optional<std::string>;  // unset: the owner's level

constexpr std::string_view kReadScopes = "read:packages";
constexpr std::string_view kChangeScopes = "delete:packages, read:packages";

bool reading(const Call& call) { return call.request.method == "GET" || call.request.method == "HEAD"; }

http::Response no_content(const Call& call) {
  http::Response r;
  r.status = 204;
  return call.finish(std::move(r), kChangeScopes);
}

// The endpoint's first segment, and what follows it ("tag-rules/7" → "tag-rules", "7").
std::pair<std::string_view, std::string_view> split_endpoint(std::string_view endpoint) {
  const size_t slash = endpoint.find('/');
  if (slash == std::string_view::npos) return {endpoint, {}};
  return {endpoint.substr(0, slash), endpoint.substr(slash + 1)};
}

// ---- Retention ----

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

// A package's GET answers the policy that applies to it (its own or its owner's); an owner's, its own.
http::Response retention_policy(Call& call, const std::string& owner, const Package& package) {
  auto& store = *call.options.packages;
  const std::string& method = call.request.method;
  const std::string target = package.value_or(owner);
  if (reading(call)) {
    auto record = package ? store.effective_retention(*package) : store.retention_of(owner, std::nullopt);
    if (!record.ok()) return store_failure(record.status());
    if (!*record) {
      return call.finish(github::error(404, package ? "No retention policy applies to this package."
                                                    : "The owner has no retention policy."),
                         kReadScopes);
    }
    return call.finish(github::json(200, policy_body(**record).dump()), kReadScopes);
  }
  if (method == "PUT") {
    auto policy = lifecycle::RetentionPolicy::parse(call.request.body);
    if (!policy.ok()) return call.finish(github::error(422, policy.status().message()), kChangeScopes);
    const std::string canonical = policy->to_json();
    if (Status s = store.set_retention(owner, package, canonical, call.identity.actor(), std::time(nullptr)); !s.ok()) {
      return store_failure(s);
    }
    call.audit("retention.set", target, canonical);
    auto record = store.retention_of(owner, package);
    if (!record.ok() || !*record) return store_failure(record.ok() ? Status(Errc::internal, "policy vanished") : record.status());
    return call.finish(github::json(200, policy_body(**record).dump()), kChangeScopes);
  }
  if (method == "DELETE") {
    auto cleared = store.clear_retention(owner, package);
    if (!cleared.ok()) return store_failure(cleared.status());
    if (!*cleared) {
      return call.finish(github::error(404, package ? "The package has no retention policy of its own."
                                                    : "The owner has no retention policy."),
                         kChangeScopes);
    }
    call.audit("retention.clear", target);
    return no_content(call);
  }
  return github::not_found();
}

http::Response retention_run(Call& call, const std::string& full) {
  if (call.request.method != "POST") return github::not_found();
  auto& store = *call.options.packages;
  const std::string flag = call.request.query_param("dry_run").value_or("false");
  const bool dry_run = flag == "true" || flag == "1";
  lifecycle::Retention engine(store);
  auto plan = engine.plan(full);
  if (!plan.ok()) return store_failure(plan.status());
  if (dry_run) return call.finish(github::json(200, plan_body(*plan, true).dump()), kChangeScopes);
  auto done = engine.apply(*plan);
  if (!done.ok()) return store_failure(done.status());
  for (const auto& d : done->deletions) {
    call.audit("retention.delete", full + "@" + std::to_string(d.version_id), d.reason);
  }
  return call.finish(github::json(200, plan_body(*done, false).dump()), kChangeScopes);
}

// ---- Immutable tag rules ----

// A package lists its own rules and its owner's; an owner lists all of them. A package removes only its
// own; an owner any.
http::Response tag_rules(Call& call, const std::string& owner, const Package& package, std::string_view id_text) {
  auto& store = *call.options.packages;
  const std::string& method = call.request.method;
  const std::string target = package.value_or(owner);
  const auto visible_here = [&](const meta::TagRule& r) { return !package || !r.package || *r.package == *package; };
  if (id_text.empty() && reading(call)) {
    auto rules = store.list_tag_rules(owner);
    if (!rules.ok()) return store_failure(rules.status());
    json items = json::array();
    for (const auto& r : *rules) {
      if (!visible_here(r)) continue;
      json item = {{"id", r.id}, {"pattern", r.pattern}, {"scope", r.package ? "package" : "owner"},
                   {"created_at", utc_timestamp(r.created_at)}, {"created_by", r.created_by}};
      if (r.package) item["package"] = *r.package;
      items.push_back(std::move(item));
    }
    return call.finish(github::json(200, items.dump()), kReadScopes);
  }
  if (id_text.empty() && method == "POST") {
    json body = json::parse(call.request.body, nullptr, false);
    if (body.is_discarded() || !body.is_object() || !body.contains("pattern") || !body["pattern"].is_string()) {
      return call.finish(github::error(422, "Send {\"pattern\": \"v*\"}."), kChangeScopes);
    }
    const std::string pattern = body["pattern"].get<std::string>();
    auto id = store.add_tag_rule(owner, package, pattern, call.identity.actor(), std::time(nullptr));
    if (!id.ok()) return call.finish(store_failure(id.status()), kChangeScopes);
    call.audit("tag-rule.add", target, "id=" + std::to_string(*id) + " pattern=" + pattern);
    json created = {{"id", *id}, {"pattern", pattern}, {"scope", package ? "package" : "owner"}};
    return call.finish(github::json(201, created.dump()), kChangeScopes);
  }
  if (!id_text.empty() && method == "DELETE") {
    int64_t id = 0;
    auto [ptr, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
    if (ec != std::errc() || ptr != id_text.data() + id_text.size()) return github::not_found();
    auto rules = store.list_tag_rules(owner);
    if (!rules.ok()) return store_failure(rules.status());
    bool removable = false;
    for (const auto& r : *rules) removable = removable || (r.id == id && (!package || r.package == package));
    if (!removable) return github::not_found();
    auto removed = store.remove_tag_rule(owner, id);
    if (!removed.ok()) return store_failure(removed.status());
    call.audit("tag-rule.remove", target, "id=" + std::to_string(id));
    return no_content(call);
  }
  return github::not_found();
}

// ---- The semver policy (of a package) ----

http::Response semver(Call& call, const std::string& full) {
  auto& store = *call.options.packages;
  if (reading(call)) {
    auto policy = store.semver_policy(full);
    if (!policy.ok()) return store_failure(policy.status());
    return call.finish(github::json(200, json{{"policy", meta::semver_policy_name(*policy)}}.dump()), kReadScopes);
  }
  if (call.request.method == "PUT") {
    json body = json::parse(call.request.body, nullptr, false);
    std::optional<meta::SemverPolicy> policy;
    if (body.is_object() && body.contains("policy") && body["policy"].is_string()) {
      policy = meta::parse_semver_policy(body["policy"].get<std::string>());
    }
    if (!policy) {
      return call.finish(github::error(422, "Send {\"policy\": \"off\" | \"on\" | \"move-floating\"}."), kChangeScopes);
    }
    if (Status s = store.set_semver_policy(full, *policy); !s.ok()) return store_failure(s);
    const std::string name(meta::semver_policy_name(*policy));
    call.audit("package.semver", full, "policy=" + name);
    return call.finish(github::json(200, json{{"policy", name}}.dump()), kChangeScopes);
  }
  return github::not_found();
}

// ---- Storage quotas (read-only here: operators set them with `berth admin quota set`) ----

json limit_json(const std::optional<uint64_t>& limit) { return limit ? json(*limit) : json(nullptr); }

http::Response quota(Call& call, const std::string& owner, const Package& package) {
  if (call.request.method == "PUT" || call.request.method == "PATCH" || call.request.method == "DELETE") {
    return call.finish(github::error(403, "Storage quotas are set by the registry's operators (berth admin quota set)."),
                       kReadScopes);
  }
  if (!reading(call)) return github::not_found();
  auto& store = *call.options.packages;
  auto records = store.quotas(owner);
  if (!records.ok()) return store_failure(records.status());
  std::optional<uint64_t> owner_limit;
  uint64_t owner_usage = 0;
  json packages = json::array();
  std::optional<uint64_t> package_limit;
  for (const auto& q : *records) {
    if (!q.package) {
      owner_limit = q.limit_bytes;
      owner_usage = q.usage_bytes;
      continue;
    }
    if (package && *q.package == *package) package_limit = q.limit_bytes;
    packages.push_back({{"name", *q.package}, {"limit_bytes", limit_json(q.limit_bytes)}, {"usage_bytes", q.usage_bytes}});
  }
  json owner_body = {{"name", owner}, {"limit_bytes", limit_json(owner_limit)}, {"usage_bytes", owner_usage}};
  if (!package) {
    owner_body["packages"] = std::move(packages);
    return call.finish(github::json(200, owner_body.dump()), kReadScopes);
  }
  auto record = store.get_package(*package);
  if (!record.ok()) return store_failure(record.status());
  if (!*record) return github::package_not_found();
  json body = {{"name", *package}, {"limit_bytes", limit_json(package_limit)}, {"usage_bytes", (*record)->size},
               {"owner", std::move(owner_body)}};
  return call.finish(github::json(200, body.dump()), kReadScopes);
}

// The caller may go on (nullopt), or the refusal: authentication, then scopes.
std::optional<http::Response> refuse_caller(const Call& call) {
  if (call.anonymous()) return github::error(401, "Requires authentication");
  const bool read = reading(call);
  return call.require_scopes(!read, false, read ? kReadScopes : kChangeScopes,
                             read ? "read package policies" : "change package policies");
}

}  // namespace

http::Response package_policy_request(Call& call, const Target& t, const std::string& owner, const std::string& full) {
  if (auto refusal = refuse_caller(call)) return std::move(*refusal);
  auto rights = call.rights(full);
  if (!rights.count(Action::pull)) return github::package_not_found();
  if (!reading(call) && !rights.count(Action::del)) {
    return call.refuse_change("policy." + t.endpoint, full, kChangeScopes);
  }
  const auto [endpoint, rest] = split_endpoint(t.endpoint);
  if (endpoint == "retention" && rest.empty()) return retention_policy(call, owner, full);
  if (endpoint == "retention" && rest == "run") return retention_run(call, full);
  if (endpoint == "tag-rules" && rest.find('/') == std::string_view::npos) return tag_rules(call, owner, full, rest);
  if (endpoint == "semver" && rest.empty()) return semver(call, full);
  if (endpoint == "quota" && rest.empty()) return quota(call, owner, full);
  return github::not_found();
}

http::Response owner_policy_request(Call& call, const Target& t, const std::string& owner, bool owner_is_org) {
  if (auto refusal = refuse_caller(call)) return std::move(*refusal);
  if (!call.auth_off) {
    // Members see their org's policies; no one else learns anything of them.
    if (!call.options.access->reads_every_package_of(call.identity, owner, owner_is_org)) return github::not_found();
    if (!reading(call) && !call.options.access->administers_owner(call.identity, owner, owner_is_org)) {
      return call.finish(github::error(403, owner_is_org ? "Must be an admin of the organization."
                                                         : "Only the user changes their own policies."),
                         kChangeScopes);
    }
  }
  const auto [endpoint, rest] = split_endpoint(t.endpoint);
  if (endpoint == "retention" && rest.empty()) return retention_policy(call, owner, std::nullopt);
  if (endpoint == "tag-rules" && rest.find('/') == std::string_view::npos) {
    return tag_rules(call, owner, std::nullopt, rest);
  }
  if (endpoint == "quota" && rest.empty()) return quota(call, owner, std::nullopt);
  return github::not_found();
}

}  // namespace berth::api::packages_call
