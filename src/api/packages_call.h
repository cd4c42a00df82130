// What the packages API's handlers share: the path a request names and the call being answered (who,
// with which scopes, at which URLs). packages_api.cc authenticates and routes; packages_handlers.cc
// answers package and version requests.
//
// Internal to api/.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "api/github.h"
#include "api/packages_api.h"
#include "api/packages_json.h"

namespace berth::api::packages_call {

using auth::Action;
using auth::Identity;

// What a path under the prefix names.
struct Target {
  enum class Kind { none, root, user, account, org, packages, package, package_restore, versions, version,
                    version_restore,
                    // Berth's own, OWNER/packages/TYPE/NAME/_berth/… and OWNER/_berth/… (`endpoint`):
                    package_policy, owner_policy };
  Kind kind = Kind::none;
  enum class OwnerKind { self, user, org };  // /user, /users/{name}, /orgs/{name}
  OwnerKind owner_kind = OwnerKind::self;
  std::string owner;           // decoded; empty for /user
  std::string package_type;    // decoded
  std::string package;         // decoded short name
  bool bad_encoding = false;
  std::string version;         // as sent
  std::string endpoint;        // after _berth/, as sent ("retention", "tag-rules/7", …)
};

// One request: who calls, with which scopes, and the URLs to answer with.
struct Call {
  const PackagesApiOptions& options;
  http::Request& request;
  Identity identity;
  bool auth_off = false;
  packages_json::Links links;
  std::string prefix;

  bool anonymous() const { return !auth_off && identity.anonymous(); }
  bool has_scope(std::string_view scope) const { return auth_off || identity.scopes.count(std::string(scope)) > 0; }
  bool may_read_scope() const { return has_scope("read:packages") || has_scope("write:packages"); }

  // The answer with GitHub's X-Accepted-OAuth-Scopes: what the endpoint takes (PackagesApi::answer adds
  // X-OAuth-Scopes, what the token has, to every answer).
  http::Response finish(http::Response r, std::string_view accepted) const {
    r.headers.set("X-Accepted-OAuth-Scopes", std::string(accepted));
    return r;
  }

  // 403 when the token lacks a scope the endpoint needs (GitHub names the scope).
  std::optional<http::Response> require_scopes(bool need_delete, bool need_write, std::string_view accepted,
                                               std::string_view what) const {
    if (auth_off || identity.anonymous()) return std::nullopt;
    std::vector<std::string> missing;
    if (!may_read_scope()) missing.push_back("read:packages");
    if (need_delete && !has_scope("delete:packages")) missing.push_back("delete:packages");
    if (need_write && !has_scope("write:packages")) missing.push_back("write:packages");
    if (missing.empty()) return std::nullopt;
    std::string names;
    for (const auto& m : missing) names += (names.empty() ? "" : ", ") + m;
    return finish(github::error(403, "You need at least " + names + " scope" + (missing.size() > 1 ? "s" : "") +
                                         " to " + std::string(what) + "."),
                  accepted);
  }

  // An audit entry for a change the caller made (none when authentication is off: there is no one).
  void audit(std::string action, std::string target, std::string detail = {}) const {
    if (options.access) {
      options.access->audit(identity.actor(), std::move(action), std::move(target), "allowed", request.remote_address,
                            std::move(detail));
    }
  }
  // The 403 for a change the caller may see but not make, recorded as denied (as /v2 refusals are).
  http::Response refuse_change(std::string action, std::string target, std::string_view accepted) const {
    if (options.access) {
      options.access->audit(identity.actor(), std::move(action), std::move(target), "denied", request.remote_address);
    }
    return finish(github::error(403, "Must have admin rights to the package."), accepted);
  }

  std::set<Action> rights(const std::string& repository) const {
    if (auth_off) return {Action::pull, Action::push, Action::del, Action::restore};
    return options.access->permitted(identity, repository);
  }
};

// A store's failure as GitHub answers it: 422 for what the caller sent wrong, 404 for a package that is
// not there, 403 with the reason for a change a rule refused (an immutable tag, a quota), else 503/500
// with the cause in the server log only.
http::Response store_failure(const Status& s);

// Package and version requests (everything under OWNER/packages).
http::Response handle_packages(Call& call, const Target& target);
// Berth's own endpoints (retention policies and runs, tag rules, the semver policy, quotas):
// packages_policies.cc. `owner` exists (or authentication is off); `owner_is_org` says what it is.
// A package's: `full` is a valid repository name.
http::Response package_policy_request(Call& call, const Target& target, const std::string& owner,
                                      const std::string& full);
// An owner's.
http::Response owner_policy_request(Call& call, const Target& target, const std::string& owner, bool owner_is_org);

}  // namespace berth::api::packages_call
