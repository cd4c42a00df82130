// The HTTP front of the registry: routes /v2/* (the OCI distribution API), /healthz, /readyz and
// /metrics to the handlers in this folder (one file per resource: blobs.cc, uploads.cc, manifests.cc,
// listings.cc, ops.cc) and maps every refusal to the spec's error body (errors.cc).
#pragma once

#include <functional>
#include <string>

#include "api/metrics.h"
#include "http/message.h"
#include "registry/registry.h"

namespace berth::api {

struct ApiOptions {
  bool access_log = true;
  size_t max_manifest_bytes = 4 * 1024 * 1024;
  // Extra readiness checks (backends reachable); empty means always ready.
  std::function<bool()> ready;
};

// What a /v2 path names, once the repository name has been split off.
struct Route {
  enum class Kind { not_found, base, catalog, tags, manifest, blob, upload_start, upload, referrers, healthz, readyz, metrics };
  Kind kind = Kind::not_found;
  std::string name;  // repository (validated by the router before any handler runs)
  std::string leaf;  // reference, digest or upload id
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
  registry::Registry& registry_;
  ApiOptions options_;
  Metrics metrics_;
};

// Handlers, one per resource (defined in the file named after it).
http::Dispatch handle_blob(registry::Registry& registry, http::Request& request, const Route& route);
http::Dispatch handle_upload(registry::Registry& registry, http::Request& request, const Route& route);
http::Dispatch handle_manifest(registry::Registry& registry, http::Request& request, const Route& route,
                               size_t max_manifest_bytes);
http::Dispatch handle_tags(registry::Registry& registry, http::Request& request, const Route& route);
http::Dispatch handle_catalog(registry::Registry& registry, http::Request& request);
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
