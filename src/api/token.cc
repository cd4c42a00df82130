// GET/POST /token: the Docker token authentication endpoint.
//
// GET  /token?service=…&scope=…[&scope=…]   with Basic credentials (user + access token) or none
// POST /token   application/x-www-form-urlencoded: grant_type=password, username, password, scope,
//               service (the OAuth2 form containerd sends)
// Answers {"token","access_token","expires_in","issued_at"}; the token's access claim is the
// intersection of what was asked and what the caller may do.
#include <nlohmann/json.hpp>

#include "api/distribution.h"
#include "common/time.h"
#include "api/errors.h"
#include "auth/scope.h"

namespace berth::api {

namespace {

http::Response token_response(auth::AccessControl& access, const auth::Identity& identity,
                              const std::vector<std::string>& scope_params) {
  auto issued = access.issue_token(identity, auth::parse_scopes(scope_params));
  if (!issued.ok()) return error_response(issued.status());
  nlohmann::json body = {{"token", issued->token},
                         {"access_token", issued->token},
                         {"expires_in", issued->claims.expires_at - issued->claims.issued_at},
                         {"issued_at", utc_timestamp(issued->claims.issued_at)}};
  http::Response r = http::Response::json(200, body.dump());
  r.headers.set("Cache-Control", "no-store");
  return r;
}

http::Response refused(const Status& status, int64_t retry_after) {
  http::Response r = error_response(status);
  if (status.code() == Errc::too_many_requests) r.headers.set("Retry-After", std::to_string(retry_after));
  return r;
}

}  // namespace

http::Dispatch handle_token(auth::AccessControl& access, http::Request& request) {
  if (request.method == "GET") {
    // Only an access token (Basic) or nothing buys a JWT here. Accepting a JWT would let its holder
    // renew it forever, outliving the revocation or expiry of the token it came from.
    auto authorization = request.headers.get("Authorization");
    if (authorization && auth::is_bearer(*authorization)) {
      return http::Dispatch::respond(
          error_response(Errc::unauthorized, "a bearer token cannot be exchanged: authenticate with an access token"));
    }
    int64_t retry_after = 0;
    auto identity = access.authenticate(request.headers.get("Authorization"), request.remote_address, &retry_after);
    if (!identity.ok()) return http::Dispatch::respond(refused(identity.status(), retry_after));
    request.principal = identity->actor();
    return http::Dispatch::respond(token_response(access, *identity, request.query_params("scope")));
  }
  if (request.method == "POST") {
    return http::Dispatch::read_body(64 * 1024, [&access](http::Request& req) {
      http::Request form;  // the body is a query string
      form.query = req.body;
      std::string grant = form.query_param("grant_type").value_or("");
      auth::Identity identity;
      int64_t retry_after = 0;
      if (grant == "password") {
        auto user = form.query_param("username").value_or("");
        auto secret = form.query_param("password").value_or("");
        auto who = access.login(user, secret, req.remote_address, &retry_after);
        if (!who.ok()) return refused(who.status(), retry_after);
        identity = *who;
      } else if (!grant.empty()) {
        return error_response(Errc::unsupported, "unsupported grant_type " + grant);
      }
      req.principal = identity.actor();
      std::vector<std::string> scopes;
      if (auto scope = form.query_param("scope")) scopes.push_back(*scope);
      return token_response(access, identity, scopes);
    });
  }
  return method_not_allowed();
}

}  // namespace berth::api
