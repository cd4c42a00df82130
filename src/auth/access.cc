#include "auth/access.h"

#include <openssl/evp.h>

#include <algorithm>
#include <ctime>

#include "auth/secrets.h"
#include "common/base64.h"
#include "common/printable.h"

namespace berth::auth {

namespace {

constexpr int64_t kTouchEverySeconds = 60;  // last_used_at granularity: avoids a write per request

enum class Role { none = 0, read = 1, write = 2, admin = 3 };

Role role_of(const std::optional<std::string>& name) {
  if (!name) return Role::none;
  if (*name == "admin") return Role::admin;
  if (*name == "write") return Role::write;
  if (*name == "read") return Role::read;
  return Role::none;
}

std::string owner_of(const std::string& repository) { return repository.substr(0, repository.find('/')); }

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != std::tolower(static_cast<unsigned char>(prefix[i]))) return false;
  }
  return true;
}

}  // namespace

bool is_bearer(std::string_view authorization) { return starts_with_ci(authorization, "Bearer "); }

std::string Identity::actor() const {
  switch (kind) {
    case Kind::anonymous: return "anonymous";
    case Kind::user: return user;
    case Kind::ci: return "ci:" + user;
  }
  return "anonymous";
}

AccessControl::AccessControl(meta::IdentityStore& store, const TokenSigner& signer, AuthOptions options, Clock clock)
    : store_(store),
      signer_(signer),
      options_(std::move(options)),
      clock_(std::move(clock)),
      throttle_(ThrottleOptions{options_.max_failed_logins, options_.failure_window_seconds,
                                options_.first_backoff_seconds, options_.max_backoff_seconds}) {}

int64_t AccessControl::now() const { return clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr)); }

// ---- Authentication ----

Result<Identity> AccessControl::login(const std::string& user, const std::string& secret, const std::string& remote,
                                      int64_t* retry_after) {
  return login_checked(&user, secret, remote, retry_after);
}

Result<Identity> AccessControl::login_with_token(const std::string& secret, const std::string& remote,
                                                 int64_t* retry_after) {
  return login_checked(nullptr, secret, remote, retry_after);
}

Result<Identity> AccessControl::login_checked(const std::string* expected_user, const std::string& secret,
                                              const std::string& remote, int64_t* retry_after) {
  const std::string throttle_key = LoginThrottle::key(remote, expected_user ? *expected_user : std::string());
  if (throttle_.blocked(throttle_key, now(), retry_after)) {
    return Status(Errc::too_many_requests, "too many failed logins, retry later");
  }
  auto fail = [&](const std::string& why) -> Result<Identity> {
    throttle_.record_failure(throttle_key, now());
    // The name is recorded only when it is an account's: a client that swapped user and password sends
    // its token as the name, and anything else unknown is whatever an attacker typed.
    std::string user = "(token only)";
    if (expected_user) {
      if (looks_like_token(*expected_user)) {
        user = "(a token given as the username)";
      } else {
        auto account = store_.get_account(*expected_user);
        user = account.ok() && *account ? *expected_user : "(unknown user)";
      }
    }
    audit(user + " (unauthenticated)", "login", user, "denied", remote, why);
    return Status(Errc::unauthorized, "invalid username or token");
  };
  if (!looks_like_token(secret)) return fail("not an access token");
  auto record = store_.find_token_by_hash(token_hash(secret));
  if (!record.ok()) return record.status();
  if (!*record) return fail("unknown token");
  const meta::TokenRecord& token = **record;
  // The lookup was by hash; comparing the owner in constant time keeps the check uniform.
  if (expected_user && !constant_time_equals(token.user, *expected_user)) return fail("token belongs to another user");
  int64_t t = now();
  if (token.revoked_at) return fail("token revoked");
  if (token.expires_at && *token.expires_at <= t) return fail("token expired");
  if (!token.last_used_at || *token.last_used_at + kTouchEverySeconds <= t) (void)store_.touch_token(token.id, t);
  throttle_.record_success(throttle_key);

  Identity id;
  id.kind = token.kind == "ci" ? Identity::Kind::ci : Identity::Kind::user;
  id.user = token.user;
  id.scopes.insert(token.scopes.begin(), token.scopes.end());
  id.packages = token.packages;
  id.token_id = token.id;
  return id;
}

Identity AccessControl::from_claims(const TokenClaims& claims) const {
  Identity id;
  id.kind = claims.kind == "ci" ? Identity::Kind::ci : claims.kind == "user" ? Identity::Kind::user
                                                                            : Identity::Kind::anonymous;
  id.user = claims.subject;
  id.via_bearer = true;
  id.granted = claims.access;
  id.scopes.insert(claims.scopes.begin(), claims.scopes.end());
  id.packages = claims.packages;
  return id;
}

Result<Identity> AccessControl::authenticate(std::optional<std::string_view> authorization, const std::string& remote,
                                             int64_t* retry_after) {
  if (!authorization || authorization->empty()) return Identity{};
  std::string_view value = *authorization;
  if (starts_with_ci(value, "Basic ")) {
    if (value.size() > 8192) return Status(Errc::unauthorized, "malformed Basic credentials");
    auto decoded = base64_decode(value.substr(6));
    if (!decoded) return Status(Errc::unauthorized, "malformed Basic credentials");
    auto colon = decoded->find(':');
    if (colon == std::string::npos) return Status(Errc::unauthorized, "malformed Basic credentials");
    return login(decoded->substr(0, colon), decoded->substr(colon + 1), remote, retry_after);
  }
  if (is_bearer(value)) {
    auto claims = signer_.verify(value.substr(7), options_.service, now());
    if (!claims.ok()) return claims.status();
    auto current = epoch_current(claims->subject, claims->epoch);
    if (!current.ok()) return current.status();
    if (!*current) return Status(Errc::unauthorized, "token revoked: rights changed since it was issued; ask for a new one");
    return from_claims(*claims);
  }
  return Status(Errc::unauthorized, "unsupported authorization scheme");
}

Result<bool> AccessControl::epoch_current(const std::string& subject, int64_t epoch) {
  const auto t = std::chrono::steady_clock::now();
  const auto fresh_for = std::chrono::seconds(options_.revocation_check_seconds);
  {
    std::lock_guard lock(epochs_mu_);
    auto it = epochs_.find(subject);
    // A JWT newer than what was read (issued by another node after a change) is checked at once.
    if (it != epochs_.end() && t - it->second.read_at < fresh_for && epoch <= it->second.epoch) {
      return epoch == it->second.epoch;
    }
  }
  auto read = store_.revocation_epoch(subject);
  if (!read.ok()) return read.status();
  std::lock_guard lock(epochs_mu_);
  if (epochs_.size() >= 100'000) epochs_.clear();  // bounded; refilled at one read per active subject
  epochs_[subject] = KnownEpoch{*read, t};
  return epoch == *read;
}

// ---- Authorization ----

std::set<Action> permitted_by(const Identity& identity, const std::string& repository,
                              const meta::AccessFacts& facts) {
  std::set<Action> out;
  const bool exists = facts.visibility.has_value();
  const bool is_public = exists && *facts.visibility == "public";
  if (identity.anonymous()) {
    if (is_public) out.insert(Action::pull);
    return out;
  }
  if (identity.kind == Identity::Kind::ci &&
      std::find(identity.packages.begin(), identity.packages.end(), repository) == identity.packages.end()) {
    return out;  // CI tokens see nothing outside their packages, not even public ones
  }

  Role role = Role::none;
  bool org_owned = false, org_admin = false, may_create = false;
  if (facts.owner_kind) {
    if (*facts.owner_kind == meta::AccountKind::user) {
      const bool own = owner_of(repository) == identity.user;
      if (own) role = Role::admin;
      may_create = own;
    } else {
      org_owned = true;
      if (facts.org_role) {
        org_admin = *facts.org_role == "admin";
        role = org_admin ? Role::admin : Role::read;
        may_create = true;
      }
    }
    may_create = may_create && facts.owner_create_on_push && !exists;
  }
  if (exists) role = std::max(role, role_of(facts.package_role));
  // A team's role counts as the member's own, for members of the owning org only: leaving the org ends
  // what its teams gave, whatever the team tables still say.
  if (exists && org_owned && facts.org_role) role = std::max(role, role_of(facts.team_role));
  if (is_public) role = std::max(role, Role::read);

  const bool read_scope = identity.scopes.count("read:packages") || identity.scopes.count("write:packages");
  const bool write_scope = identity.scopes.count("write:packages") > 0;
  const bool delete_scope = identity.scopes.count("delete:packages") > 0;
  if (read_scope && role >= Role::read) out.insert(Action::pull);
  // Pushing to a package that does not exist yet creates it: that takes the right to create (which the
  // owner's create-on-push setting can withdraw), not a role, whatever the caller's role in the org.
  if (write_scope && (exists ? role >= Role::write : may_create)) {
    out.insert(Action::push);
    out.insert(Action::pull);  // pushing needs to check what is already there
  }
  // Deleting and restoring take the same rights (admin on the package, org admin for org packages);
  // GitHub asks for delete:packages to delete and write:packages to restore, both with read:packages.
  bool package_admin = role == Role::admin && (!org_owned || org_admin);
  if (identity.kind == Identity::Kind::ci && org_owned) package_admin = false;
  if (package_admin && delete_scope) out.insert(Action::del);
  // A deleted package no longer exists under its name: restoring it takes the owner's rights alone.
  if (package_admin && write_scope) out.insert(Action::restore);
  return out;
}

std::set<Action> AccessControl::permitted(const Identity& identity, const std::string& repository, bool& exists) {
  exists = false;
  if (identity.kind == Identity::Kind::ci &&
      std::find(identity.packages.begin(), identity.packages.end(), repository) == identity.packages.end()) {
    return {};  // what permitted_by() answers whatever the facts: no need to read them
  }
  auto facts = store_.access_facts(repository, owner_of(repository), identity.anonymous() ? "" : identity.user);
  if (!facts.ok()) return {};  // a failing store grants nothing
  exists = facts->visibility.has_value();
  return permitted_by(identity, repository, *facts);
}

std::set<Action> AccessControl::permitted(const Identity& identity, const std::string& repository) {
  bool exists = false;
  return permitted(identity, repository, exists);
}

Result<AccessControl::ReadablePage> AccessControl::readable_repositories(const Identity& identity,
                                                                         const std::string& after, size_t limit) {
  ReadablePage page;
  if (identity.kind == Identity::Kind::ci) {
    // A CI token sees its own few packages and nothing else: those are looked up one by one.
    std::vector<std::string> own = identity.packages;
    std::sort(own.begin(), own.end());
    for (const auto& name : own) {
      if (name <= after) continue;
      if (permitted(identity, name).count(Action::pull) == 0) continue;
      if (page.names.size() == limit) {
        page.more = true;
        break;
      }
      page.names.push_back(name);
    }
    return page;
  }
  if (!identity.anonymous() && identity.scopes.count("read:packages") == 0 &&
      identity.scopes.count("write:packages") == 0) {
    return page;  // permitted_by() lets no package be pulled without one of these
  }
  const std::string user = identity.anonymous() ? "" : identity.user;
  const size_t want = limit + 1;  // one more tells whether a next page exists
  std::string from = after;
  for (;;) {
    auto candidates = store_.readable_candidates(from, want, user);
    if (!candidates.ok()) return candidates.status();
    for (const auto& c : *candidates) {
      if (permitted_by(identity, c.repository, c.facts).count(Action::pull) == 0) continue;
      if (page.names.size() == limit) {
        page.more = true;
        return page;
      }
      page.names.push_back(c.repository);
    }
    if (candidates->size() < want) return page;
    from = candidates->back().repository;
  }
}

Decision AccessControl::decide(const Identity& identity, Action action, const std::string& repository,
                               bool* package_exists) {
  if (package_exists) *package_exists = false;
  if (identity.via_bearer) {
    for (const auto& entry : identity.granted) {
      if (entry.type != "repository" || entry.name != repository) continue;
      auto name = action_name(action);
      if (std::find(entry.actions.begin(), entry.actions.end(), name) != entry.actions.end()) return Decision::allow;
    }
  }
  bool exists = false;
  auto allowed = permitted(identity, repository, exists);
  if (package_exists) *package_exists = exists;
  if (identity.anonymous() && !identity.via_bearer) {
    if (allowed.count(action)) return Decision::allow;
    return Decision::challenge;
  }
  if (!identity.via_bearer && allowed.count(action)) return Decision::allow;
  if (identity.via_bearer && allowed.count(action)) return Decision::challenge;  // a new token would allow it
  if (identity.anonymous()) return Decision::challenge;
  if (action == Action::push) return Decision::deny;  // the same answer whether the package exists or not
  return allowed.count(Action::pull) ? Decision::deny : Decision::hide;
}

bool AccessControl::reads_every_package_of(const Identity& identity, const std::string& owner, bool owner_is_org) {
  if (identity.anonymous() || identity.kind == Identity::Kind::ci) return false;
  if (!owner_is_org) return identity.user == owner;
  auto role = store_.org_role(owner, identity.user);
  return role.ok() && role->has_value();
}

bool AccessControl::administers_owner(const Identity& identity, const std::string& owner, bool owner_is_org) {
  if (identity.anonymous() || identity.kind == Identity::Kind::ci) return false;
  if (!owner_is_org) return identity.user == owner;
  auto role = store_.org_role(owner, identity.user);
  return role.ok() && *role == std::optional<std::string>("admin");
}

Status AccessControl::prepare_create(const Identity& identity, const std::string& repository) {
  const std::string owner = owner_of(repository);
  auto facts = store_.access_facts(repository, owner, identity.anonymous() ? "" : identity.user);
  if (!facts.ok()) return facts.status();
  if (facts->visibility) return Status::Ok();
  std::string default_visibility = facts->owner_kind ? facts->owner_default_visibility : "private";
  BERTH_RETURN_IF_ERROR(store_.set_repository_visibility(repository, default_visibility));
  if (facts->owner_kind == meta::AccountKind::org && !identity.anonymous()) {
    BERTH_RETURN_IF_ERROR(store_.set_package_role(repository, identity.user, "admin"));
  }
  return Status::Ok();
}

Result<AccessControl::IssuedToken> AccessControl::issue_token(const Identity& identity,
                                                              const std::vector<ResourceScope>& requested) {
  TokenClaims claims;
  claims.subject = identity.anonymous() ? "" : identity.user;
  claims.kind = identity.kind == Identity::Kind::ci ? "ci" : identity.anonymous() ? "anonymous" : "user";
  claims.audience = options_.service;
  claims.issued_at = now();
  claims.expires_at = claims.issued_at + options_.token_ttl_seconds;
  claims.scopes.assign(identity.scopes.begin(), identity.scopes.end());
  claims.packages = identity.packages;
  auto epoch = store_.revocation_epoch(claims.subject);
  if (!epoch.ok()) return epoch.status();
  claims.epoch = *epoch;
  for (const auto& scope : requested) {
    AccessEntry entry{scope.type, scope.name, {}};
    if (scope.type == "repository") {
      auto allowed = permitted(identity, scope.name);
      for (Action a : {Action::pull, Action::push, Action::del}) {
        if (allowed.count(a) && (scope.actions.count("*") || scope.actions.count(std::string(action_name(a))))) {
          entry.actions.push_back(std::string(action_name(a)));
        }
      }
    } else if (scope.type == "registry" && scope.name == "catalog" && scope.actions.count("*")) {
      entry.actions.push_back("*");  // the catalog is filtered per caller anyway
    }
    claims.access.push_back(std::move(entry));
  }
  auto token = signer_.sign(claims);
  if (!token.ok()) return token.status();
  return IssuedToken{std::move(*token), std::move(claims)};
}

void AccessControl::audit(const std::string& actor, std::string action, std::string target, std::string outcome,
                          const std::string& remote, std::string detail) {
  // Every field may hold what a client sent (a name, a path): one line each, whatever it holds.
  meta::AuditEvent event;
  event.at = now();
  event.actor = printable(actor);
  event.action = printable(action);
  event.target = printable(target);
  event.outcome = std::move(outcome);
  event.remote = printable(remote);
  event.detail = printable(detail);
  (void)store_.record_audit(event);
}

}  // namespace berth::auth
