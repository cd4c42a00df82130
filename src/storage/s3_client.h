// S3Client: signed S3 requests over libcurl, for S3BlobStore. Not a general S3 SDK: only what the blob
// store needs (object GET/PUT/HEAD/DELETE/copy, multipart uploads, listing by prefix, presigned GETs).
//
// Thread safety: every method may be called from any thread. Connections are reused through a pool of
// curl easy handles (each keeps its own connection cache).
// Errors: unavailable when the endpoint cannot be reached or answers 503; not_found for 404; io_error for
// other failures. Messages name the operation, the key and S3's error code — never a credential.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/blob_store.h"
#include "storage/sigv4.h"

namespace berth::storage {

struct S3Options {
  std::string endpoint;  // "https://s3.eu-west-1.amazonaws.com", "http://127.0.0.1:7480"
  std::string region = "us-east-1";
  std::string bucket;
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // temporary credentials only
  bool path_style = true;     // endpoint/bucket/key; false: bucket.endpoint/key (virtual-hosted: the
                              // bucket is in the Host header, so BUCKET.HOST must resolve to the server)
  bool verify_tls = true;
  std::string ca_file;        // PEM bundle to trust instead of the system's; empty: system default
  std::string prefix;         // key prefix for everything this store writes, e.g. "registry/"
  uint64_t part_size = 8ull << 20;  // multipart part size; at least 5 MiB (S3's minimum)
  long connect_timeout_ms = 5000;
  // A transfer slower than 1 byte/s for this long is abandoned: an idle timeout, not a total one, so
  // that a large copy or download is never cut off while it progresses.
  long idle_timeout_s = 60;
  size_t max_idle_connections = 16;
};

struct HttpResult {
  long status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // lowercased names
  std::string header(std::string_view lowercase_name) const;
};

// One entry of a ListObjectsV2 page.
struct S3Object {
  std::string key;
  uint64_t size = 0;
  int64_t last_modified = 0;  // Unix seconds
};
struct S3ObjectPage {
  std::vector<S3Object> objects;
  std::string next_token;  // continuation token of the next page; empty: this was the last page
};

// One entry of a ListMultipartUploads page.
struct S3MultipartUpload {
  std::string key;
  std::string upload_id;
  int64_t initiated = 0;  // Unix seconds
};
struct S3MultipartPage {
  std::vector<S3MultipartUpload> uploads;
  bool truncated = false;  // more follow: ask again with the two markers below
  std::string next_key_marker;
  std::string next_upload_id_marker;
};

class S3Client {
 public:
  // Validates the options (endpoint URL, bucket); does no I/O.
  static Result<std::unique_ptr<S3Client>> create(S3Options options);
  ~S3Client();
  S3Client(const S3Client&) = delete;

  const S3Options& options() const { return options_; }

  // One signed request with a body from memory. Any HTTP status is a successful Result: callers decide
  // what a status means; error_of() turns one into a Status. Transport failures are unavailable/io_error.
  Result<HttpResult> call(std::string_view method, const std::string& key, const sigv4::Params& query,
                          const sigv4::Params& headers = {}, std::string_view body = {});

  // Streams [offset, offset+length) of an object through a bounded buffer (length > 0).
  Result<std::unique_ptr<ByteSource>> get_range(const std::string& key, uint64_t offset, uint64_t length);

  // The URL a request for `key` goes to: endpoint/bucket/key with path_style, bucket.endpoint/key
  // (virtual-hosted) without. For diagnostics and tests; call() and get_range() use the same.
  std::string url(const std::string& key, const sigv4::Params& query = {}) const { return target(key, query).url; }

  // The x-amz-content-sha256 a request with `body` is signed with. Over plain HTTP, the body's SHA-256,
  // so that the server rejects bytes changed on the way. Over HTTPS, "UNSIGNED-PAYLOAD" (as AWS's SDKs
  // do): TLS already guarantees integrity, and hashing every multipart part a second time (the registry
  // hashes the whole blob for its digest anyway) would cost a core-second per ~2 GiB uploaded.
  std::string payload_hash(std::string_view body) const;

  // One page of ListObjectsV2: keys under `prefix` in ascending order, at most `max_keys` (1 to 1000).
  // `start_after` applies to a first page; later pages pass the previous page's next_token instead.
  Result<S3ObjectPage> list_objects(const std::string& prefix, const std::string& start_after,
                                    const std::string& continuation_token, size_t max_keys);
  // One page of ListMultipartUploads under `prefix`, by key then initiation, at most `max_uploads`
  // (1 to 1000), after the given markers (both empty: from the start). With only key_marker, AWS starts
  // after that key but radosgw includes its uploads: callers filter what they must not see twice.
  Result<S3MultipartPage> list_multipart_uploads(const std::string& prefix, const std::string& key_marker,
                                                 const std::string& upload_id_marker, size_t max_uploads);

  // Deletes objects with DeleteObjects, up to 1,000 keys per request (the S3 limit). Ok when every key is
  // gone afterwards, including keys that were already absent.
  static constexpr size_t kMaxDeleteKeys = 1000;
  Status delete_objects(const std::vector<std::string>& keys);

  // A presigned GET URL for the object, valid for `expires_seconds` from `now`.
  std::string presign_get(const std::string& key, uint64_t expires_seconds, std::time_t now);

  // The Status for an unexpected answer: 404 → not_found, 503 → unavailable, other → io_error; the
  // message holds `what`, the HTTP status and S3's <Code>.
  static Status error_of(const HttpResult& r, std::string_view what);

  // Curl handles: taken from and returned to the pool (internal use, and by streams).
  void* acquire_handle();
  void release_handle(void* handle);

 private:
  explicit S3Client(S3Options options) : options_(std::move(options)) {}
  struct Target {
    std::string url;
    std::string canonical_path;
    std::string host;
  };
  Target target(const std::string& key, const sigv4::Params& query) const;
  // Sets URL, method-independent options and the signed headers on a reset handle.
  void* prepare(void* curl, std::string_view method, const std::string& key, const sigv4::Params& query,
                const sigv4::Params& headers, const std::string& payload_hash);

  S3Options options_;
  std::string scheme_;     // "http" | "https"
  std::string authority_;  // host[:port] of the endpoint
  std::mutex mu_;
  std::vector<void*> idle_;
  friend class S3RangeStream;
};

// Text of the first <tag>…</tag> in an S3 XML answer, unescaped; empty if absent. All of them with
// xml_all. Enough for S3's flat answers; not a general XML parser.
std::string xml_first(std::string_view xml, std::string_view tag);
std::vector<std::string> xml_all(std::string_view xml, std::string_view tag);
std::string xml_escape(std::string_view text);
// The raw (still escaped) insides of every <tag>…</tag>, for repeated blocks such as <Contents>, each
// then read with xml_first.
std::vector<std::string_view> xml_blocks(std::string_view xml, std::string_view tag);
// An S3 timestamp ("2024-05-01T12:34:56.000Z", as in LastModified and Initiated) in Unix seconds.
std::optional<int64_t> parse_s3_time(std::string_view text);

}  // namespace berth::storage
