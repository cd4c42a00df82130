// Manifests: /v2/<name>/manifests/<reference> — push, pull, HEAD, delete, validation, media types.
#include "support/api_helpers.h"

namespace berth::test {
namespace {

// Valid JSON, but with whitespace no serializer would produce: the digest must be of these exact bytes.
std::string oddly_formatted(const nlohmann::json& j) { return " \n" + j.dump(3) + "\n\t \n"; }

class ManifestTest : public ApiTest {
 protected:
  std::string url(const std::string& repo, const std::string& reference) {
    return "/v2/" + repo + "/manifests/" + reference;
  }
  // Pulls by reference and checks the body is byte-identical, with matching headers.
  void expect_pull(const std::string& repo, const std::string& reference, const std::string& media_type,
                   const std::string& body) {
    auto response = client().get(url(repo, reference), {{"Accept", media_type}});
    ASSERT_EQ(response.status, 200) << reference << "\n" << response.describe();
    EXPECT_EQ(response.header("Content-Type"), media_type) << reference;
    EXPECT_EQ(response.header("Docker-Content-Digest"), sha256(body)) << reference;
    EXPECT_EQ(response.header("Content-Length"), std::to_string(body.size())) << reference;
    EXPECT_TRUE(response.body == body) << reference << ": body differs from what was pushed";
  }
  // Config and one layer pushed to `repo`, with these media types.
  std::pair<Descriptor, Descriptor> push_parts(const std::string& repo, const std::string& config_type,
                                               const std::string& layer_type) {
    auto config = nlohmann::json{{"nonce", sha256(random_bytes(8))}}.dump();
    auto layer = random_bytes(256);
    return {Descriptor(config_type, push_blob(repo, config), config.size()),
            Descriptor(layer_type, push_blob(repo, layer), layer.size())};
  }
};

TEST_F(ManifestTest, PushByTagReturns201WithLocationAndDigest) {
  auto repo = unique_repo("manifest");
  auto [config, layer] = push_parts(repo, media::kOciConfig, media::kOciLayer);
  auto body = oci_manifest(config, {layer});
  auto response = put_manifest(repo, "v1", media::kOciManifest, body);
  ASSERT_EQ(response.status, 201) << response.describe();
  EXPECT_EQ(response.header("Location"), url(repo, sha256(body)));
  EXPECT_EQ(response.header("Docker-Content-Digest"), sha256(body));
  EXPECT_FALSE(response.has_header("OCI-Subject"));
}

TEST_F(ManifestTest, PullByTagAndByDigestReturnsTheExactBytesPushed) {
  auto repo = unique_repo("manifest");
  auto [config, layer] = push_parts(repo, media::kOciConfig, media::kOciLayer);
  auto body = oddly_formatted(nlohmann::json::parse(oci_manifest(config, {layer})));
  ASSERT_EQ(put_manifest(repo, "odd", media::kOciManifest, body).status, 201);
  expect_pull(repo, "odd", media::kOciManifest, body);
  expect_pull(repo, sha256(body), media::kOciManifest, body);
}

TEST_F(ManifestTest, HeadReturnsTheHeadersWithoutBody) {
  auto repo = unique_repo("manifest");
  auto image = push_image(repo, "latest");
  for (const auto& reference : {std::string("latest"), image.digest}) {
    auto response = client().head(url(repo, reference), {{"Accept", media::kOciManifest}});
    ASSERT_EQ(response.status, 200) << response.describe();
    EXPECT_EQ(response.header("Content-Type"), media::kOciManifest);
    EXPECT_EQ(response.header("Docker-Content-Digest"), image.digest);
    EXPECT_EQ(response.header("Content-Length"), std::to_string(image.manifest.size()));
    EXPECT_TRUE(response.body.empty());
  }
}

TEST_F(ManifestTest, PushByDigestIsPullableByDigest) {
  auto repo = unique_repo("manifest");
  auto image = push_image(repo);  // pushed by digest
  expect_pull(repo, image.digest, media::kOciManifest, image.manifest);
}

TEST_F(ManifestTest, PushByDigestThatDoesNotMatchTheBodyIsRejected) {
  auto repo = unique_repo("manifest");
  auto [config, layer] = push_parts(repo, media::kOciConfig, media::kOciLayer);
  auto body = oci_manifest(config, {layer});
  auto response = put_manifest(repo, sha256(body + " "), media::kOciManifest, body);
  EXPECT_TRUE(IsOciError(response, 400, "DIGEST_INVALID"));
  EXPECT_EQ(client().head(url(repo, sha256(body + " "))).status, 404);
}

TEST_F(ManifestTest, MissingLayerIsManifestBlobUnknown) {
  auto repo = unique_repo("manifest");
  auto [config, layer] = push_parts(repo, media::kOciConfig, media::kOciLayer);
  Descriptor missing(media::kOciLayer, sha256(random_bytes(32)), 32);
  auto response = put_manifest(repo, "v1", media::kOciManifest, oci_manifest(config, {layer, missing}));
  EXPECT_TRUE(IsOciError(response, 400, "MANIFEST_BLOB_UNKNOWN"));
  EXPECT_EQ(client().head(url(repo, "v1")).status, 404);
}

TEST_F(ManifestTest, MissingConfigIsManifestBlobUnknown) {
  auto repo = unique_repo("manifest");
  auto [config, layer] = push_parts(repo, media::kOciConfig, media::kOciLayer);
  Descriptor missing(media::kOciConfig, sha256(random_bytes(32)), 32);
  EXPECT_TRUE(IsOciError(put_manifest(repo, "v1", media::kOciManifest, oci_manifest(missing, {layer})), 400,
                         "MANIFEST_BLOB_UNKNOWN"));
}

TEST_F(ManifestTest, LayerOnlyInAnotherRepositoryIsManifestBlobUnknown) {
  // Referencing a blob is a way to read it: only blobs linked into this repository count.
  auto repo = unique_repo("manifest");
  auto other = unique_repo("manifest-other");
  auto [config, layer] = push_parts(repo, media::kOciConfig, media::kOciLayer);
  auto foreign_bytes = random_bytes(64);
  Descriptor foreign(media::kOciLayer, push_blob(other, foreign_bytes), foreign_bytes.size());
  EXPECT_TRUE(IsOciError(put_manifest(repo, "v1", media::kOciManifest, oci_manifest(config, {foreign})), 400,
                         "MANIFEST_BLOB_UNKNOWN"));
}

TEST_F(ManifestTest, MalformedJsonIsManifestInvalid) {
  auto repo = unique_repo("manifest");
  EXPECT_TRUE(IsOciError(put_manifest(repo, "v1", media::kOciManifest, "{\"schemaVersion\": 2, \"config\": "), 400,
                         "MANIFEST_INVALID"));
}

TEST_F(ManifestTest, JsonThatIsNotAManifestIsManifestInvalid) {
  auto repo = unique_repo("manifest");
  EXPECT_TRUE(IsOciError(put_manifest(repo, "v1", media::kOciManifest, R"({"schemaVersion":2,"layers":"nope"})"),
                         400, "MANIFEST_INVALID"));
  EXPECT_TRUE(IsOciError(put_manifest(repo, "v2", media::kOciManifest, "[1,2,3]"), 400, "MANIFEST_INVALID"));
}

TEST_F(ManifestTest, ManifestOver4MiBIs413) {
  auto repo = unique_repo("manifest");
  auto [config, layer] = push_parts(repo, media::kOciConfig, media::kOciLayer);
  auto j = nlohmann::json::parse(oci_manifest(config, {layer}));
  j["annotations"] = {{"padding", std::string(4 * 1024 * 1024, 'a')}};
  auto response = put_manifest(repo, "huge", media::kOciManifest, j.dump());
  EXPECT_TRUE(IsOciError(response, 413, "MANIFEST_INVALID"));
}

TEST_F(ManifestTest, ManifestJustUnder4MiBIsAccepted) {
  // The limit is the spec's 4 MiB, not an HTTP library's default (Beast's is 1 MB).
  auto repo = unique_repo("manifest");
  auto [config, layer] = push_parts(repo, media::kOciConfig, media::kOciLayer);
  auto j = nlohmann::json::parse(oci_manifest(config, {layer}));
  j["annotations"] = {{"padding", std::string(4 * 1024 * 1024 - 4096, 'a')}};
  auto body = j.dump();
  ASSERT_LT(body.size(), 4u * 1024 * 1024);
  auto response = put_manifest(repo, "big", media::kOciManifest, body);
  ASSERT_EQ(response.status, 201) << response.describe();
  expect_pull(repo, "big", media::kOciManifest, body);
}

TEST_F(ManifestTest, DockerSchema1IsUnsupported) {
  auto repo = unique_repo("manifest");
  nlohmann::json schema1 = {{"schemaVersion", 1}, {"name", repo}, {"tag", "old"}, {"architecture", "amd64"},
                            {"fsLayers", nlohmann::json::array()}, {"history", nlohmann::json::array()}};
  EXPECT_TRUE(IsOciError(put_manifest(repo, "old", media::kDockerSchema1Signed, schema1.dump()), 415, "UNSUPPORTED"));
}

TEST_F(ManifestTest, UnknownTagAndDigestAreManifestUnknown) {
  auto repo = unique_repo("manifest");
  push_image(repo, "exists");
  EXPECT_TRUE(IsOciError(client().get(url(repo, "missing")), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(IsOciError(client().get(url(repo, sha256(random_bytes(8)))), 404, "MANIFEST_UNKNOWN"));
  auto head = client().head(url(repo, "missing"));
  EXPECT_EQ(head.status, 404);
  EXPECT_TRUE(head.body.empty());
}

TEST_F(ManifestTest, RetaggingMovesTheTag) {
  auto repo = unique_repo("manifest");
  push_image(repo, "moving");
  auto second = push_image(repo, "moving");
  expect_pull(repo, "moving", media::kOciManifest, second.manifest);
}

TEST_F(ManifestTest, DeleteByDigestRemovesTheManifestAndItsTags) {
  auto repo = unique_repo("manifest");
  auto image = push_image(repo, "a");
  ASSERT_EQ(put_manifest(repo, "b", media::kOciManifest, image.manifest).status, 201);
  push_image(repo, "keep");  // so the repository still exists afterwards
  auto response = client().del(url(repo, image.digest));
  EXPECT_EQ(response.status, 202) << response.describe();
  EXPECT_TRUE(IsOciError(client().get(url(repo, image.digest)), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(IsOciError(client().get(url(repo, "a")), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(IsOciError(client().get(url(repo, "b")), 404, "MANIFEST_UNKNOWN"));
  auto tags = client().get("/v2/" + repo + "/tags/list").json();
  EXPECT_EQ(tags["tags"], nlohmann::json::array({"keep"})) << tags.dump();
}

TEST_F(ManifestTest, DeleteByTagRemovesOnlyTheTag) {
  auto repo = unique_repo("manifest");
  auto image = push_image(repo, "gone");
  auto response = client().del(url(repo, "gone"));
  EXPECT_EQ(response.status, 202) << response.describe();
  EXPECT_TRUE(IsOciError(client().get(url(repo, "gone")), 404, "MANIFEST_UNKNOWN"));
  expect_pull(repo, image.digest, media::kOciManifest, image.manifest);
}

TEST_F(ManifestTest, DeleteOfUnknownManifestIsManifestUnknown) {
  auto repo = unique_repo("manifest");
  push_image(repo, "exists");
  EXPECT_TRUE(IsOciError(client().del(url(repo, sha256(random_bytes(8)))), 404, "MANIFEST_UNKNOWN"));
}

TEST_F(ManifestTest, OciIndexOfManifestsInTheRepository) {
  auto repo = unique_repo("manifest");
  auto amd64 = push_image(repo);
  auto arm64 = push_image(repo);
  auto child = [](const Image& image, const char* arch) {
    auto j = image.descriptor.to_json();
    j["platform"] = {{"architecture", arch}, {"os", "linux"}};
    return j;
  };
  nlohmann::json index = {{"schemaVersion", 2}, {"mediaType", media::kOciIndex},
                          {"manifests", {child(amd64, "amd64"), child(arm64, "arm64")}}};
  auto body = oddly_formatted(index);
  auto response = put_manifest(repo, "multi", media::kOciIndex, body);
  ASSERT_EQ(response.status, 201) << response.describe();
  EXPECT_EQ(response.header("Docker-Content-Digest"), sha256(body));
  expect_pull(repo, "multi", media::kOciIndex, body);
}

TEST_F(ManifestTest, IndexWithUnknownChildIsManifestBlobUnknown) {
  auto repo = unique_repo("manifest");
  auto known = push_image(repo);
  Descriptor unknown(media::kOciManifest, sha256(random_bytes(8)), 500);
  nlohmann::json index = {{"schemaVersion", 2}, {"mediaType", media::kOciIndex},
                          {"manifests", {known.descriptor.to_json(), unknown.to_json()}}};
  EXPECT_TRUE(IsOciError(put_manifest(repo, "multi", media::kOciIndex, index.dump()), 400, "MANIFEST_BLOB_UNKNOWN"));
}

TEST_F(ManifestTest, DockerSchema2ManifestAndManifestList) {
  auto repo = unique_repo("manifest");
  auto [config, layer] = push_parts(repo, media::kDockerConfig, media::kDockerLayer);
  nlohmann::json manifest = {{"schemaVersion", 2}, {"mediaType", media::kDockerManifest},
                             {"config", config.to_json()}, {"layers", {layer.to_json()}}};
  auto manifest_body = oddly_formatted(manifest);
  auto pushed = put_manifest(repo, "docker", media::kDockerManifest, manifest_body);
  ASSERT_EQ(pushed.status, 201) << pushed.describe();
  expect_pull(repo, "docker", media::kDockerManifest, manifest_body);

  nlohmann::json list = {
      {"schemaVersion", 2},
      {"mediaType", media::kDockerList},
      {"manifests",
       {{{"mediaType", media::kDockerManifest}, {"digest", sha256(manifest_body)}, {"size", manifest_body.size()},
         {"platform", {{"architecture", "amd64"}, {"os", "linux"}}}}}}};
  auto list_body = list.dump(2);
  auto listed = put_manifest(repo, "docker-list", media::kDockerList, list_body);
  ASSERT_EQ(listed.status, 201) << listed.describe();
  expect_pull(repo, "docker-list", media::kDockerList, list_body);
}

TEST_F(ManifestTest, ArtifactWithEmptyConfigAndArtifactType) {
  auto repo = unique_repo("manifest");
  auto config = empty_config(repo);
  EXPECT_EQ(config.digest, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
  auto payload = random_bytes(100);
  Descriptor blob("application/vnd.example.sbom+json", push_blob(repo, payload), payload.size());
  auto body = oci_manifest(config, {blob}, std::nullopt, "application/vnd.example.sbom");
  auto response = put_manifest(repo, "sbom", media::kOciManifest, body);
  ASSERT_EQ(response.status, 201) << response.describe();
  EXPECT_FALSE(response.has_header("OCI-Subject"));
  expect_pull(repo, "sbom", media::kOciManifest, body);
}

TEST_F(ManifestTest, ManifestWithSubjectAnswersOciSubject) {
  auto repo = unique_repo("manifest");
  auto subject = push_image(repo, "app");
  auto config = empty_config(repo);
  auto payload = random_bytes(100);
  Descriptor blob("application/vnd.example.sig", push_blob(repo, payload), payload.size());
  auto body = oci_manifest(config, {blob}, subject.descriptor, "application/vnd.example.sig");
  auto response = put_manifest(repo, sha256(body), media::kOciManifest, body);
  ASSERT_EQ(response.status, 201) << response.describe();
  EXPECT_EQ(response.header("OCI-Subject"), subject.digest);
}

TEST_F(ManifestTest, SubjectNeedNotExistYet) {
  // The spec lets a referrer be pushed before its subject (signing pipelines do it).
  auto repo = unique_repo("manifest");
  auto config = empty_config(repo);
  Descriptor absent(media::kOciManifest, sha256(random_bytes(8)), 1234);
  auto body = oci_manifest(config, {config}, absent, "application/vnd.example.sig");
  auto response = put_manifest(repo, sha256(body), media::kOciManifest, body);
  ASSERT_EQ(response.status, 201) << response.describe();
  EXPECT_EQ(response.header("OCI-Subject"), absent.digest);
}

TEST_F(ManifestTest, BuildkitCacheManifest) {
  // BuildKit's registry cache (image-manifest=true): an OCI manifest with its own config media type.
  auto repo = unique_repo("manifest");
  auto [config, layer] = push_parts(repo, media::kBuildkitCacheConfig, "application/vnd.oci.image.layer.v1.tar+gzip");
  auto j = nlohmann::json::parse(oci_manifest(config, {layer}));
  j["layers"][0]["annotations"] = {{"buildkit/createdat", "2024-01-01T00:00:00Z"},
                                   {"containerd.io/uncompressed", sha256("x")}};
  auto body = j.dump();
  auto response = put_manifest(repo, "buildcache", media::kOciManifest, body);
  ASSERT_EQ(response.status, 201) << response.describe();
  expect_pull(repo, "buildcache", media::kOciManifest, body);
}

TEST_F(ManifestTest, BuildkitCacheIndexOfLayerBlobs) {
  // BuildKit's default registry cache: an OCI index whose children are the cache's layer blobs and its
  // cache config, not manifests. Its blobs must exist in the repository with the sizes it gives.
  auto repo = unique_repo("manifest");
  auto [config, layer] = push_parts(repo, media::kBuildkitCacheConfig, "application/vnd.oci.image.layer.v1.tar+gzip");
  auto second = random_bytes(300);
  Descriptor layer2("application/vnd.oci.image.layer.v1.tar+gzip", push_blob(repo, second), second.size());
  auto index = [&](std::vector<Descriptor> children) {
    nlohmann::json manifests = nlohmann::json::array();
    for (const auto& d : children) manifests.push_back(d.to_json());
    manifests[0]["annotations"] = {{"buildkit/createdat", "2024-01-01T00:00:00Z"}};
    return nlohmann::json{{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", manifests}}.dump();
  };
  const std::string body = index({layer, layer2, config});
  auto response = put_manifest(repo, "buildcache", media::kOciIndex, body);
  ASSERT_EQ(response.status, 201) << response.describe();
  expect_pull(repo, "buildcache", media::kOciIndex, body);
  EXPECT_EQ(client().get(blob_url(repo, layer2.digest)).status, 200);

  Descriptor missing("application/vnd.oci.image.layer.v1.tar+gzip", sha256(random_bytes(8)), 12);
  EXPECT_TRUE(IsOciError(put_manifest(repo, "broken", media::kOciIndex, index({layer, missing, config})), 400,
                         "MANIFEST_BLOB_UNKNOWN"));
  Descriptor wrong_size = layer2;
  wrong_size.size += 1;
  EXPECT_TRUE(IsOciError(put_manifest(repo, "broken", media::kOciIndex, index({layer, wrong_size, config})), 400,
                         "MANIFEST_INVALID"));
  EXPECT_EQ(client().get(url(repo, "broken")).status, 404);
}

}  // namespace
}  // namespace berth::test
