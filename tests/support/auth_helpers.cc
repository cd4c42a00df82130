#include "support/auth_helpers.h"

#include <gtest/gtest.h>

#include <stdexcept>

namespace berth::test {

std::string base64url_decode(std::string_view text) {
  auto out = berth::base64url_decode(text);
  if (!out) throw std::invalid_argument("not base64url: " + std::string(text));
  return *out;
}

Headers basic_auth(const std::string& user, const std::string& secret) {
  if (user.empty()) return {};
  return {{"Authorization", "Basic " + base64_encode(user + ":" + secret)}};
}

Headers bearer_auth(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

JwtParts split_jwt(const std::string& token) {
  auto first = token.find('.');
  auto second = token.find('.', first == std::string::npos ? first : first + 1);
  if (first == std::string::npos || second == std::string::npos) throw std::invalid_argument("not a JWT: " + token);
  JwtParts parts;
  parts.header = nlohmann::json::parse(base64url_decode(token.substr(0, first)));
  parts.payload = nlohmann::json::parse(base64url_decode(token.substr(first + 1, second - first - 1)));
  parts.signing_input = token.substr(0, second);
  parts.signature = token.substr(second + 1);
  return parts;
}

std::string expected_challenge(const HttpClient& client, const std::string& scope) {
  std::string header = "Bearer realm=\"http://" + client.host() + ":" + std::to_string(client.port()) +
                       "/token\",service=\"berth\"";
  if (!scope.empty()) header += ",scope=\"" + scope + "\"";
  return header;
}

std::string push_blob_as(const HttpClient& client, const Headers& auth, const std::string& repo,
                         std::string_view content) {
  auto digest = sha256(content);
  auto start = client.request("POST", "/v2/" + repo + "/blobs/uploads/", auth);
  EXPECT_EQ(start.status, 202) << "starting an upload to " << repo << "\n" << start.describe();
  auto location = start.header("Location");
  auto separator = location.find('?') == std::string::npos ? "?" : "&";
  Headers headers = auth;
  headers.emplace_back("Content-Type", "application/octet-stream");
  auto done = client.request("PUT", location + separator + "digest=" + url_encode(digest), headers, content);
  EXPECT_EQ(done.status, 201) << "pushing blob " << digest << " to " << repo << "\n" << done.describe();
  return digest;
}

PushedImage push_image_as(const HttpClient& client, const Headers& auth, const std::string& repo,
                          const std::string& reference) {
  // Random content in the config and the layer: every image, and so every digest, is new.
  nlohmann::json config = {{"architecture", "amd64"}, {"os", "linux"},
                           {"config", {{"Labels", {{"nonce", sha256(random_bytes(16))}}}}}};
  auto config_bytes = config.dump();
  auto layer_bytes = random_bytes(512);
  Descriptor config_desc{media::kOciConfig, push_blob_as(client, auth, repo, config_bytes), config_bytes.size()};
  Descriptor layer_desc{media::kOciLayer, push_blob_as(client, auth, repo, layer_bytes), layer_bytes.size()};
  PushedImage image;
  // ApiTest::oci_manifest is for its subclasses; this free function builds the same JSON itself.
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", media::kOciManifest},
                             {"config", config_desc.to_json()},
                             {"layers", nlohmann::json::array({layer_desc.to_json()})}};
  image.manifest = manifest.dump();
  image.digest = sha256(image.manifest);
  image.layer_digest = layer_desc.digest;
  Headers headers = auth;
  headers.emplace_back("Content-Type", media::kOciManifest);
  auto put = client.request("PUT", "/v2/" + repo + "/manifests/" + (reference.empty() ? image.digest : reference),
                            headers, image.manifest);
  EXPECT_EQ(put.status, 201) << "pushing a manifest to " << repo << "\n" << put.describe();
  return image;
}

}  // namespace berth::test
