// Shared vocabulary of the API tests: the fixture that reaches the shared server, fresh repository
// names, digests, and helpers that push blobs, images and referrers so a test can set up its state
// in a line and spend its assertions on the behaviour it is named after.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <thread>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/http_client.h"
#include "support/registry_process.h"

namespace berth::test {

namespace media {
inline constexpr const char* kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr const char* kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr const char* kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr const char* kOciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr const char* kOciEmpty = "application/vnd.oci.empty.v1+json";
inline constexpr const char* kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr const char* kDockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr const char* kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr const char* kDockerLayer = "application/vnd.docker.image.rootfs.diff.tar.gzip";
inline constexpr const char* kDockerSchema1Signed = "application/vnd.docker.distribution.manifest.v1+prettyjws";
inline constexpr const char* kBuildkitCacheConfig = "application/vnd.buildkit.cacheconfig.v0";
}  // namespace media

// "sha256:<hex>" of the bytes (OpenSSL, independent of the server's own code).
std::string sha256(std::string_view bytes);
// `n` bytes that differ from any other call's (so two tests never share a blob by accident).
std::string random_bytes(std::size_t n);
// A repository name no other test (or earlier run against an external registry) uses.
std::string unique_repo(std::string_view prefix);
// /v2/<repo>/blobs/<digest>.
std::string blob_url(const std::string& repo, const std::string& digest);
// The path of an upload Location with one more query parameter (the Location may already carry a query).
std::string with_query(const std::string& location, const std::string& parameter);

struct Descriptor {
  Descriptor() = default;
  Descriptor(std::string media_type, std::string digest, std::uint64_t size,
             std::optional<std::string> artifact_type = std::nullopt, nlohmann::json annotations = nullptr)
      : media_type(std::move(media_type)), digest(std::move(digest)), size(size),
        artifact_type(std::move(artifact_type)), annotations(std::move(annotations)) {}
  std::string media_type;
  std::string digest;
  std::uint64_t size = 0;
  std::optional<std::string> artifact_type;
  nlohmann::json annotations;  // null: none
  nlohmann::json to_json() const;
};

// {"errors":[{"code":code,…}]} with this status and a JSON Content-Type.
::testing::AssertionResult IsOciError(const Response& response, int status, std::string_view code);

// Polls `condition` every 10 ms until it holds (true) or `limit` has passed (false): for tests that wait
// for a state of the server instead of sleeping a fixed time.
template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// The server's berth_uploads_in_progress gauge (appends and commits running now), -1 if unreadable.
long uploads_in_progress(const HttpClient& http);

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override;
  // Fails the test whose requests killed the shared server, and starts a new one for the next tests.
  void TearDown() override;
  RegistryProcess& registry() { return *registry_; }
  // Points this test's helpers at another server than the shared one (one the test started itself).
  void use_registry(RegistryProcess& server) {
    registry_ = &server;
    client_.emplace(server.client());
  }
  HttpClient& client() { return *client_; }

  // Monolithic upload via POST + PUT?digest (the most widely supported form); asserts 201.
  std::string push_blob(const std::string& repo, std::string_view content);
  // PUT /v2/<repo>/manifests/<reference>; returns the response, asserts nothing.
  Response put_manifest(const std::string& repo, std::string_view reference, std::string_view media_type,
                        std::string_view body);

  // A one-layer OCI image with fresh content, pushed (blobs, then the manifest under `tag`,
  // or by digest when tag is empty). Asserts every step.
  struct Image {
    std::string manifest;  // the exact bytes pushed
    std::string digest;
    Descriptor descriptor;  // of the manifest, for indexes and subjects
    Descriptor config;
    Descriptor layer;
  };
  Image push_image(const std::string& repo, const std::string& tag = "");
  // An artifact manifest (empty config, artifactType, one blob layer) whose subject is `subject`.
  Image push_referrer(const std::string& repo, const Descriptor& subject, const std::string& artifact_type,
                      const nlohmann::json& annotations = nullptr);

  // Builds the JSON of an OCI image manifest from descriptors (not pushed).
  static std::string oci_manifest(const Descriptor& config, const std::vector<Descriptor>& layers,
                                  const std::optional<Descriptor>& subject = std::nullopt,
                                  const std::optional<std::string>& artifact_type = std::nullopt);

  // The empty config of artifacts: "{}" with its digest and size 2.
  Descriptor empty_config(const std::string& repo);

 private:
  RegistryProcess* registry_ = nullptr;
  std::optional<HttpClient> client_;
};

// Skips the current test when the suite runs against an external registry (no process to control).
#define SKIP_IF_EXTERNAL(registry)                                                       \
  do {                                                                                   \
    if ((registry).external()) GTEST_SKIP() << "needs a server started by the test";    \
  } while (0)

}  // namespace berth::test
