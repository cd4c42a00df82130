// AWS Signature Version 4, as S3 and S3-compatible servers (Ceph radosgw, MinIO) verify it.
//
// Pure functions, no I/O: every step (canonical request, string to sign, signing key, signature) is
// exposed so that tests can check each against AWS's published test vectors.
//
// Inputs are raw (unencoded) strings; this module does the encoding, once, as S3 expects. Other AWS
// services double-encode the path: not supported, not needed.
// Secrets are only ever inputs to HMAC: nothing here formats a secret into a string that is returned.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::storage::sigv4 {

inline constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";
inline constexpr std::string_view kUnsignedPayload = "UNSIGNED-PAYLOAD";
// sha256 of the empty string: the payload hash of every request without a body.
inline constexpr std::string_view kEmptyPayloadHash =
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // temporary credentials only; empty otherwise
};

using Params = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;   // "GET", "PUT", ...
  std::string path;     // raw: "/bucket/key with space"; encoded here, slashes kept
  Params query;         // raw names and values, any order, repeats allowed
  Params headers;       // every header to sign, any case and order; must include host
  std::string payload_hash;  // hex sha256 of the body, or kUnsignedPayload
};

// RFC 3986 percent-encoding of everything but the unreserved set A-Z a-z 0-9 - . _ ~ (uppercase hex);
// '/' is kept when encode_slash is false (paths).
std::string uri_encode(std::string_view s, bool encode_slash = true);

// "20150830T123600Z" for a UNIX time.
std::string amz_date(std::time_t t);

std::string canonical_uri(std::string_view path);
std::string canonical_query(const Params& query);
// Lowercased names, sorted; values trimmed with inner runs of spaces collapsed; repeated headers joined
// with ',' in their original order. Returns {canonical headers block, signed headers list}.
std::pair<std::string, std::string> canonical_headers(const Params& headers);
std::string canonical_request(const Request& request);

// "<date>/<region>/<service>/aws4_request"; date is the first 8 characters of amz_date.
std::string credential_scope(std::string_view amz_date, std::string_view region, std::string_view service);
std::string string_to_sign(std::string_view amz_date, std::string_view scope, std::string_view canonical_request);
// The raw 32-byte key derived from the secret for one day, region and service.
std::string signing_key(std::string_view secret_key, std::string_view amz_date, std::string_view region,
                        std::string_view service);
// Lowercase hex HMAC-SHA256 of the string to sign under the signing key.
std::string signature(std::string_view signing_key, std::string_view string_to_sign);

struct Signed {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  std::string authorization;  // the Authorization header value
};

// Signs a request whose headers already hold x-amz-date (= amz_date) and, for S3, x-amz-content-sha256.
Signed sign(const Request& request, const Credentials& credentials, std::string_view region,
            std::string_view service, std::string_view amz_date);

struct Presigned {
  std::string canonical_request;
  std::string string_to_sign;
  std::string signature;
  std::string query;  // the full query string to append after '?', X-Amz-Signature last
};

// Query-string authentication (a presigned URL): request.query gets the X-Amz-* parameters added, and
// request.headers name what is signed (at least host). payload_hash is normally kUnsignedPayload.
Presigned presign(const Request& request, const Credentials& credentials, std::string_view region,
                  std::string_view service, std::string_view amz_date, uint64_t expires_seconds);

}  // namespace berth::storage::sigv4
