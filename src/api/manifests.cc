// GET/HEAD/PUT/DELETE /v2/<name>/manifests/<reference>
#include "api/distribution.h"
#include "api/errors.h"
#include "oci/name.h"

namespace berth::api {

http::Dispatch handle_manifest(registry::Registry& registry, http::Request& request, const Route& route,
                               size_t max_manifest_bytes, std::string_view external_url,
                               packages::DownloadCounter* downloads) {
  auto reference = oci::Reference::parse(route.leaf);
  const bool is_put = request.method == "PUT";
  if (!reference.ok()) {
    if (reference.status().code() == Errc::digest_invalid) {
      return http::Dispatch::respond(error_response(reference.status()));
    }
    // The spec has no tag error code: an invalid tag makes an invalid push, and names nothing to pull.
    return http::Dispatch::respond(
        error_response(is_put ? Errc::manifest_invalid : Errc::manifest_unknown, "invalid tag: " + route.leaf));
  }

  if (request.method == "GET" || request.method == "HEAD") {
    auto manifest = registry.get_manifest(route.name, *reference);
    if (!manifest.ok()) return http::Dispatch::respond(error_response(manifest.status()));
    http::Response r;
    r.headers.set("Content-Type", manifest->media_type);
    r.headers.set("Docker-Content-Digest", manifest->digest.str());
    r.headers.set("ETag", "\"" + manifest->digest.str() + "\"");
    if (request.method == "HEAD") {
      r.head_content_length = manifest->content.size();
    } else {
      // A pull: counted for the version whose top-level manifest this is (HEADs resolve, they do not pull).
      if (downloads) downloads->record(route.name, manifest->digest);
      r.body = std::move(manifest->content);
    }
    return http::Dispatch::respond(std::move(r));
  }

  if (request.method == "DELETE") {
    Status s = registry.delete_manifest(route.name, *reference);
    if (!s.ok()) return http::Dispatch::respond(error_response(s));
    return http::Dispatch::respond(empty_response(202));
  }

  if (is_put) {
    std::string name = route.name;
    oci::Reference ref = *reference;
    return http::Dispatch::read_body(max_manifest_bytes, [&registry, name, ref, external_url](http::Request& req) {
      std::string content_type(req.headers.get("Content-Type").value_or(""));
      auto result = registry.put_manifest(name, ref, content_type, req.body);
      if (!result.ok()) return error_response(result.status());
      http::Response r = empty_response(201);
      r.headers.set("Location", std::string(external_url) + "/v2/" + name + "/manifests/" + result->digest.str());
      r.headers.set("Docker-Content-Digest", result->digest.str());
      if (result->subject) r.headers.set("OCI-Subject", result->subject->str());
      return r;
    });
  }
  return method_not_allowed();
}

}  // namespace berth::api
