#include "support/api_helpers.h"

#include <openssl/evp.h>

#include <atomic>
#include <cstdio>
#include <random>

namespace berth::test {

std::string sha256(std::string_view bytes) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), md, &len, EVP_sha256(), nullptr);
  std::string out = "sha256:";
  char hex[3];
  for (unsigned int i = 0; i < len; ++i) {
    std::snprintf(hex, sizeof(hex), "%02x", md[i]);
    out += hex;
  }
  return out;
}

namespace {
std::mt19937_64& rng() {
  static std::mt19937_64 engine{std::random_device{}()};
  return engine;
}
}  // namespace

std::string random_bytes(std::size_t n) {
  std::string out(n, '\0');
  for (auto& c : out) c = static_cast<char>(rng()() & 0xff);
  return out;
}

std::string unique_repo(std::string_view prefix) {
  char suffix[17];
  std::snprintf(suffix, sizeof(suffix), "%016llx", static_cast<unsigned long long>(rng()()));
  return "apitest/" + std::string(prefix) + "-" + suffix;
}

std::string blob_url(const std::string& repo, const std::string& digest) {
  return "/v2/" + repo + "/blobs/" + digest;
}

std::string with_query(const std::string& location, const std::string& parameter) {
  return path_of(location) + (location.find('?') == std::string::npos ? "?" : "&") + parameter;
}

nlohmann::json Descriptor::to_json() const {
  nlohmann::json j = {{"mediaType", media_type}, {"digest", digest}, {"size", size}};
  if (artifact_type) j["artifactType"] = *artifact_type;
  if (!annotations.is_null()) j["annotations"] = annotations;
  return j;
}

::testing::AssertionResult IsOciError(const Response& response, int status, std::string_view code) {
  auto failure = [&](const std::string& why) {
    return ::testing::AssertionFailure() << why << " (wanted " << status << " " << code << ")\n"
                                         << response.describe();
  };
  if (response.status != status) return failure("status " + std::to_string(response.status));
  auto content_type = response.header("Content-Type");
  if (content_type.rfind("application/json", 0) != 0) return failure("Content-Type '" + content_type + "'");
  auto doc = response.json();
  if (!doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array() || doc["errors"].empty()) {
    return failure("no errors array");
  }
  for (const auto& error : doc["errors"]) {
    if (!error.is_object() || !error.contains("code") || !error.contains("message")) {
      return failure("error without code and message");
    }
  }
  if (response.error_code() != code) return failure("code " + response.error_code());
  return ::testing::AssertionSuccess();
}

void ApiTest::SetUp() {
  try {
    registry_ = &RegistryProcess::shared();
  } catch (const std::exception& e) {
    FAIL() << "could not start the registry: " << e.what();
  }
  client_.emplace(registry_->client());
}

void ApiTest::TearDown() {
  if (!registry_) return;
  int status = 0;
  if (!registry_->alive(&status)) {
    auto log = registry_->log();
    ADD_FAILURE() << "the server died during this test (wait status " << status << "); end of its log:\n"
                  << (log.size() > 4000 ? log.substr(log.size() - 4000) : log);
    try {
      registry_->start();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "could not restart the server: " << e.what();
    }
  }
}

std::string ApiTest::push_blob(const std::string& repo, std::string_view content) {
  auto digest = sha256(content);
  auto start = client().request("POST", "/v2/" + repo + "/blobs/uploads/");
  EXPECT_EQ(start.status, 202) << start.describe();
  auto location = start.header("Location");
  auto separator = location.find('?') == std::string::npos ? "?" : "&";
  auto done = client().request("PUT", location + separator + "digest=" + url_encode(digest),
                               {{"Content-Type", "application/octet-stream"}}, content);
  EXPECT_EQ(done.status, 201) << "pushing blob " << digest << " to " << repo << "\n" << done.describe();
  return digest;
}

Response ApiTest::put_manifest(const std::string& repo, std::string_view reference, std::string_view media_type,
                               std::string_view body) {
  return client().request("PUT", "/v2/" + repo + "/manifests/" + std::string(reference),
                          {{"Content-Type", std::string(media_type)}}, body);
}

std::string ApiTest::oci_manifest(const Descriptor& config, const std::vector<Descriptor>& layers,
                                  const std::optional<Descriptor>& subject,
                                  const std::optional<std::string>& artifact_type) {
  nlohmann::json j = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest}, {"config", config.to_json()}};
  if (artifact_type) j["artifactType"] = *artifact_type;
  j["layers"] = nlohmann::json::array();
  for (const auto& layer : layers) j["layers"].push_back(layer.to_json());
  if (subject) j["subject"] = subject->to_json();
  return j.dump();
}

Descriptor ApiTest::empty_config(const std::string& repo) {
  push_blob(repo, "{}");
  return Descriptor{media::kOciEmpty, sha256("{}"), 2};
}

ApiTest::Image ApiTest::push_image(const std::string& repo, const std::string& tag) {
  Image image;
  // The config carries random bytes so each image (and so each manifest digest) is unique.
  nlohmann::json config = {{"architecture", "amd64"}, {"os", "linux"},
                           {"config", {{"Labels", {{"nonce", sha256(random_bytes(16))}}}}}};
  auto config_bytes = config.dump();
  auto layer_bytes = random_bytes(1024);
  image.config = {media::kOciConfig, push_blob(repo, config_bytes), config_bytes.size()};
  image.layer = {media::kOciLayer, push_blob(repo, layer_bytes), layer_bytes.size()};
  image.manifest = oci_manifest(image.config, {image.layer});
  image.digest = sha256(image.manifest);
  image.descriptor = {media::kOciManifest, image.digest, image.manifest.size()};
  auto response = put_manifest(repo, tag.empty() ? image.digest : tag, media::kOciManifest, image.manifest);
  EXPECT_EQ(response.status, 201) << "pushing image to " << repo << ":" << tag << "\n" << response.describe();
  return image;
}

ApiTest::Image ApiTest::push_referrer(const std::string& repo, const Descriptor& subject,
                                      const std::string& artifact_type, const nlohmann::json& annotations) {
  Image artifact;
  artifact.config = empty_config(repo);
  auto payload = random_bytes(64);
  artifact.layer = {"application/octet-stream", push_blob(repo, payload), payload.size()};
  nlohmann::json j = nlohmann::json::parse(oci_manifest(artifact.config, {artifact.layer}, subject, artifact_type));
  if (!annotations.is_null()) j["annotations"] = annotations;
  artifact.manifest = j.dump();
  artifact.digest = sha256(artifact.manifest);
  artifact.descriptor = {media::kOciManifest, artifact.digest, artifact.manifest.size(), artifact_type,
                         annotations};
  auto response = put_manifest(repo, artifact.digest, media::kOciManifest, artifact.manifest);
  EXPECT_EQ(response.status, 201) << "pushing referrer\n" << response.describe();
  return artifact;
}

long uploads_in_progress(const HttpClient& http) {
  const std::string gauge = "\nberth_uploads_in_progress ";
  auto metrics = http.get("/metrics");
  auto at = metrics.body.find(gauge);
  if (metrics.status != 200 || at == std::string::npos) return -1;
  return std::strtol(metrics.body.c_str() + at + gauge.size(), nullptr, 10);
}

}  // namespace berth::test
