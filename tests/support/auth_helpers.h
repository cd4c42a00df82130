// Helpers of the auth tests: credentials as HTTP headers, JWT pieces (decoded without a signature check:
// the tests look at what the server granted, the server is what verifies), and pushes made with given
// credentials (the ApiTest helpers push anonymously, for servers with authentication off).
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "common/base64.h"
#include "support/api_helpers.h"
#include "support/http_client.h"

namespace berth::test {

using berth::base64_encode;
using berth::base64url_encode;                        // no padding, as in JWTs
std::string base64url_decode(std::string_view text);  // common/base64's, throwing std::invalid_argument when malformed

// {"Authorization": "Basic base64(user:secret)"}; no header at all when user is empty (anonymous).
Headers basic_auth(const std::string& user, const std::string& secret);
Headers bearer_auth(const std::string& token);

// The three dot-separated parts of a JWT; header and payload decoded as JSON.
struct JwtParts {
  nlohmann::json header;
  nlohmann::json payload;
  std::string signing_input;  // "header.payload" as sent
  std::string signature;      // base64url text as sent
};
JwtParts split_jwt(const std::string& token);

// What a `Bearer realm=…` challenge must say for this server and scope (no error attribute).
std::string expected_challenge(const HttpClient& client, const std::string& scope);

// Pushes with the given credentials, asserting every step succeeds; for setting up state.
std::string push_blob_as(const HttpClient& client, const Headers& auth, const std::string& repo,
                         std::string_view content);
struct PushedImage {
  std::string manifest;
  std::string digest;
  std::string layer_digest;
};
// A fresh one-layer OCI image (config and layer pushed, then the manifest under `reference`: a tag, or
// the manifest's digest when empty).
PushedImage push_image_as(const HttpClient& client, const Headers& auth, const std::string& repo,
                          const std::string& reference = "");

}  // namespace berth::test
