// Package and version requests of the packages API: listings, reads, deletes and restores, each checked
// as GitHub checks it (docs/packages.md: scopes first, then whether the caller may see the package at
// all, then the right to change it).
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>

#include "api/packages_call.h"
#include "oci/name.h"

namespace berth::api::packages_call {

namespace {

constexpr std::string_view kReadScopes = "read:packages";
constexpr std::string_view kDeleteScopes = "delete:packages, read:packages";
constexpr std::string_view kRestoreScopes = "read:packages, write:packages";

constexpr std::string_view kOtherPackageTypes[] = {"npm", "maven", "rubygems", "docker", "nuget"};

bool is_known_package_type(const std::string& type) {
  return type == "container" ||
         std::find(std::begin(kOtherPackageTypes), std::end(kOtherPackageTypes), type) != std::end(kOtherPackageTypes);
}

std::optional<int64_t> version_id_of(std::string_view text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size() || v <= 0) return std::nullopt;
  return v;
}

using github::not_found;
http::Response requires_authentication() { return github::error(401, "Requires authentication"); }
http::Response invalid(std::string message) { return github::error(422, std::move(message)); }
http::Response server_error(const Status& s) {
  spdlog::error("packages API: {}", s.message());
  return github::error(s.code() == Errc::unavailable ? 503 : 500, "Server Error");
}
http::Response no_content() {
  http::Response r;
  r.status = 204;
  return r;
}

// The owner a request names, resolved: who it is and how to show it.
struct OwnerOf {
  packages_json::Owner json;
  bool exists = false;
};

std::optional<OwnerOf> resolve_owner(Call& call, const Target& t, http::Response& refusal) {
  std::string name = t.owner;
  if (t.owner_kind == Target::OwnerKind::self) {
    if (call.auth_off || call.identity.anonymous()) {
      refusal = requires_authentication();
      return std::nullopt;
    }
    name = call.identity.user;
  }
  if (!oci::is_valid_repository_name(name) || name.find('/') != std::string::npos) {
    refusal = not_found();
    return std::nullopt;
  }
  auto account = call.options.identity->get_account(name);
  if (!account.ok()) {
    refusal = server_error(account.status());
    return std::nullopt;
  }
  OwnerOf owner;
  owner.json.login = name;
  if (*account) {
    owner.exists = true;
    owner.json.id = (*account)->id;
    owner.json.is_org = (*account)->kind == meta::AccountKind::org;
  }
  // Without authentication, owners need no account; with it, an unknown one does not exist.
  if ((!owner.exists && !call.auth_off) || (t.owner_kind == Target::OwnerKind::org && owner.exists && !owner.json.is_org)) {
    refusal = not_found();
    return std::nullopt;
  }
  return owner;
}

std::string listing_url(const Call& call) {
  return call.links.api_base + call.request.path.substr(call.prefix.size());
}

std::vector<std::pair<std::string, std::string>> kept_params(const Call& call, std::initializer_list<const char*> names) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const char* n : names) {
    if (auto v = call.request.query_param(n)) out.emplace_back(n, *v);
  }
  return out;
}

http::Response list_response(const Call& call, nlohmann::json items, const github::Page& page, uint64_t total,
                             std::initializer_list<const char*> params) {
  http::Response r = github::json(200, items.dump());
  std::string link = github::link_header(listing_url(call), kept_params(call, params), page, total);
  if (!link.empty()) r.headers.set("Link", link);
  return call.finish(std::move(r), kReadScopes);
}

// GET OWNER/packages
http::Response list_packages(Call& call, const Target& t, const OwnerOf& owner) {
  auto type = call.request.query_param("package_type");
  if (!type) return invalid("Invalid request.\n\n\"package_type\" wasn't supplied.");
  if (!is_known_package_type(*type)) return invalid("Invalid request.\n\n\"" + *type + "\" is not a package_type.");
  meta::PackageFilter filter;
  auto visibility = call.request.query_param("visibility");
  if (visibility && *visibility != "public" && *visibility != "private" && *visibility != "internal") {
    return invalid("Invalid request.\n\n\"" + *visibility + "\" is not a visibility.");
  }
  auto page = github::parse_page(call.request);
  if (!page.ok()) return invalid(page.status().message());
  if (auto refusal = call.require_scopes(false, false, kReadScopes, "list packages")) return std::move(*refusal);
  const auto params = {"package_type", "visibility"};
  // Other package types and Berth's absent "internal" visibility: valid questions, empty answers.
  if (*type != "container" || (visibility && *visibility == "internal")) {
    return list_response(call, nlohmann::json::array(), *page, 0, params);
  }
  if (visibility) filter.visibility = *visibility;

  meta::Listing<meta::PackageRecord> listing;
  if (!call.auth_off && call.identity.kind == Identity::Kind::ci) {
    // A CI token sees its own packages only: few, read one by one.
    std::vector<meta::PackageRecord> mine;
    for (const auto& name : call.identity.packages) {
      if (name.rfind(owner.json.login + "/", 0) != 0 || !call.rights(name).count(Action::pull)) continue;
      auto p = call.options.packages->get_package(name);
      if (!p.ok()) return server_error(p.status());
      if (*p && (!filter.visibility || (*p)->visibility == *filter.visibility)) mine.push_back(std::move(**p));
    }
    std::sort(mine.begin(), mine.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    listing.total = mine.size();
    for (uint64_t i = page->offset(); i < mine.size() && listing.items.size() < page->per_page; ++i) {
      listing.items.push_back(std::move(mine[i]));
    }
  } else {
    if (!call.auth_off) {
      if (call.identity.anonymous()) {
        filter.public_only = true;
      } else if (!call.options.access->reads_every_package_of(call.identity, owner.json.login, owner.json.is_org)) {
        filter.readable_by = call.identity.user;
      }
    }
    auto listed = call.options.packages->list_packages(owner.json.login, filter, page->offset(), page->per_page);
    if (!listed.ok()) return server_error(listed.status());
    listing = std::move(*listed);
  }
  nlohmann::json items = nlohmann::json::array();
  for (const auto& p : listing.items) items.push_back(packages_json::package(p, owner.json, call.links));
  return list_response(call, std::move(items), *page, listing.total, params);
}

// Everything under OWNER/packages/container/NAME.
http::Response package_request(Call& call, const Target& t, const OwnerOf& owner) {
  const std::string& method = call.request.method;
  const bool get = method == "GET" || method == "HEAD";
  const std::string full = owner.json.login + "/" + t.package;
  if (t.package_type != "container" || !oci::is_valid_repository_name(full)) return github::package_not_found();
  std::optional<int64_t> version_id;
  if (t.kind == Target::Kind::version || t.kind == Target::Kind::version_restore) {
    version_id = version_id_of(t.version);
    if (!version_id) return not_found();
  }
  auto& store = *call.options.packages;

  if (get && (t.kind == Target::Kind::package || t.kind == Target::Kind::versions || t.kind == Target::Kind::version)) {
    if (auto refusal = call.require_scopes(false, false, kReadScopes, "read packages")) return std::move(*refusal);
    if (!call.rights(full).count(Action::pull)) return github::package_not_found();
    if (t.kind == Target::Kind::package) {
      auto p = store.get_package(full);
      if (!p.ok()) return server_error(p.status());
      if (!*p) return github::package_not_found();
      return call.finish(github::json(200, packages_json::package(**p, owner.json, call.links).dump()), kReadScopes);
    }
    if (t.kind == Target::Kind::version) {
      auto v = store.get_version(full, *version_id);
      if (!v.ok()) return server_error(v.status());
      if (!*v) return not_found();
      return call.finish(github::json(200, packages_json::version(**v, full, owner.json, call.links).dump()),
                         kReadScopes);
    }
    std::string state = call.request.query_param("state").value_or("active");
    if (state != "active" && state != "deleted") return invalid("Invalid request.\n\n\"" + state + "\" is not a state.");
    auto page = github::parse_page(call.request);
    if (!page.ok()) return invalid(page.status().message());
    auto listed = store.list_versions(full, state == "active" ? meta::VersionState::active : meta::VersionState::deleted,
                                      page->offset(), page->per_page);
    if (!listed.ok()) {
      return listed.status().code() == Errc::not_found ? github::package_not_found() : server_error(listed.status());
    }
    nlohmann::json items = nlohmann::json::array();
    for (const auto& v : listed->items) items.push_back(packages_json::version(v, full, owner.json, call.links));
    return list_response(call, std::move(items), *page, listed->total, {"state"});
  }

  const bool deletion = method == "DELETE" && (t.kind == Target::Kind::package || t.kind == Target::Kind::version);
  const bool restore = method == "POST" && (t.kind == Target::Kind::package_restore ||
                                            t.kind == Target::Kind::version_restore);
  if (!deletion && !restore) return not_found();
  if (call.anonymous()) return requires_authentication();
  const std::string_view accepted = deletion ? kDeleteScopes : kRestoreScopes;
  if (auto refusal = call.require_scopes(deletion, restore, accepted, deletion ? "delete packages" : "restore packages")) {
    return std::move(*refusal);
  }
  auto rights = call.rights(full);

  if (t.kind == Target::Kind::package_restore) {
    // The package is gone from its name: only those who could restore it learn whether it was there.
    if (!rights.count(Action::restore)) return github::package_not_found();
    Status s = store.restore_package(full, std::time(nullptr));
    if (s.code() == Errc::not_found) return github::package_not_found();
    if (s.code() == Errc::conflict) {
      return call.finish(invalid("A package named " + t.package + " exists again: the deleted one cannot be restored."),
                         accepted);
    }
    if (!s.ok()) return call.finish(store_failure(s), accepted);
    call.audit("package.restore", full);
    return call.finish(no_content(), accepted);
  }
  if (!rights.count(Action::pull)) return github::package_not_found();
  const Action needed = deletion ? Action::del : Action::restore;
  if (!rights.count(needed)) {
    std::string target = full + (version_id ? "@" + std::to_string(*version_id) : "");
    return call.refuse_change(t.kind == Target::Kind::package ? (deletion ? "package.delete" : "package.restore")
                                                              : (deletion ? "package.version.delete" : "package.version.restore"),
                              std::move(target), accepted);
  }

  if (t.kind == Target::Kind::package) {
    auto deleted = store.delete_package(full, std::time(nullptr));
    if (!deleted.ok()) return store_failure(deleted.status());
    if (!*deleted) return github::package_not_found();
    call.audit("package.delete", full);
    return call.finish(no_content(), accepted);
  }
  const std::string target = full + "@" + std::to_string(*version_id);
  if (deletion) {
    auto deleted = store.delete_version(full, *version_id, std::time(nullptr));
    if (!deleted.ok()) return store_failure(deleted.status());
    if (!*deleted) return not_found();
    call.audit("package.version.delete", target);
    return call.finish(no_content(), accepted);
  }
  auto restored = store.restore_version(full, *version_id, std::time(nullptr));
  if (!restored.ok()) {
    return restored.status().code() == Errc::not_found ? not_found() : call.finish(store_failure(restored.status()), accepted);
  }
  http::Response r = no_content();
  std::string lost;
  for (const auto& tag : restored->tags_not_restored) lost += (lost.empty() ? "" : ",") + tag;
  if (!lost.empty()) r.headers.set("Berth-Tags-Not-Restored", lost);
  call.audit("package.version.restore", target, lost.empty() ? "" : "tags not restored: " + lost);
  return call.finish(std::move(r), accepted);
}

}  // namespace

http::Response store_failure(const Status& s) {
  switch (s.code()) {
    case Errc::invalid_argument: return github::error(422, s.message());
    case Errc::not_found: return github::package_not_found();
    case Errc::denied: return github::error(403, s.message());
    default: return server_error(s);
  }
}

http::Response handle_packages(Call& call, const Target& t) {
  http::Response refusal;
  auto owner = resolve_owner(call, t, refusal);
  if (!owner) return refusal;
  if (t.kind == Target::Kind::packages) {
    if (call.request.method != "GET" && call.request.method != "HEAD") return not_found();
    return list_packages(call, t, *owner);
  }
  switch (t.kind) {
    case Target::Kind::package_policy: {
      const std::string full = owner->json.login + "/" + t.package;
      if (t.package_type != "container" || !oci::is_valid_repository_name(full)) return github::package_not_found();
      return package_policy_request(call, t, owner->json.login, full);
    }
    case Target::Kind::owner_policy: return owner_policy_request(call, t, owner->json.login, owner->json.is_org);
    default: return package_request(call, t, *owner);
  }
}

}  // namespace berth::api::packages_call
