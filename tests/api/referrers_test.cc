// The referrers API: /v2/<name>/referrers/<digest> (OCI distribution-spec v1.1).
#include <map>

#include "support/api_helpers.h"

namespace berth::test {
namespace {

class ReferrersTest : public ApiTest {
 protected:
  Response referrers(const std::string& repo, const std::string& digest, const std::string& query = "") {
    return client().get("/v2/" + repo + "/referrers/" + digest + query);
  }
  // The listed descriptors by digest (the order of the list is not specified).
  static std::map<std::string, nlohmann::json> by_digest(const nlohmann::json& index) {
    std::map<std::string, nlohmann::json> out;
    for (const auto& d : index["manifests"]) out[d["digest"].get<std::string>()] = d;
    return out;
  }
};

TEST_F(ReferrersTest, ListsReferrersAsAnImageIndexOfDescriptors) {
  auto repo = unique_repo("referrers");
  auto subject = push_image(repo, "app");
  auto sbom = push_referrer(repo, subject.descriptor, "application/vnd.example.sbom", {{"org.example.kind", "sbom"}});
  auto sig = push_referrer(repo, subject.descriptor, "application/vnd.example.signature",
                           {{"org.example.kind", "sig"}, {"org.opencontainers.image.created", "2024-05-01T00:00:00Z"}});

  auto response = referrers(repo, subject.digest);
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.header("Content-Type"), media::kOciIndex);
  auto index = response.json();
  EXPECT_EQ(index["schemaVersion"], 2);
  EXPECT_EQ(index["mediaType"], media::kOciIndex);
  auto listed = by_digest(index);
  ASSERT_EQ(listed.size(), 2u) << index.dump(2);
  for (const auto* artifact : {&sbom, &sig}) {
    ASSERT_TRUE(listed.count(artifact->digest)) << index.dump(2);
    const auto& d = listed[artifact->digest];
    EXPECT_EQ(d["mediaType"], media::kOciManifest);
    EXPECT_EQ(d["size"], artifact->manifest.size());
    EXPECT_EQ(d["artifactType"], *artifact->descriptor.artifact_type);
    EXPECT_EQ(d["annotations"], artifact->descriptor.annotations);
  }
}

TEST_F(ReferrersTest, FilterByArtifactTypeSaysItWasApplied) {
  auto repo = unique_repo("referrers");
  auto subject = push_image(repo, "app");
  auto sbom = push_referrer(repo, subject.descriptor, "application/vnd.example.sbom");
  push_referrer(repo, subject.descriptor, "application/vnd.example.signature");

  auto response = referrers(repo, subject.digest, "?artifactType=" + url_encode("application/vnd.example.sbom"));
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.header("OCI-Filters-Applied"), "artifactType");
  auto listed = by_digest(response.json());
  ASSERT_EQ(listed.size(), 1u) << response.body;
  EXPECT_TRUE(listed.count(sbom.digest));
}

TEST_F(ReferrersTest, ArtifactTypeFallsBackToTheConfigMediaType) {
  // Spec: a manifest without artifactType is listed with its config's mediaType as artifactType.
  auto repo = unique_repo("referrers");
  auto subject = push_image(repo, "app");
  auto config_bytes = std::string("{\"kind\":\"attestation\"}");
  Descriptor config("application/vnd.example.attestation.config+json", push_blob(repo, config_bytes),
                    config_bytes.size());
  auto layer_bytes = random_bytes(32);
  Descriptor layer("application/octet-stream", push_blob(repo, layer_bytes), layer_bytes.size());
  auto body = oci_manifest(config, {layer}, subject.descriptor);
  ASSERT_EQ(put_manifest(repo, sha256(body), media::kOciManifest, body).status, 201);

  auto listed = by_digest(referrers(repo, subject.digest).json());
  ASSERT_TRUE(listed.count(sha256(body)));
  EXPECT_EQ(listed[sha256(body)]["artifactType"], config.media_type);
}

TEST_F(ReferrersTest, UnknownSubjectHasAnEmptyList) {
  auto repo = unique_repo("referrers");
  push_image(repo, "app");
  auto response = referrers(repo, sha256(random_bytes(8)));
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.header("Content-Type"), media::kOciIndex);
  auto index = response.json();
  EXPECT_EQ(index["schemaVersion"], 2);
  EXPECT_EQ(index["manifests"], nlohmann::json::array()) << response.body;
}

TEST_F(ReferrersTest, ReferrersInAnotherRepositoryAreNotListed) {
  auto repo = unique_repo("referrers");
  auto other = unique_repo("referrers-other");
  auto subject = push_image(repo, "app");
  push_referrer(other, subject.descriptor, "application/vnd.example.sbom");
  auto response = referrers(repo, subject.digest);
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.json()["manifests"], nlohmann::json::array()) << response.body;
}

TEST_F(ReferrersTest, DeletedReferrerIsNoLongerListed) {
  auto repo = unique_repo("referrers");
  auto subject = push_image(repo, "app");
  auto kept = push_referrer(repo, subject.descriptor, "application/vnd.example.sbom");
  auto dropped = push_referrer(repo, subject.descriptor, "application/vnd.example.signature");
  ASSERT_EQ(client().del("/v2/" + repo + "/manifests/" + dropped.digest).status, 202);
  auto listed = by_digest(referrers(repo, subject.digest).json());
  EXPECT_EQ(listed.size(), 1u);
  EXPECT_TRUE(listed.count(kept.digest));
}

TEST_F(ReferrersTest, MalformedDigestIsDigestInvalid) {
  auto repo = unique_repo("referrers");
  push_image(repo, "app");
  EXPECT_TRUE(IsOciError(referrers(repo, "sha256:nothex"), 400, "DIGEST_INVALID"));
}

TEST_F(ReferrersTest, ATagSchemaSignatureJoinsItsImagesVersionButIsNoReferrer) {
  // cosign and containers/image store a signature as a manifest without subject, tagged
  // sha256-<hex of the image>.sig: it belongs to the image's version, and goes and comes back with it.
  auto repo = unique_repo("tagschema");
  auto image = push_image(repo, "v1");
  const std::string sig_tag = "sha256-" + image.digest.substr(7) + ".sig";
  auto signature = push_image(repo, sig_tag);
  auto lonely = push_image(repo, "sha256-" + std::string(64, 'e') + ".sig");  // names no manifest here

  const std::string owner = repo.substr(0, repo.find('/'));
  const std::string versions_path =
      "/api/v3/users/" + owner + "/packages/container/" + url_encode(repo.substr(repo.find('/') + 1)) + "/versions";
  auto versions = client().get(versions_path).json();
  std::map<std::string, nlohmann::json> by_name;
  for (const auto& v : versions) by_name[v["name"].get<std::string>()] = v;
  EXPECT_EQ(by_name.size(), 2u) << versions.dump(2);
  EXPECT_FALSE(by_name.count(signature.digest)) << "the signature is a version of its own";
  ASSERT_TRUE(by_name.count(image.digest));
  ASSERT_TRUE(by_name.count(lonely.digest)) << "a .sig tag naming no manifest here is an ordinary version";
  EXPECT_NE(by_name[image.digest].dump().find(signature.digest), std::string::npos)
      << "the image's version does not show its signature: " << by_name[image.digest].dump(2);

  auto listed = referrers(repo, image.digest).json();
  EXPECT_TRUE(listed["manifests"].empty()) << "a tag-schema signature has no subject: " << listed.dump();

  // Deleting the image's version takes the signature with it; restoring brings both back.
  const std::string version = versions_path + "/" + std::to_string(by_name[image.digest]["id"].get<int64_t>());
  ASSERT_EQ(client().del(version).status, 204);
  EXPECT_EQ(client().get("/v2/" + repo + "/manifests/" + sig_tag).status, 404);
  ASSERT_EQ(client().request("POST", version + "/restore").status, 204);
  auto back = client().get("/v2/" + repo + "/manifests/" + sig_tag);
  EXPECT_EQ(back.status, 200);
  EXPECT_EQ(back.header("Docker-Content-Digest"), signature.digest);
}

}  // namespace
}  // namespace berth::test
