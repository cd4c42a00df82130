// Authentication and authorization: who is calling, and what they may do to a package.
//
// Identities come from the Authorization header: none (anonymous), Basic user + access token (a PAT or
// CI token; passwords are for the UI, not the registry), or Bearer JWT issued by /token.
// Decisions follow the GHCR model (see docs/auth.md):
//   - anonymous may pull public packages only;
//   - a package's owner is the first component of its name; a user owns their own packages; org admins
//     administer every org package; org members read them and may create new ones;
//   - per-package roles (read < write < admin) add to that; public packages are readable by everyone;
//   - token scopes cap it: read:packages → pull, write:packages → pull + push, delete:packages → delete;
//   - delete needs admin on the package and, for org-owned packages, org admin;
//   - CI tokens are limited to their named packages and never delete org-owned packages;
//   - private packages the caller cannot read look exactly like missing ones.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "auth/jwt.h"
#include "auth/login_throttle.h"
#include "auth/scope.h"
#include "common/status.h"
#include "meta/identity_store.h"

namespace berth::auth {

struct Identity {
  enum class Kind { anonymous, user, ci };
  Kind kind = Kind::anonymous;
  std::string user;
  std::set<std::string> scopes;        // token scopes ("read:packages", …)
  std::vector<std::string> packages;   // CI tokens: the only repositories they may touch
  bool via_bearer = false;             // authenticated by a JWT: `granted` is what it allows
  std::vector<AccessEntry> granted;
  int64_t token_id = 0;

  bool anonymous() const { return kind == Kind::anonymous; }
  // For logs and the audit trail: "anonymous", "alice", "ci:alice".
  std::string actor() const;
};

struct AuthOptions {
  std::string service = "berth";  // the JWT audience and the challenge's service
  std::string issuer = "berth";
  int64_t token_ttl_seconds = 300;
  int max_failed_logins = 5;       // within failure_window_seconds, per client network and user name
  int64_t failure_window_seconds = 60;
  int64_t first_backoff_seconds = 5;  // then doubling with each further block
  int64_t max_backoff_seconds = 300;
  // How long a node trusts what it last read of a user's revocation epoch: a bearer JWT stops working at
  // most this long after its access token is revoked or its user loses a right (docs/auth.md).
  int64_t revocation_check_seconds = 5;
};

// Whether an Authorization header value uses the Bearer scheme (case-insensitive, as RFC 7235 says).
bool is_bearer(std::string_view authorization);

enum class Decision {
  allow,
  challenge,  // 401 with a Bearer challenge: credentials (or a token with more scope) could help
  deny,       // 403 DENIED: the caller may see the package but not do this
  hide,       // 404 as if missing: the caller may not know the package exists
};

// What `identity` may do to `repository`, given what the store says about it (AccessControl::permitted
// reads `facts` with one IdentityStore::access_facts call). Pure: no I/O.
std::set<Action> permitted_by(const Identity& identity, const std::string& repository,
                              const meta::AccessFacts& facts);

class AccessControl {
 public:
  using Clock = std::function<int64_t()>;
  AccessControl(meta::IdentityStore& store, const TokenSigner& signer, AuthOptions options, Clock clock = {});

  const AuthOptions& options() const { return options_; }

  // From the Authorization header (absent: anonymous). Errors: unauthorized (bad or expired
  // credentials), too_many_requests (too many failures from this address; retry_after is set).
  Result<Identity> authenticate(std::optional<std::string_view> authorization, const std::string& remote,
                                int64_t* retry_after = nullptr);
  // A user name + access token (Basic credentials, or the OAuth2 password grant).
  Result<Identity> login(const std::string& user, const std::string& secret, const std::string& remote,
                         int64_t* retry_after = nullptr);
  // An access token alone (`Authorization: token …` or `Bearer …` on the packages API, as GitHub takes
  // them): the token names its user. Same checks, throttling and audit as login().
  Result<Identity> login_with_token(const std::string& secret, const std::string& remote,
                                    int64_t* retry_after = nullptr);

  // What the identity may do to the repository, from the store (bearer grants are not consulted).
  // One store read (IdentityStore::access_facts); none for a CI token outside its packages.
  std::set<Action> permitted(const Identity& identity, const std::string& repository);
  // `package_exists`, if given, is set to whether the store read found the package (false when no read
  // was needed): a caller that saw it exist need not call prepare_create().
  Decision decide(const Identity& identity, Action action, const std::string& repository,
                  bool* package_exists = nullptr);

  // The catalog's page for the identity: repository names after `after`, in name order, that it may
  // pull, at most `limit`; `more` when further ones follow. A few store reads per page whatever the
  // number of repositories it may not see (IdentityStore::readable_candidates), none per name.
  struct ReadablePage {
    std::vector<std::string> names;
    bool more = false;
  };
  Result<ReadablePage> readable_repositories(const Identity& identity, const std::string& after, size_t limit);

  // Whether the identity reads every package of the owner (their own namespace, or a member of the org)
  // rather than only the public ones and those it holds a role on; for listings. Scopes are not
  // considered. The caller has read the owner's account and says whether it is an org.
  bool reads_every_package_of(const Identity& identity, const std::string& owner, bool owner_is_org);
  // Whether the identity sets the owner's policies (immutable tag rules, retention): the user themself,
  // or an admin of the org. Never a CI token. Scopes are not considered.
  bool administers_owner(const Identity& identity, const std::string& owner, bool owner_is_org);

  // Before the first push creates a package: applies the owner's default visibility and makes an org
  // member who creates it its admin. No-op (after one read) if the package exists.
  Status prepare_create(const Identity& identity, const std::string& repository);

  // A signed token for the requested scopes, intersected with what is permitted.
  struct IssuedToken {
    std::string token;
    TokenClaims claims;
  };
  Result<IssuedToken> issue_token(const Identity& identity, const std::vector<ResourceScope>& requested);

  // Records an event in the audit log (failures to record are not fatal to the request).
  void audit(const std::string& actor, std::string action, std::string target, std::string outcome,
             const std::string& remote, std::string detail = {});

 private:
  int64_t now() const;
  // permitted(), also telling whether the repository exists (false when the store could not say).
  std::set<Action> permitted(const Identity& identity, const std::string& repository, bool& exists);
  Identity from_claims(const TokenClaims& claims) const;
  // Whether the JWT's revocation epoch is still its subject's (read at most every
  // revocation_check_seconds per subject, or at once when the JWT is newer than what was read).
  Result<bool> epoch_current(const std::string& subject, int64_t epoch);
  // login() and login_with_token(): `expected_user` null when the token alone identifies.
  Result<Identity> login_checked(const std::string* expected_user, const std::string& secret,
                                 const std::string& remote, int64_t* retry_after);

  meta::IdentityStore& store_;
  const TokenSigner& signer_;
  AuthOptions options_;
  Clock clock_;
  // Failed-login throttling (LoginThrottle: per client network and user name). A successful login
  // clears its key's count, so a person who mistyped is not punished; guessing a 256-bit token is
  // hopeless anyway, the throttle is against floods and password-like guessing.
  LoginThrottle throttle_;
  struct KnownEpoch {
    int64_t epoch = 0;
    std::chrono::steady_clock::time_point read_at;
  };
  std::mutex epochs_mu_;
  std::unordered_map<std::string, KnownEpoch> epochs_;  // by subject ("" anonymous)
};

}  // namespace berth::auth
