#include "oci/manifest.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace berth::oci {
namespace {

using json = nlohmann::json;

const std::string kDigestA = "sha256:" + std::string(64, 'a');
const std::string kDigestB = "sha256:" + std::string(64, 'b');
const std::string kDigestC = "sha256:" + std::string(64, 'c');
const std::string kDigestD = "sha512:" + std::string(128, 'd');

constexpr char kOciConfig[] = "application/vnd.oci.image.config.v1+json";
constexpr char kOciLayer[] = "application/vnd.oci.image.layer.v1.tar+gzip";
constexpr char kDockerConfig[] = "application/vnd.docker.container.image.v1+json";
constexpr char kDockerLayer[] = "application/vnd.docker.image.rootfs.diff.tar.gzip";

json descriptor(std::string_view media_type, const std::string& digest, int64_t size) {
  return {{"mediaType", media_type}, {"digest", digest}, {"size", size}};
}

json oci_image() {
  return {{"schemaVersion", 2},
          {"mediaType", media_type::kOciManifest},
          {"config", descriptor(kOciConfig, kDigestA, 123)},
          {"layers", json::array({descriptor(kOciLayer, kDigestB, 456), descriptor(kOciLayer, kDigestD, 789)})}};
}

json oci_index() {
  json platform = {{"architecture", "amd64"}, {"os", "linux"}};
  json child = descriptor(media_type::kOciManifest, kDigestA, 500);
  child["platform"] = platform;
  return {{"schemaVersion", 2},
          {"mediaType", media_type::kOciIndex},
          {"manifests", json::array({child, descriptor(media_type::kOciManifest, kDigestB, 600)})}};
}

::testing::AssertionResult FailsWith(const Result<ParsedManifest>& r, Errc code, std::string_view needle = "") {
  if (r.ok()) return ::testing::AssertionFailure() << "unexpectedly accepted";
  if (r.status().code() != code) {
    return ::testing::AssertionFailure() << "wrong code " << static_cast<int>(r.status().code()) << ": "
                                         << r.status().message();
  }
  if (r.status().message().find(needle) == std::string::npos) {
    return ::testing::AssertionFailure() << "message \"" << r.status().message() << "\" lacks \"" << needle << "\"";
  }
  return ::testing::AssertionSuccess();
}

Result<ParsedManifest> parse(const json& body, std::string_view content_type = "") {
  return parse_manifest(content_type, body.dump());
}

TEST(MediaTypes, SupportedAndIndexPredicates) {
  EXPECT_TRUE(is_supported_manifest_media_type(media_type::kOciManifest));
  EXPECT_TRUE(is_supported_manifest_media_type(media_type::kOciIndex));
  EXPECT_TRUE(is_supported_manifest_media_type(media_type::kDockerManifest));
  EXPECT_TRUE(is_supported_manifest_media_type(media_type::kDockerManifestList));
  EXPECT_FALSE(is_supported_manifest_media_type("application/vnd.docker.distribution.manifest.v1+prettyjws"));
  EXPECT_FALSE(is_supported_manifest_media_type(media_type::kOciEmptyJson));
  EXPECT_FALSE(is_supported_manifest_media_type(""));
  EXPECT_TRUE(is_index_media_type(media_type::kOciIndex));
  EXPECT_TRUE(is_index_media_type(media_type::kDockerManifestList));
  EXPECT_FALSE(is_index_media_type(media_type::kOciManifest));
  EXPECT_FALSE(is_index_media_type(media_type::kDockerManifest));
}

TEST(ParseManifest, OciImageManifestListsConfigThenLayersAsBlobs) {
  auto m = parse(oci_image(), media_type::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media_type::kOciManifest);
  EXPECT_FALSE(m->is_index);
  ASSERT_EQ(m->blobs.size(), 3u);
  EXPECT_EQ(m->blobs[0].media_type, kOciConfig);
  EXPECT_EQ(m->blobs[0].digest.str(), kDigestA);
  EXPECT_EQ(m->blobs[0].size, 123);
  EXPECT_EQ(m->blobs[1].digest.str(), kDigestB);
  EXPECT_EQ(m->blobs[2].digest.str(), kDigestD);
  EXPECT_EQ(m->blobs[2].digest.algorithm(), HashAlgorithm::sha512);
  EXPECT_TRUE(m->manifests.empty());
  EXPECT_FALSE(m->subject.has_value());
  EXPECT_EQ(m->annotations_json, "");
}

TEST(ParseManifest, ImageManifestWithoutArtifactTypeReportsConfigMediaType) {
  auto m = parse(oci_image());
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->artifact_type, std::optional<std::string>(kOciConfig));
}

TEST(ParseManifest, OciIndexListsChildManifests) {
  auto m = parse(oci_index(), media_type::kOciIndex);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media_type::kOciIndex);
  EXPECT_TRUE(m->is_index);
  ASSERT_EQ(m->manifests.size(), 2u);
  EXPECT_EQ(m->manifests[0].digest.str(), kDigestA);
  EXPECT_EQ(m->manifests[0].size, 500);
  EXPECT_EQ(m->manifests[1].digest.str(), kDigestB);
  EXPECT_TRUE(m->blobs.empty());
  EXPECT_FALSE(m->artifact_type.has_value());
}

TEST(ParseManifest, EmptyIndexIsValid) {
  json body = oci_index();
  body["manifests"] = json::array();
  auto m = parse(body, media_type::kOciIndex);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_TRUE(m->manifests.empty());
}

TEST(ParseManifest, DockerSchema2Manifest) {
  json body = {{"schemaVersion", 2},
               {"mediaType", media_type::kDockerManifest},
               {"config", descriptor(kDockerConfig, kDigestA, 1469)},
               {"layers", json::array({descriptor(kDockerLayer, kDigestB, 2811969)})}};
  auto m = parse(body, media_type::kDockerManifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media_type::kDockerManifest);
  EXPECT_FALSE(m->is_index);
  ASSERT_EQ(m->blobs.size(), 2u);
  EXPECT_EQ(m->blobs[0].media_type, kDockerConfig);
  EXPECT_EQ(m->blobs[1].size, 2811969);
}

TEST(ParseManifest, DockerManifestList) {
  json body = {{"schemaVersion", 2},
               {"mediaType", media_type::kDockerManifestList},
               {"manifests", json::array({descriptor(media_type::kDockerManifest, kDigestA, 528),
                                          descriptor(media_type::kDockerManifest, kDigestB, 529)})}};
  auto m = parse(body, media_type::kDockerManifestList);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media_type::kDockerManifestList);
  EXPECT_TRUE(m->is_index);
  EXPECT_EQ(m->manifests.size(), 2u);
}

TEST(ParseManifest, ArtifactWithArtifactTypeAndEmptyConfig) {
  json body = {{"schemaVersion", 2},
               {"mediaType", media_type::kOciManifest},
               {"artifactType", "application/vnd.example.sbom.v1"},
               {"config", descriptor(media_type::kOciEmptyJson, "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a", 2)},
               {"layers", json::array({descriptor("application/spdx+json", kDigestB, 10)})}};
  auto m = parse(body, media_type::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->artifact_type, std::optional<std::string>("application/vnd.example.sbom.v1"));
}

TEST(ParseManifest, ArtifactWithoutArtifactTypeUsesConfigMediaType) {
  json body = oci_image();
  body["config"] = descriptor("application/vnd.cncf.helm.config.v1+json", kDigestA, 10);
  auto m = parse(body, media_type::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->artifact_type, std::optional<std::string>("application/vnd.cncf.helm.config.v1+json"));
}

TEST(ParseManifest, OciManifestMayHaveNoLayers) {
  json body = oci_image();
  body["layers"] = json::array();
  auto m = parse(body, media_type::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->blobs.size(), 1u);
}

TEST(ParseManifest, IndexArtifactTypeOnlyWhenSet) {
  json body = oci_index();
  body["artifactType"] = "application/vnd.example.bundle";
  auto m = parse(body);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->artifact_type, std::optional<std::string>("application/vnd.example.bundle"));
}

TEST(ParseManifest, SubjectIsParsedForOciManifest) {
  json body = oci_image();
  body["subject"] = descriptor(media_type::kOciManifest, kDigestC, 1000);
  auto m = parse(body, media_type::kOciManifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_TRUE(m->subject.has_value());
  EXPECT_EQ(m->subject->digest.str(), kDigestC);
  EXPECT_EQ(m->subject->size, 1000);
  EXPECT_EQ(m->subject->media_type, media_type::kOciManifest);
  // The subject is not a blob of this manifest.
  EXPECT_EQ(m->blobs.size(), 3u);
}

TEST(ParseManifest, SubjectIsParsedForOciIndex) {
  json body = oci_index();
  body["subject"] = descriptor(media_type::kOciManifest, kDigestC, 1000);
  auto m = parse(body);
  ASSERT_TRUE(m.ok()) << m.status().message();
  ASSERT_TRUE(m->subject.has_value());
  EXPECT_EQ(m->subject->digest.str(), kDigestC);
}

TEST(ParseManifest, InvalidSubjectIsRejected) {
  json body = oci_image();
  body["subject"] = descriptor(media_type::kOciManifest, "sha256:nope", 1000);
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "subject.digest"));
  body["subject"] = "sha256:" + std::string(64, 'c');
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "subject"));
}

TEST(ParseManifest, SubjectOnDockerManifestIsIgnored) {
  json body = oci_image();
  body["mediaType"] = media_type::kDockerManifest;
  body["subject"] = descriptor(media_type::kOciManifest, kDigestC, 1000);
  auto m = parse(body);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_FALSE(m->subject.has_value());
}

TEST(ParseManifest, AnnotationsAreKeptAsCompactJson) {
  json body = oci_image();
  body["annotations"] = {{"org.opencontainers.image.created", "2024-01-01T00:00:00Z"}};
  body["layers"][0]["annotations"] = {{"org.opencontainers.image.title", "sbom.json"}};
  body["layers"][0]["artifactType"] = "application/spdx+json";
  auto m = parse(body);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->annotations_json, R"({"org.opencontainers.image.created":"2024-01-01T00:00:00Z"})");
  EXPECT_EQ(m->blobs[1].annotations_json, R"({"org.opencontainers.image.title":"sbom.json"})");
  EXPECT_EQ(m->blobs[1].artifact_type, std::optional<std::string>("application/spdx+json"));
  EXPECT_EQ(m->blobs[0].annotations_json, "");
  EXPECT_FALSE(m->blobs[0].artifact_type.has_value());
}

TEST(ParseManifest, NonObjectAnnotationsAreRejected) {
  json body = oci_image();
  body["annotations"] = json::array({"a"});
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "annotations must be an object"));
  body["annotations"] = {{"key", 1}};
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "annotations[\"key\"] must be a string"));
  body = oci_image();
  body["layers"][1]["annotations"] = "x";
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "layers[1].annotations"));
}

TEST(ParseManifest, ContentTypeParametersAreStripped) {
  auto m = parse(oci_image(), std::string(media_type::kOciManifest) + "; charset=utf-8");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media_type::kOciManifest);
}

TEST(ParseManifest, ContentTypeIsCaseInsensitive) {
  auto m = parse(oci_image(), "Application/VND.OCI.Image.Manifest.v1+JSON");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media_type::kOciManifest);
}

TEST(ParseManifest, ContentTypeAndBodyMediaTypeMismatchIsInvalid) {
  EXPECT_TRUE(FailsWith(parse(oci_image(), media_type::kDockerManifest), Errc::manifest_invalid, "does not match"));
  EXPECT_TRUE(FailsWith(parse(oci_index(), media_type::kOciManifest), Errc::manifest_invalid, "does not match"));
}

TEST(ParseManifest, ContentTypeDecidesWhenBodyHasNoMediaType) {
  json body = oci_image();
  body.erase("mediaType");
  auto m = parse(body, media_type::kDockerManifest);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media_type::kDockerManifest);
}

TEST(ParseManifest, BodyMediaTypeDecidesWithoutContentType) {
  json body = oci_index();
  body["mediaType"] = media_type::kDockerManifestList;
  auto m = parse(body, "");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media_type::kDockerManifestList);
  EXPECT_TRUE(m->is_index);
}

TEST(ParseManifest, InfersIndexOrManifestWithoutAnyMediaType) {
  json index = oci_index();
  index.erase("mediaType");
  auto i = parse(index);
  ASSERT_TRUE(i.ok()) << i.status().message();
  EXPECT_EQ(i->media_type, media_type::kOciIndex);
  EXPECT_TRUE(i->is_index);

  json image = oci_image();
  image.erase("mediaType");
  auto m = parse(image);
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->media_type, media_type::kOciManifest);
}

TEST(ParseManifest, UninferableBodyIsInvalid) {
  EXPECT_TRUE(FailsWith(parse(json{{"schemaVersion", 2}}), Errc::manifest_invalid, "media type"));
  EXPECT_TRUE(FailsWith(parse(json{{"schemaVersion", 2}, {"config", "x"}}), Errc::manifest_invalid, "media type"));
}

TEST(ParseManifest, DockerSchema1IsUnsupported) {
  json schema1 = {{"schemaVersion", 1}, {"name", "library/busybox"}, {"tag", "latest"},
                  {"fsLayers", json::array({{{"blobSum", kDigestA}}})}};
  EXPECT_TRUE(FailsWith(parse(schema1, "application/vnd.docker.distribution.manifest.v1+prettyjws"),
                        Errc::unsupported, "schema1"));
  EXPECT_TRUE(FailsWith(parse(schema1, "application/vnd.docker.distribution.manifest.v1+json"),
                        Errc::unsupported, "schema1"));
  // Without a declared type a schema1 body cannot be recognised as a manifest at all.
  EXPECT_TRUE(FailsWith(parse(schema1), Errc::manifest_invalid, "schemaVersion"));
}

TEST(ParseManifest, UnknownMediaTypeIsUnsupported) {
  EXPECT_TRUE(FailsWith(parse(oci_image(), "application/json"), Errc::unsupported, "application/json"));
  json body = oci_image();
  body["mediaType"] = "application/vnd.example.thing";
  EXPECT_TRUE(FailsWith(parse(body), Errc::unsupported, "application/vnd.example.thing"));
  // Unsupported is decided from the header before the body is read.
  EXPECT_TRUE(FailsWith(parse_manifest("text/plain", "not json"), Errc::unsupported));
}

TEST(ParseManifest, BadJsonIsInvalid) {
  for (std::string_view body : {"", "{", "{\"schemaVersion\": 2,}", "nul", "{\"a\":1} trailing", "\xff\xfe"}) {
    EXPECT_TRUE(FailsWith(parse_manifest(media_type::kOciManifest, body), Errc::manifest_invalid, "JSON"))
        << body;
  }
}

TEST(ParseManifest, InvalidUtf8InStringIsInvalid) {
  std::string body = oci_image().dump();
  body.insert(body.find("}") , ",\"x\":\"\xc3\x28\"");
  EXPECT_TRUE(FailsWith(parse_manifest(media_type::kOciManifest, body), Errc::manifest_invalid));
}

TEST(ParseManifest, NonObjectBodyIsInvalid) {
  EXPECT_TRUE(FailsWith(parse_manifest(media_type::kOciManifest, "[]"), Errc::manifest_invalid, "object"));
  EXPECT_TRUE(FailsWith(parse_manifest(media_type::kOciManifest, "2"), Errc::manifest_invalid, "object"));
  EXPECT_TRUE(FailsWith(parse_manifest("", "\"x\""), Errc::manifest_invalid, "object"));
}

TEST(ParseManifest, SchemaVersionMustBeTwo) {
  json body = oci_image();
  body.erase("schemaVersion");
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "schemaVersion is missing"));
  for (json v : {json(1), json(3), json("2"), json(2.0), json(nullptr), json::array({2})}) {
    body["schemaVersion"] = v;
    EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "schemaVersion")) << v.dump();
  }
}

TEST(ParseManifest, WrongFieldTypesAreInvalid) {
  json body = oci_image();
  body["mediaType"] = 5;
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "mediaType must be a string"));

  body = oci_image();
  body["layers"] = descriptor(kOciLayer, kDigestB, 1);
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "layers must be an array"));

  body = oci_image();
  body.erase("layers");
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "layers is missing"));

  body = oci_image();
  body.erase("config");
  EXPECT_TRUE(FailsWith(parse(body, media_type::kOciManifest), Errc::manifest_invalid, "config is missing"));

  body = oci_image();
  body["config"] = json::array();
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "config must be a descriptor"));

  body = oci_index();
  body["manifests"] = "sha256:x";
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "manifests must be an array"));

  body = oci_index();
  body["manifests"][1] = 7;
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "manifests[1] must be a descriptor"));

  body = oci_image();
  body["artifactType"] = json::object();
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "artifactType must be a string"));
}

TEST(ParseManifest, DescriptorFieldsAreChecked) {
  auto with_layer = [](json layer) {
    json body = oci_image();
    body["layers"][0] = std::move(layer);
    return parse(body);
  };
  json layer = descriptor(kOciLayer, kDigestB, 1);

  json missing_media_type = layer;
  missing_media_type.erase("mediaType");
  EXPECT_TRUE(FailsWith(with_layer(missing_media_type), Errc::manifest_invalid, "layers[0].mediaType is missing"));

  json media_type_number = layer;
  media_type_number["mediaType"] = 1;
  EXPECT_TRUE(FailsWith(with_layer(media_type_number), Errc::manifest_invalid, "layers[0].mediaType must be a string"));

  json missing_digest = layer;
  missing_digest.erase("digest");
  EXPECT_TRUE(FailsWith(with_layer(missing_digest), Errc::manifest_invalid, "layers[0].digest is missing"));

  json missing_size = layer;
  missing_size.erase("size");
  EXPECT_TRUE(FailsWith(with_layer(missing_size), Errc::manifest_invalid, "layers[0].size is missing"));

  json string_size = layer;
  string_size["size"] = "1";
  EXPECT_TRUE(FailsWith(with_layer(string_size), Errc::manifest_invalid, "layers[0].size must be an integer"));

  json float_size = layer;
  float_size["size"] = 1.5;
  EXPECT_TRUE(FailsWith(with_layer(float_size), Errc::manifest_invalid, "layers[0].size must be an integer"));

  json artifact_type_number = layer;
  artifact_type_number["artifactType"] = 3;
  EXPECT_TRUE(FailsWith(with_layer(artifact_type_number), Errc::manifest_invalid,
                        "layers[0].artifactType must be a string"));
}

TEST(ParseManifest, BadDescriptorDigestIsInvalidAndNamed) {
  json body = oci_image();
  body["layers"][1]["digest"] = "sha256:ABC";
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "layers[1].digest \"sha256:ABC\""));
  body = oci_image();
  body["config"]["digest"] = "md5:d41d8cd98f00b204e9800998ecf8427e";
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "config.digest"));
  body = oci_index();
  body["manifests"][0]["digest"] = 42;
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "manifests[0].digest must be a string"));
}

TEST(ParseManifest, NegativeOrOversizedSizeIsInvalid) {
  json body = oci_image();
  body["layers"][0]["size"] = -1;
  EXPECT_TRUE(FailsWith(parse(body), Errc::manifest_invalid, "layers[0].size must not be negative"));
  std::string text = oci_image().dump();
  size_t at = text.find("456");
  text.replace(at, 3, "18446744073709551615");
  EXPECT_TRUE(FailsWith(parse_manifest("", text), Errc::manifest_invalid, "layers[0].size is too large"));
}

TEST(ParseManifest, ZeroSizeIsValid) {
  json body = oci_image();
  body["layers"][0]["size"] = 0;
  EXPECT_TRUE(parse(body).ok());
}

TEST(ParseManifest, UnknownFieldsAreIgnored) {
  json body = oci_image();
  body["x-vendor"] = {{"nested", json::array({1, 2, 3})}};
  body["layers"][0]["urls"] = json::array({"https://example.com/layer"});
  EXPECT_TRUE(parse(body).ok());
}

TEST(ParseManifest, DeeplyNestedUnknownFieldDoesNotCrash) {
  std::string deep(100000, '[');
  deep += std::string(100000, ']');
  std::string body = R"({"schemaVersion":2,"config":{"mediaType":"m","digest":")" + kDigestA +
                     R"(","size":1},"layers":[],"x":)" + deep + "}";
  EXPECT_TRUE(parse_manifest("", body).ok());
  std::string bad_version = R"({"schemaVersion":)" + deep + "}";
  EXPECT_TRUE(FailsWith(parse_manifest("", bad_version), Errc::manifest_invalid, "schemaVersion"));
}

TEST(ParseManifest, IndexChildrenThatAreNotManifestsAreItsBlobs) {
  // BuildKit's default registry cache: an index of layers and the cache config, no manifests.
  json cache = {{"schemaVersion", 2},
                {"mediaType", media_type::kOciIndex},
                {"manifests", json::array({descriptor(kOciLayer, kDigestA, 10),
                                           descriptor("application/vnd.buildkit.cacheconfig.v0", kDigestB, 20),
                                           descriptor(media_type::kOciManifest, kDigestC, 30)})}};
  auto parsed = parse_manifest(media_type::kOciIndex, cache.dump());
  ASSERT_TRUE(parsed.ok()) << parsed.status().message();
  EXPECT_TRUE(parsed->is_index);
  ASSERT_EQ(parsed->blobs.size(), 2u);
  EXPECT_EQ(parsed->blobs[0].digest.str(), kDigestA);
  EXPECT_EQ(parsed->blobs[1].media_type, "application/vnd.buildkit.cacheconfig.v0");
  ASSERT_EQ(parsed->manifests.size(), 1u);
  EXPECT_EQ(parsed->manifests[0].digest.str(), kDigestC);
  // Older BuildKit writes the same as a Docker manifest list.
  cache["mediaType"] = media_type::kDockerManifestList;
  cache["manifests"][0]["mediaType"] = kDockerLayer;
  auto docker = parse_manifest(media_type::kDockerManifestList, cache.dump());
  ASSERT_TRUE(docker.ok()) << docker.status().message();
  EXPECT_EQ(docker->blobs.size(), 2u);
  EXPECT_EQ(docker->manifests.size(), 1u);
}

}  // namespace
}  // namespace berth::oci
