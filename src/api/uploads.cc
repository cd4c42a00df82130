// POST /v2/<name>/blobs/uploads/ (start, monolithic, mount) and
// GET/PATCH/PUT/DELETE /v2/<name>/blobs/uploads/<id>
#include "api/distribution.h"
#include "api/errors.h"
#include "oci/name.h"
#include "oci/range.h"

namespace berth::api {

namespace {

// Locations are relative unless an external URL is configured (then absolute under it).
std::string upload_location(std::string_view external_url, const std::string& name, const std::string& id) {
  return std::string(external_url) + "/v2/" + name + "/blobs/uploads/" + id;
}

std::string range_value(uint64_t offset) { return "0-" + std::to_string(offset == 0 ? 0 : offset - 1); }

// Where an upload is and how far it got: on every answer about an upload session.
void set_upload_headers(http::Response& r, const registry::UploadState& state, std::string_view external_url) {
  r.headers.set("Location", upload_location(external_url, state.repository, state.id));
  r.headers.set("Docker-Upload-UUID", state.id);
  r.headers.set("Range", range_value(state.offset));
}

http::Response upload_accepted(const registry::UploadState& state, int status, std::string_view external_url) {
  http::Response r = empty_response(status);
  set_upload_headers(r, state, external_url);
  return r;
}

http::Response blob_created(const std::string& name, const oci::Digest& digest, std::string_view external_url) {
  http::Response r = empty_response(201);
  r.headers.set("Location", std::string(external_url) + "/v2/" + name + "/blobs/" + digest.str());
  r.headers.set("Docker-Content-Digest", digest.str());
  return r;
}

// Streams a request body into an upload; on a complete body optionally finishes the upload with a digest
// (PUT, monolithic POST). When the client goes away, what arrived is kept so the upload can resume.
class UploadSink final : public http::BodySink {
 public:
  UploadSink(registry::Registry& registry, std::unique_ptr<registry::UploadAppender> appender, std::string name,
             std::string id, std::optional<oci::Digest> complete_with, int accepted_status,
             std::string_view external_url)
      : registry_(registry),
        appender_(std::move(appender)),
        name_(std::move(name)),
        id_(std::move(id)),
        complete_with_(std::move(complete_with)),
        accepted_status_(accepted_status),
        external_url_(external_url) {}

  bool write(const char* data, size_t len) override {
    write_status_ = appender_->write(data, len);
    return write_status_.ok();
  }

  http::Response finish(bool complete) override {
    auto state = appender_->finish();
    if (!write_status_.ok()) return error_response(write_status_);
    if (!state.ok() && state.status().code() == Errc::range_invalid) {
      // Lost a race with another writer: tell the client where the upload really is.
      http::Response r = error_response(state.status());
      if (auto now = registry_.upload_status(name_, id_); now.ok()) set_upload_headers(r, *now, external_url_);
      return r;
    }
    if (!state.ok()) return error_response(state.status());
    if (!complete) return error_response(Errc::blob_upload_invalid, "request body incomplete");
    if (!complete_with_) return upload_accepted(*state, accepted_status_, external_url_);
    auto size = registry_.complete_upload(name_, id_, *complete_with_);
    if (!size.ok()) return error_response(size.status());
    return blob_created(name_, *complete_with_, external_url_);
  }

 private:
  registry::Registry& registry_;
  std::unique_ptr<registry::UploadAppender> appender_;
  std::string name_;
  std::string id_;
  std::optional<oci::Digest> complete_with_;
  int accepted_status_;
  std::string_view external_url_;  // ApiOptions::external_url: outlives the request
  Status write_status_;
};

// Checks Content-Range / Content-Length of a chunk against the upload's offset.
std::optional<http::Response> check_chunk(const http::Request& request, const registry::UploadState& state,
                                          std::string_view external_url) {
  auto content_range = request.headers.get("Content-Range");
  if (!content_range) return std::nullopt;
  auto range = oci::parse_content_range(*content_range);
  if (!range.ok() || range->first != state.offset) {
    http::Response r = error_response(Errc::range_invalid, range.ok() ? "chunk does not start at the upload's offset "
                                                                           + std::to_string(state.offset)
                                                                     : range.status().message());
    set_upload_headers(r, state, external_url);
    return r;
  }
  if (request.content_length && *request.content_length != range->length()) {
    return error_response(Errc::size_invalid, "Content-Length does not match Content-Range");
  }
  return std::nullopt;
}

http::Dispatch stream_into(registry::Registry& registry, const registry::UploadState& state,
                           std::optional<oci::Digest> complete_with, int accepted_status,
                           std::string_view external_url) {
  auto appender = registry.begin_append(state.repository, state.id);
  if (!appender.ok()) return http::Dispatch::respond(error_response(appender.status()));
  return http::Dispatch::stream_body(std::make_unique<UploadSink>(registry, std::move(*appender), state.repository,
                                                                  state.id, std::move(complete_with), accepted_status,
                                                                  external_url));
}

http::Dispatch start(registry::Registry& registry, http::Request& request, const Route& route,
                     std::string_view external_url) {
  if (request.method != "POST") return method_not_allowed();
  if (auto mount = request.query_param("mount")) {
    auto digest = oci::Digest::parse(*mount);
    if (!digest.ok()) return http::Dispatch::respond(error_response(digest.status()));
    std::string from = request.query_param("from").value_or("");
    if (!from.empty() && !oci::is_valid_repository_name(from)) {
      return http::Dispatch::respond(error_response(Errc::name_invalid, "invalid repository name in from"));
    }
    if (route.mount_allowed) {
      auto mounted = registry.mount_blob(route.name, *digest, from);
      if (!mounted.ok()) return http::Dispatch::respond(error_response(mounted.status()));
      if (*mounted) return http::Dispatch::respond(blob_created(route.name, *digest, external_url));
    }
    // Not mountable: the spec says to answer with a new upload session instead.
  }
  std::optional<oci::Digest> monolithic;
  if (auto digest_param = request.query_param("digest")) {
    auto digest = oci::Digest::parse(*digest_param);
    if (!digest.ok()) return http::Dispatch::respond(error_response(digest.status()));
    monolithic = *digest;
  }
  auto state = registry.start_upload(route.name, request.principal, request.remote_address);
  if (!state.ok()) return http::Dispatch::respond(error_response(state.status()));
  if (monolithic) return stream_into(registry, *state, monolithic, 202, external_url);
  return http::Dispatch::respond(upload_accepted(*state, 202, external_url));
}

}  // namespace

http::Dispatch handle_upload(registry::Registry& registry, http::Request& request, const Route& route,
                             std::string_view external_url) {
  if (route.kind == Route::Kind::upload_start) return start(registry, request, route, external_url);

  auto state = registry.upload_status(route.name, route.leaf);
  if (!state.ok()) return http::Dispatch::respond(error_response(state.status()));

  if (request.method == "GET" || request.method == "HEAD") {
    return http::Dispatch::respond(upload_accepted(*state, 204, external_url));
  }
  if (request.method == "DELETE") {
    Status s = registry.cancel_upload(route.name, route.leaf);
    if (!s.ok()) return http::Dispatch::respond(error_response(s));
    return http::Dispatch::respond(empty_response(204));
  }
  if (request.method == "PATCH") {
    if (auto bad = check_chunk(request, *state, external_url)) return http::Dispatch::respond(std::move(*bad));
    return stream_into(registry, *state, std::nullopt, 202, external_url);
  }
  if (request.method == "PUT") {
    auto digest_param = request.query_param("digest");
    if (!digest_param) {
      return http::Dispatch::respond(error_response(Errc::digest_invalid, "PUT needs ?digest= to finish an upload"));
    }
    auto digest = oci::Digest::parse(*digest_param);
    if (!digest.ok()) return http::Dispatch::respond(error_response(digest.status()));
    if (auto bad = check_chunk(request, *state, external_url)) return http::Dispatch::respond(std::move(*bad));
    return stream_into(registry, *state, *digest, 201, external_url);
  }
  return method_not_allowed();
}

}  // namespace berth::api
