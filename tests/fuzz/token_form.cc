// The token endpoint's form body (POST /token, application/x-www-form-urlencoded: grant_type, username,
// password, scope), as api/token.cc's handle_token reads it: http::Request's query parameters
// (percent-decoding), the password grant's AccessControl::login against a real SQLite identity store,
// auth::parse_scopes, and AccessControl::issue_token with the process's key (auth_world.h).
//
// handle_token itself lives in api/, which links the HTTP server and every layer of the registry; this
// target makes the same calls in the same order, on the same functions, without them. The scopes of a
// GET /token (every scope= parameter of the query string) are parsed from the same text too.
//
// Input: the body.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/scope.h"
#include "fuzz/auth_world.h"
#include "http/message.h"

using namespace berth;

namespace {

void check_scopes(const std::vector<auth::ResourceScope>& scopes) {
  for (const auto& s : scopes) {
    BERTH_FUZZ_CHECK(!s.type.empty() && !s.name.empty());
    auto again = auth::parse_scope(s.str());
    BERTH_FUZZ_CHECK(again && again->type == s.type && again->name == s.name && again->actions == s.actions);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::AuthWorld::get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  http::Request form;  // the body is a query string
  form.query = std::string(fuzz::as_text(data, size));

  // GET /token's scopes: every scope= parameter, each possibly holding several.
  check_scopes(auth::parse_scopes(form.query_params("scope")));

  auto access = fuzz::AuthWorld::get().access_control();
  std::string grant = form.query_param("grant_type").value_or("");
  auth::Identity identity;
  int64_t retry_after = 0;
  if (grant == "password") {
    auto user = form.query_param("username").value_or("");
    auto secret = form.query_param("password").value_or("");
    auto who = access.login(user, secret, "192.0.2.1", &retry_after);
    if (!who.ok()) {
      BERTH_FUZZ_CHECK(who.status().code() == Errc::unauthorized || who.status().code() == Errc::too_many_requests);
      return 0;
    }
    BERTH_FUZZ_CHECK(who->user == user && user == "alice");  // bob's token is revoked
    identity = *who;
  } else if (!grant.empty()) {
    return 0;  // unsupported grant_type
  }
  std::vector<std::string> scope_params;
  if (auto scope = form.query_param("scope")) scope_params.push_back(*scope);
  auto requested = auth::parse_scopes(scope_params);
  check_scopes(requested);

  auto issued = access.issue_token(identity, requested);
  if (!issued.ok()) {
    BERTH_FUZZ_CHECK(issued.status().code() == Errc::invalid_argument);  // a name that is not UTF-8
    return 0;
  }
  BERTH_FUZZ_CHECK(issued->claims.access.size() == requested.size());
  for (const auto& entry : issued->claims.access) {
    if (entry.type != "repository") continue;
    for (const auto& action : entry.actions) {
      BERTH_FUZZ_CHECK(action == "pull" || action == "push" || action == "delete");
      // What the store's callers may do (auth_world.h): anonymous pulls the public acme/web only, the
      // CI token touches alice/app only.
      if (identity.anonymous()) BERTH_FUZZ_CHECK(action == "pull" && entry.name == "acme/web");
      if (identity.kind == auth::Identity::Kind::ci) BERTH_FUZZ_CHECK(entry.name == "alice/app");
    }
  }
  // What was issued verifies, and says what was granted.
  auto verified = fuzz::AuthWorld::get().signer->verify(issued->token, std::string(fuzz::kService), fuzz::kNow);
  if (!verified.ok()) fuzz::die("an issued token does not verify: " + verified.status().message());
  BERTH_FUZZ_CHECK(verified->subject == issued->claims.subject && verified->kind == issued->claims.kind);
  BERTH_FUZZ_CHECK(verified->access.size() == issued->claims.access.size());
  for (size_t i = 0; i < verified->access.size(); ++i) {
    BERTH_FUZZ_CHECK(verified->access[i].name == issued->claims.access[i].name);
    BERTH_FUZZ_CHECK(verified->access[i].actions == issued->claims.access[i].actions);
  }
  return 0;
}
