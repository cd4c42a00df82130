// GET/HEAD/DELETE /v2/<name>/blobs/<digest>
#include "api/distribution.h"
#include "api/errors.h"
#include "oci/range.h"

namespace berth::api {

namespace {
// Adapts a storage stream (object storage) to the HTTP layer's body source.
class StreamBody final : public http::BodySource {
 public:
  explicit StreamBody(std::unique_ptr<storage::ByteSource> source) : source_(std::move(source)) {}
  long read(char* buffer, size_t capacity) override {
    auto n = source_->read(buffer, capacity);
    return n.ok() ? static_cast<long>(*n) : -1;
  }

 private:
  std::unique_ptr<storage::ByteSource> source_;
};
}  // namespace

http::Dispatch handle_blob(registry::Registry& registry, http::Request& request, const Route& route) {
  auto digest = oci::Digest::parse(route.leaf);
  if (!digest.ok()) return http::Dispatch::respond(error_response(digest.status()));

  if (request.method == "DELETE") {
    Status s = registry.delete_blob(route.name, *digest);
    if (!s.ok()) return http::Dispatch::respond(error_response(s));
    return http::Dispatch::respond(empty_response(202));
  }
  if (request.method != "GET" && request.method != "HEAD") return method_not_allowed();

  auto size = registry.blob_size(route.name, *digest);
  if (!size.ok()) return http::Dispatch::respond(error_response(size.status()));

  http::Response r;
  r.headers.set("Content-Type", "application/octet-stream");
  r.headers.set("Docker-Content-Digest", digest->str());
  r.headers.set("Accept-Ranges", "bytes");
  r.headers.set("ETag", "\"" + digest->str() + "\"");
  // Content-addressed bytes never change.
  r.headers.set("Cache-Control", "max-age=31536000");

  if (request.method == "GET") {
    // The caller may read the blob (checked above): send it to object storage for the bytes.
    if (auto url = registry.blob_redirect(*digest)) {
      http::Response redirect = empty_response(307);
      redirect.headers.set("Location", *url);
      redirect.headers.set("Docker-Content-Digest", digest->str());
      return http::Dispatch::respond(std::move(redirect));
    }
  }

  uint64_t offset = 0, length = *size;
  if (auto range_header = request.headers.get("Range")) {
    auto range = oci::parse_range_header(*range_header, *size);
    if (!range.ok()) {
      http::Response bad = error_response(Errc::range_invalid, range.status().message());
      bad.headers.set("Content-Range", "bytes */" + std::to_string(*size));
      return http::Dispatch::respond(std::move(bad));
    }
    offset = range->first;
    length = range->length();
    r.status = 206;
    r.headers.set("Content-Range",
                  "bytes " + std::to_string(range->first) + "-" + std::to_string(range->last) + "/" + std::to_string(*size));
  }

  if (request.method == "HEAD") {
    r.head_content_length = length;
    return http::Dispatch::respond(std::move(r));
  }
  if (length == 0) return http::Dispatch::respond(std::move(r));
  auto blob = registry.open_blob(route.name, *digest, offset, length);
  if (!blob.ok()) return http::Dispatch::respond(error_response(blob.status()));
  r.file_length = blob->length();
  if (blob->fd() >= 0) {
    r.file_offset = blob->offset();
    r.file_fd = blob->release_fd();
  } else {
    r.source = std::make_unique<StreamBody>(blob->take_stream());
  }
  return http::Dispatch::respond(std::move(r));
}

}  // namespace berth::api
