// Routing, access log and metrics for the distribution API.
#include <spdlog/spdlog.h>

#include <charconv>

#include "api/distribution.h"
#include "api/errors.h"
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

http::Dispatch DistributionApi::on_request(http::Request& request) {
  Route route = parse_route(request.path);
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
      return http::Dispatch::respond(std::move(r));
    }
    case Route::Kind::base: {
      if (!get_like) return method_not_allowed();
      http::Response r = http::Response::json(200, "{}");
      r.headers.set("Docker-Distribution-API-Version", "registry/2.0");
      return http::Dispatch::respond(std::move(r));
    }
    case Route::Kind::catalog:
      return handle_catalog(registry_, request);
    default:
      break;
  }
  if (!oci::is_valid_repository_name(route.name)) {
    return http::Dispatch::respond(error_response(Errc::name_invalid, "invalid repository name"));
  }
  switch (route.kind) {
    case Route::Kind::tags: return handle_tags(registry_, request, route);
    case Route::Kind::manifest: return handle_manifest(registry_, request, route, options_.max_manifest_bytes);
    case Route::Kind::blob: return handle_blob(registry_, request, route);
    case Route::Kind::upload_start:
    case Route::Kind::upload: return handle_upload(registry_, request, route);
    case Route::Kind::referrers: return handle_referrers(registry_, request, route);
    default: return http::Dispatch::respond(error_response(Errc::not_found, "no such endpoint"));
  }
}

http::Response DistributionApi::payload_too_large(const http::Request& request) {
  http::Response r = error_response(Errc::manifest_invalid, "manifest exceeds the maximum size of " +
                                                                std::to_string(options_.max_manifest_bytes) + " bytes");
  r.status = 413;
  return r;
}

void DistributionApi::on_complete(const http::Request& request, int status, uint64_t bytes_in, uint64_t bytes_out,
                                  double seconds) {
  Route route = parse_route(request.path);
  metrics_.record(route_label(route.kind), request.method, status, seconds, bytes_in, bytes_out);
  if (options_.access_log) {
    // The path only: query strings and headers may carry credentials.
    spdlog::info("access remote={} method={} path={} status={} in={} out={} ms={:.2f}", request.remote_address,
                 request.method, request.path, status, bytes_in, bytes_out, seconds * 1000);
  }
}

}  // namespace berth::api
