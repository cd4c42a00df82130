// Routing, access log and metrics for the distribution API.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <charconv>

#include "api/distribution.h"
#include "api/errors.h"
#include "common/printable.h"
#include "oci/name.h"

namespace berth::api {

namespace {
constexpr std::string_view kV2 = "/v2/";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}
}  // namespace

Route parse_route(std::string_view path) {
  Route route;
  if (path == "/v2" || path == "/v2/") {
    route.kind = Route::Kind::base;
    return route;
  }
  if (path == "/token") return Route{Route::Kind::token, {}, {}};
  if (path == "/healthz") return Route{Route::Kind::healthz, {}, {}};
  if (path == "/readyz") return Route{Route::Kind::readyz, {}, {}};
  if (path == "/metrics") return Route{Route::Kind::metrics, {}, {}};
  if (path.substr(0, kV2.size()) != kV2) return route;
  std::string_view rest = path.substr(kV2.size());
  if (rest == "_catalog") return Route{Route::Kind::catalog, {}, {}};

  if (ends_with(rest, "/tags/list")) {
    return Route{Route::Kind::tags, std::string(rest.substr(0, rest.size() - 10)), {}};
  }
  if (ends_with(rest, "/blobs/uploads") || ends_with(rest, "/blobs/uploads/")) {
    auto cut = rest.rfind("/blobs/uploads");
    return Route{Route::Kind::upload_start, std::string(rest.substr(0, cut)), {}};
  }
  // <name>/<kind>/<leaf>: the leaf never contains '/', the name may.
  auto last_slash = rest.rfind('/');
  if (last_slash == std::string_view::npos) return route;
  std::string_view leaf = rest.substr(last_slash + 1);
  std::string_view before = rest.substr(0, last_slash);
  auto kind_slash = before.rfind('/');
  if (kind_slash == std::string_view::npos) return route;
  std::string_view kind = before.substr(kind_slash + 1);
  std::string_view name = before.substr(0, kind_slash);
  if (kind == "manifests") return Route{Route::Kind::manifest, std::string(name), std::string(leaf)};
  if (kind == "blobs") return Route{Route::Kind::blob, std::string(name), std::string(leaf)};
  if (kind == "referrers") return Route{Route::Kind::referrers, std::string(name), std::string(leaf)};
  if (kind == "uploads" && ends_with(name, "/blobs")) {
    return Route{Route::Kind::upload, std::string(name.substr(0, name.size() - 6)), std::string(leaf)};
  }
  return route;
}

std::string_view route_label(Route::Kind kind) {
  switch (kind) {
    case Route::Kind::base: return "base";
    case Route::Kind::catalog: return "catalog";
    case Route::Kind::tags: return "tags";
    case Route::Kind::manifest: return "manifest";
    case Route::Kind::blob: return "blob";
    case Route::Kind::upload_start:
    case Route::Kind::upload: return "upload";
    case Route::Kind::referrers: return "referrers";
    case Route::Kind::token: return "token";
    case Route::Kind::healthz: return "healthz";
    case Route::Kind::readyz: return "readyz";
    case Route::Kind::metrics: return "metrics";
    case Route::Kind::not_found: return "other";
  }
  return "other";
}

http::Response empty_response(int status) {
  http::Response r;
  r.status = status;
  return r;
}

http::Dispatch method_not_allowed() {
  http::Response r = error_response(Errc::unsupported, "method not allowed");
  r.status = 405;
  return http::Dispatch::respond(std::move(r));
}

Result<PageQuery> parse_page_query(const http::Request& request) {
  PageQuery q;
  if (auto n = request.query_param("n")) {
    size_t value = 0;
    auto [ptr, ec] = std::from_chars(n->data(), n->data() + n->size(), value);
    if (ec != std::errc() || ptr != n->data() + n->size()) {
      return Status(Errc::invalid_argument, "n must be a non-negative integer");
    }
    q.n = value;
  }
  if (auto last = request.query_param("last")) q.last = *last;
  return q;
}

DistributionApi::DistributionApi(registry::Registry& registry, ApiOptions options)
    : registry_(registry), options_(std::move(options)) {}

std::string DistributionApi::client_address(const http::Request& request) const {
  auto trusted = [this](std::string_view a) {
    return std::find(options_.trusted_proxies.begin(), options_.trusted_proxies.end(), a) !=
           options_.trusted_proxies.end();
  };
  if (options_.trusted_proxies.empty() || !trusted(request.remote_address)) return request.remote_address;
  auto forwarded = request.headers.get("X-Forwarded-For");
  if (!forwarded) return request.remote_address;
  // Rightmost first: each proxy appends the address it saw; hops added by trusted proxies are skipped,
  // the first untrusted one is the client (anything left of it could be forged by the client).
  std::string_view rest = *forwarded;
  while (!rest.empty()) {
    auto comma = rest.rfind(',');
    std::string_view hop = comma == std::string_view::npos ? rest : rest.substr(comma + 1);
    while (!hop.empty() && hop.front() == ' ') hop.remove_prefix(1);
    while (!hop.empty() && hop.back() == ' ') hop.remove_suffix(1);
    if (!hop.empty() && hop.size() <= 45 && !trusted(hop)) return std::string(hop);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(0, comma);
  }
  return request.remote_address;
}

namespace {
// host[:port], an IPv6 literal in brackets, or a reg-name: letters, digits, '.', '-', '_' and ':'.
bool valid_host(std::string_view host) {
  if (host.empty() || host.size() > 255) return false;
  return std::all_of(host.begin(), host.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '.' || c == '-' || c == '_' || c == ':' || c == '[' || c == ']';
  });
}

}  // namespace

http::Dispatch DistributionApi::on_request(http::Request& request) {
  request.remote_address = client_address(request);
  // The Host header names this server in challenges and links: one that is no host[:port] (quotes,
  // spaces, a second header's worth of text) is refused, as RFC 9112 §3.2 asks.
  if (auto host = request.headers.get("Host"); host && !valid_host(*host)) {
    return http::Dispatch::respond(error_response(Errc::invalid_argument, "invalid Host header"));
  }
  if (options_.packages_api && PackagesApi::handles(request.path)) return options_.packages_api->on_request(request);
  Route route = parse_route(request.path);
  request.route_label = route_label(route.kind);
  const bool get_like = request.method == "GET" || request.method == "HEAD";
  switch (route.kind) {
    case Route::Kind::not_found:
      return http::Dispatch::respond(error_response(Errc::not_found, "no such endpoint"));
    case Route::Kind::healthz:
      return http::Dispatch::respond(http::Response::json(200, R"({"status":"ok"})"));
    case Route::Kind::readyz: {
      bool ready = !options_.ready || options_.ready();
      return http::Dispatch::respond(
          http::Response::json(ready ? 200 : 503, ready ? R"({"status":"ready"})" : R"({"status":"not ready"})"));
    }
    case Route::Kind::metrics: {
      http::Response r;
      r.headers.set("Content-Type", "text/plain; version=0.0.4");
      r.body = metrics_.render(registry_.uploads_in_progress());
      if (options_.extra_metrics) r.body += options_.extra_metrics();
      return http::Dispatch::respond(std::move(r));
    }
    case Route::Kind::token:
      if (!options_.access) return http::Dispatch::respond(error_response(Errc::not_found, "authentication is off"));
      return handle_token(*options_.access, request);
    default:
      break;
  }
  if (route.kind != Route::Kind::base && route.kind != Route::Kind::catalog &&
      !oci::is_valid_repository_name(route.name)) {
    return http::Dispatch::respond(error_response(Errc::name_invalid, "invalid repository name"));
  }
  auth::Identity identity;
  if (options_.access) {
    if (auto refusal = enforce(request, route, identity)) return http::Dispatch::respond(std::move(*refusal));
  } else {
    request.principal = "anonymous";
  }
  switch (route.kind) {
    case Route::Kind::base: {
      if (!get_like) return method_not_allowed();
      http::Response r = http::Response::json(200, "{}");
      r.headers.set("Docker-Distribution-API-Version", "registry/2.0");
      return http::Dispatch::respond(std::move(r));
    }
    case Route::Kind::catalog: {
      CatalogPager readable;
      if (options_.access) {
        readable = [access = options_.access, identity](const std::string& after,
                                                        size_t limit) -> Result<registry::Page> {
          auto page = access->readable_repositories(identity, after, limit);
          if (!page.ok()) return page.status();
          return registry::Page{std::move(page->names), page->more};
        };
      }
      return handle_catalog(registry_, request, std::move(readable));
    }
    case Route::Kind::tags: return handle_tags(registry_, tag_lists_, request, route);
    case Route::Kind::manifest:
      return handle_manifest(registry_, request, route, options_.max_manifest_bytes, options_.external_url,
                             options_.downloads);
    case Route::Kind::blob: return handle_blob(registry_, request, route);
    case Route::Kind::upload_start:
    case Route::Kind::upload: return handle_upload(registry_, request, route, options_.external_url);
    case Route::Kind::referrers: return handle_referrers(registry_, request, route);
    default: return http::Dispatch::respond(error_response(Errc::not_found, "no such endpoint"));
  }
}

namespace {

std::optional<auth::Action> needed_action(const Route& route, const std::string& method) {
  switch (route.kind) {
    case Route::Kind::upload_start:
    case Route::Kind::upload: return auth::Action::push;
    case Route::Kind::manifest:
      if (method == "PUT") return auth::Action::push;
      if (method == "DELETE") return auth::Action::del;
      return auth::Action::pull;
    case Route::Kind::blob: return method == "DELETE" ? auth::Action::del : auth::Action::pull;
    case Route::Kind::tags:
    case Route::Kind::referrers: return auth::Action::pull;
    default: return std::nullopt;
  }
}

// What a caller who may not know the repository exists sees: exactly what a missing one answers.
http::Response hidden_response(const Route& route) {
  switch (route.kind) {
    case Route::Kind::manifest: return error_response(Errc::manifest_unknown, "manifest unknown: " + route.leaf);
    case Route::Kind::blob: return error_response(Errc::blob_unknown, "blob unknown to registry: " + route.leaf);
    case Route::Kind::referrers: return empty_referrers_index();
    default: return error_response(Errc::name_unknown, "repository name not known to registry: " + route.name);
  }
}

}  // namespace

http::Response DistributionApi::challenge(const http::Request& request, const std::string& scope, const Status& why,
                                          std::string_view error) {
  // An explicit auth.realm wins; then the configured external URL, which (unlike the Host header) is
  // right behind proxies that rewrite Host.
  std::string realm = options_.token_realm;
  if (realm.empty() && !options_.external_url.empty()) {
    realm = options_.external_url + "/token";
  } else if (realm.empty()) {
    std::string host(request.headers.get("Host").value_or("localhost"));
    realm = std::string(options_.tls ? "https://" : "http://") + host + "/token";
  }
  std::string header = "Bearer realm=\"" + realm + "\",service=\"" + options_.access->options().service + "\"";
  if (!scope.empty()) header += ",scope=\"" + scope + "\"";
  // RFC 6750: invalid_token for bad credentials, insufficient_scope for good ones that do not cover this.
  if (!error.empty()) header += ",error=\"" + std::string(error) + "\"";
  http::Response r = error_response(Errc::unauthorized, why.message());
  r.headers.set("WWW-Authenticate", header);
  // Docker's client decides from this header, on the challenge as well, that it speaks to a v2 registry
  // (without it `docker manifest inspect` fails with "unsupported registry version"); Distribution sends it
  // on every /v2/ response.
  r.headers.set("Docker-Distribution-API-Version", "registry/2.0");
  return r;
}

std::optional<http::Response> DistributionApi::enforce(http::Request& request, Route& route, auth::Identity& identity) {
  auth::AccessControl& access = *options_.access;
  const bool has_credentials = request.headers.get("Authorization").has_value();
  std::string scope;
  auto action = needed_action(route, request.method);
  if (action) {
    scope = "repository:" + route.name + ":" +
            (*action == auth::Action::push ? "pull,push" : std::string(auth::action_name(*action)));
  } else if (route.kind == Route::Kind::catalog) {
    scope = "registry:catalog:*";
  }

  int64_t retry_after = 0;
  auto who = access.authenticate(request.headers.get("Authorization"), request.remote_address, &retry_after);
  if (!who.ok()) {
    if (who.status().code() == Errc::too_many_requests) {
      http::Response r = error_response(who.status());
      r.headers.set("Retry-After", std::to_string(std::max<int64_t>(1, retry_after)));
      return r;
    }
    return challenge(request, scope, who.status(), has_credentials ? "invalid_token" : "");
  }
  identity = std::move(*who);
  request.principal = identity.actor();

  // Clients discover the token endpoint from the challenge to an anonymous GET /v2/.
  if ((route.kind == Route::Kind::base || route.kind == Route::Kind::catalog) && !has_credentials) {
    return challenge(request, scope, Status(Errc::unauthorized, "authentication required"), "");
  }
  if (!action) return std::nullopt;

  bool package_exists = false;
  auth::Decision decision = access.decide(identity, *action, route.name, &package_exists);
  if (decision == auth::Decision::allow) {
    if (*action == auth::Action::push) {
      // The first push to a package creates it (visibility, creator's role); an existing one needs nothing.
      if (!package_exists) {
        if (Status s = access.prepare_create(identity, route.name); !s.ok()) return error_response(s);
      }
      if (route.kind == Route::Kind::upload_start) {
        std::string from = request.query_param("from").value_or("");
        // Mounting from a repository the caller cannot read would leak its blobs; without `from` the
        // source could be any repository, so only an explicit, readable one is honoured.
        route.mount_allowed = !from.empty() && oci::is_valid_repository_name(from) &&
                              access.decide(identity, auth::Action::pull, from) == auth::Decision::allow;
      }
    }
    return std::nullopt;
  }
  std::string target = route.name + (route.leaf.empty() ? "" : ":" + route.leaf);
  access.audit(identity.actor(), std::string(auth::action_name(*action)), target, "denied", request.remote_address,
               decision == auth::Decision::hide ? "hidden" : "");
  switch (decision) {
    case auth::Decision::challenge:
      return challenge(request, scope, Status(Errc::unauthorized, "authentication required"),
                       has_credentials ? "insufficient_scope" : "");
    case auth::Decision::deny: {
      // Not the bare default text: Docker's client takes an error whose message is exactly the code's
      // default for a code without detail, and retries it as if temporary (a refused push then spends
      // about 50 s in retries before saying "denied").
      http::Response r = error_response(Errc::denied, "requested access to the resource is denied: " + identity.actor() +
                                                          " may not " + std::string(auth::action_name(*action)) +
                                                          " " + route.name);
      r.headers.set("Docker-Distribution-API-Version", "registry/2.0");
      return r;
    }
    default:
      return hidden_response(route);
  }
}

http::Response DistributionApi::payload_too_large(const http::Request& request) {
  // Named after what was too large (manifest PUTs and /token forms are the bodies read whole).
  std::string message;
  if (request.route_label == "manifest") {
    message = "manifest exceeds the maximum size of " + std::to_string(options_.max_manifest_bytes) + " bytes";
  } else if (request.route_label == "token") {
    message = "token request body is too large";
  } else {
    message = "request body is too large";
  }
  http::Response r = error_response(Errc::manifest_invalid, std::move(message));
  r.status = 413;
  return r;
}

void DistributionApi::on_complete(const http::Request& request, int status, uint64_t bytes_in, uint64_t bytes_out,
                                  double seconds) {
  metrics_.record(request.route_label.empty() ? "other" : request.route_label, request.method, status, seconds,
                  bytes_in, bytes_out);
  // Every successful write goes to the audit log (blob uploads are recorded by the manifest push that
  // makes them reachable). Only writes need the route again.
  if (options_.access && status >= 200 && status < 300 && (request.method == "PUT" || request.method == "DELETE")) {
    Route route = parse_route(request.path);
    const bool manifest_put = route.kind == Route::Kind::manifest && request.method == "PUT";
    const bool deletion = (route.kind == Route::Kind::manifest || route.kind == Route::Kind::blob) &&
                          request.method == "DELETE";
    if (manifest_put || deletion) {
      options_.access->audit(request.principal, manifest_put ? "push" : "delete", route.name + ":" + route.leaf,
                             "allowed", request.remote_address);
    }
  }
  if (options_.access_log) {
    // The path only: query strings and headers may carry credentials. Escaped: one line per request.
    spdlog::info("access remote={} user={} method={} path={} status={} in={} out={} ms={:.2f}", request.remote_address,
                 request.principal.empty() ? "-" : request.principal, request.method, printable(request.path), status,
                 bytes_in, bytes_out, seconds * 1000);
  }
}

}  // namespace berth::api
