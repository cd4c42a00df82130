// The HTTP front of the registry: routes /v2/* (the OCI distribution API), /healthz, /readyz and
// /metrics to the handlers in this folder (one file per resource: blobs.cc, uploads.cc, manifests.cc,
// listings.cc, ops.cc) and maps every refusal to the spec's error body (errors.cc).
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/metrics.h"
#include "api/packages_api.h"
#include "api/tag_list_cache.h"
#include "auth/access.h"
#include "http/message.h"
#include "packages/downloads.h"
#include "registry/registry.h"

namespace berth::api {

struct ApiOptions {
  bool access_log = true;
  size_t max_manifest_bytes = 4 * 1024 * 1024;
  // Extra readiness checks (backends reachable); empty means always ready.
  std::function<bool()> ready;
  // Authentication and authorization; null serves everyone everything (for tests and trusted networks).
  auth::AccessControl* access = nullptr;
  // The token endpoint's URL in challenges; empty: built from the request's Host header.
  std::string token_realm;
  bool tls = false;  // for the realm's scheme
  // Addresses of load balancers whose X-Forwarded-For names the real client (for login throttling,
  // the audit log and the access log). Exact addresses; empty: X-Forwarded-For is ignored.
  std::vector<std::string> trusted_proxies;
  // How clients reach this registry (`server.external_url`, e.g. https://registry.example.com, no
  // trailing slash): the token realm when token_realm is empty, and the prefix that makes Location
  // headers absolute. Empty: realms from the Host header and relative Locations.
  std::string external_url;
  // The GitHub-compatible packages API under /api/ (null: not served).
  PackagesApi* packages_api = nullptr;
  // Where manifest GETs are counted as downloads (null: not counted).
  packages::DownloadCounter* downloads = nullptr;
  // More Prometheus text appended to /metrics (the garbage collector's), if set.
  std::function<std::string()> extra_metrics;
};

// What a /v2 path names, once the repository name has been split off.
struct Route {
  enum class Kind {
    not_found, base, catalog, tags, manifest, blob, upload_start, upload, referrers, token, healthz, readyz, metrics
  };
  Kind kind = Kind::not_found;
  std::string name;  // repository (validated by the router before any handler runs)
  std::string leaf;  // reference, digest or upload id
  // Cross-repository mounts only from repositories the caller may read (false: start an upload instead).
  bool mount_allowed = true;
};

Route parse_route(std::string_view path);
std::string_view route_label(Route::Kind kind);

class DistributionApi final : public http::Handler {
 public:
  DistributionApi(registry::Registry& registry, ApiOptions options);

  http::Dispatch on_request(http::Request& request) override;
  http::Response payload_too_large(const http::Request& request) override;
  void on_complete(const http::Request& request, int status, uint64_t bytes_in, uint64_t bytes_out,
                   double seconds) override;

  Metrics& metrics() { return metrics_; }

 private:
  // The client's address: the peer, or, behind a trusted proxy, the last untrusted X-Forwarded-For hop.
  std::string client_address(const http::Request& request) const;
  // Authenticates and authorizes a request to a /v2 route; returns a response if it must stop here.
  std::optional<http::Response> enforce(http::Request& request, Route& route, auth::Identity& identity);
  http::Response challenge(const http::Request& request, const std::string& scope, const Status& why,
                           std::string_view error);

  registry::Registry& registry_;
  ApiOptions options_;
  Metrics metrics_;
  TagListCache tag_lists_;
};

// Handlers, one per resource (defined in the file named after it).
http::Dispatch handle_blob(registry::Registry& registry, http::Request& request, const Route& route);
// `external_url` (ApiOptions::external_url, which outlives every request) prefixes Location headers.
http::Dispatch handle_upload(registry::Registry& registry, http::Request& request, const Route& route,
                             std::string_view external_url);
// `downloads` (may be null) counts each GET of a manifest.
http::Dispatch handle_manifest(registry::Registry& registry, http::Request& request, const Route& route,
                               size_t max_manifest_bytes, std::string_view external_url,
                               packages::DownloadCounter* downloads);
http::Dispatch handle_tags(registry::Registry& registry, TagListCache& cache, http::Request& request,
                           const Route& route);
// The catalog, made on the blocking pool. `readable`: the page of names the caller may see (after,
// limit); empty function: every repository.
using CatalogPager = std::function<Result<registry::Page>(const std::string& after, size_t limit)>;
http::Dispatch handle_catalog(registry::Registry& registry, http::Request& request, CatalogPager readable);
http::Dispatch handle_token(auth::AccessControl& access, http::Request& request);
http::Response empty_referrers_index();
http::Dispatch handle_referrers(registry::Registry& registry, http::Request& request, const Route& route);

// Small helpers shared by the handlers.
http::Response empty_response(int status);
http::Dispatch method_not_allowed();
// Parses ?n= and ?last= for paginated listings; nullopt n means "no limit given".
struct PageQuery {
  std::optional<size_t> n;
  std::string last;
};
Result<PageQuery> parse_page_query(const http::Request& request);

}  // namespace berth::api
