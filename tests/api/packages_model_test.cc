// The package model of docs/packages.md over real HTTP: what a version is (a top-level manifest or index
// with its platform manifests and its referrers), soft delete and restore of whole versions and packages
// as /v2/ sees them (MANIFEST_UNKNOWN, tag lists, byte-identical restores), the tag a restore cannot take
// back, exact sizes and unique sizes from the bytes pushed, and download counts.
//
// One auth-enabled server for the suite; every test pushes to packages of its own (alice's, or an org of
// its own when it asserts an owner's total), so the numbers it checks are its own.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/random.h"
#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"
#include "support/registry_process.h"
#include "support/shared_world.h"

namespace berth::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kSignatureType = "application/vnd.dev.sigstore.bundle.v0.3+json";
constexpr const char* kSbomType = "application/spdx+json";

// A manifest as pushed: its exact bytes, digest and media type.
struct Pushed {
  std::string body, digest, media_type;
  Descriptor descriptor() const { return {media_type, digest, body.size()}; }
};

// A single-platform image: its manifest, and the blobs it references.
struct Image {
  Pushed manifest;
  uint64_t config_size = 0, layer_size = 0;
  std::string config_digest, layer_digest;
  uint64_t blob_bytes() const { return config_size + layer_size; }
};

// Two platform manifests under an index tagged v1, a signature on the index and an SBOM on the amd64
// platform manifest.
struct MultiArch {
  Image amd64, arm64;
  Pushed index;
  Image signature, sbom;  // artifacts: the empty config "{}" and one layer each
  std::vector<std::string> digests() const {
    return {index.digest, amd64.manifest.digest, arm64.manifest.digest, signature.manifest.digest, sbom.manifest.digest};
  }
  // Distinct blob bytes: both artifacts share the 2-byte empty config.
  uint64_t size() const { return amd64.blob_bytes() + arm64.blob_bytes() + 2 + signature.layer_size + sbom.layer_size; }
};

struct ModelWorld {
  std::unique_ptr<RegistryProcess> server;
  std::string token;  // alice: read, write, delete
};

// Alice, who administers the org acme, with a token of every scope, on a server with `env` added.
void build_alice_world(ModelWorld& w, std::map<std::string, std::string> env) {
  env["BERTH_AUTH_ENABLED"] = "true";
  w.server = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = std::move(env)});
  if (w.server->external()) return;
  const auto dir = w.server->data_dir();
  admin_or_throw(dir, {"user", "create", "alice"});
  admin_or_throw(dir, {"org", "create", "acme", "--admin", "alice"});
  w.token = admin_or_throw(dir, {"token", "create", "--user", "alice", "--scopes",
                                 "read:packages,write:packages,delete:packages"});
}

class PackagesModelTest : public SharedWorldTest<ModelWorld> {
 protected:
  static void SetUpTestSuite() { build_world([](ModelWorld& w) { build_alice_world(w, {}); }); }

  HttpClient client() const { return world_->server->client(); }
  Headers alice() const { return basic_auth("alice", world_->token); }
  Headers api_auth() const { return {{"Authorization", "token " + world_->token}}; }
  static std::string new_repo(const std::string& prefix, const std::string& owner = "alice") {
    return owner + "/" + prefix + "-" + berth::random_hex(5);
  }

  // ---- /v2/ ----
  std::string blob(const std::string& repo, const std::string& bytes) { return push_blob_as(client(), alice(), repo, bytes); }

  Pushed put(const std::string& repo, const std::string& reference, const std::string& media_type, const std::string& body) {
    Headers h = alice();
    h.emplace_back("Content-Type", media_type);
    Pushed p{body, sha256(body), media_type};
    Response r = client().request("PUT", "/v2/" + repo + "/manifests/" + (reference.empty() ? p.digest : reference), h, body);
    EXPECT_EQ(r.status, 201) << "PUT " << repo << ":" << reference << "\n" << r.describe();
    return p;
  }

  // An image with a fresh config (labels optional) and a fresh layer of `layer_bytes`, pushed under
  // `reference` (its digest when empty).
  Image image(const std::string& repo, const std::string& reference = "", const std::string& arch = "amd64",
              const std::string& variant = "", size_t layer_bytes = 700, const json& labels = json::object(),
              const json& annotations = nullptr) {
    json config = {{"architecture", arch}, {"os", "linux"}, {"config", {{"Labels", labels}}},
                   {"rootfs", {{"type", "layers"}, {"diff_ids", json::array()}}}, {"nonce", berth::random_hex(8)}};
    if (!variant.empty()) config["variant"] = variant;
    const std::string config_bytes = config.dump();
    const std::string layer = random_bytes(layer_bytes);
    Image img;
    img.config_digest = blob(repo, config_bytes);
    img.layer_digest = blob(repo, layer);
    img.config_size = config_bytes.size();
    img.layer_size = layer.size();
    json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest},
              {"config", Descriptor(media::kOciConfig, img.config_digest, img.config_size).to_json()},
              {"layers", json::array({Descriptor(media::kOciLayer, img.layer_digest, img.layer_size).to_json()})}};
    if (!annotations.is_null()) m["annotations"] = annotations;
    img.manifest = put(repo, reference, media::kOciManifest, m.dump());
    return img;
  }

  // An index listing `children` with their platforms (null: none; a "annotations" key in the entry is
  // put on the descriptor instead).
  Pushed index(const std::string& repo, const std::string& reference, const std::vector<std::pair<Pushed, json>>& children,
               const json& annotations = nullptr) {
    json manifests = json::array();
    for (const auto& [child, platform] : children) {
      json d = child.descriptor().to_json();
      if (platform.is_object() && platform.contains("annotations")) {
        d["annotations"] = platform["annotations"];
        d["platform"] = platform["platform"];
      } else if (!platform.is_null()) {
        d["platform"] = platform;
      }
      manifests.push_back(d);
    }
    json j = {{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", manifests}};
    if (!annotations.is_null()) j["annotations"] = annotations;
    return put(repo, reference, media::kOciIndex, j.dump());
  }

  // An artifact (the empty config, one fresh layer) whose subject is `subject`, pushed by digest.
  Image artifact(const std::string& repo, const Descriptor& subject, const std::string& artifact_type) {
    Image a;
    a.config_digest = blob(repo, "{}");
    a.config_size = 2;
    const std::string payload = random_bytes(123);
    a.layer_digest = blob(repo, payload);
    a.layer_size = payload.size();
    json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest}, {"artifactType", artifact_type},
              {"config", Descriptor(media::kOciEmpty, a.config_digest, 2).to_json()},
              {"layers", json::array({Descriptor("application/octet-stream", a.layer_digest, a.layer_size).to_json()})},
              {"subject", subject.to_json()}};
    a.manifest = put(repo, "", media::kOciManifest, m.dump());
    return a;
  }

  MultiArch multi_arch(const std::string& repo) {
    MultiArch m;
    m.amd64 = image(repo, "", "amd64", "", 1000);
    m.arm64 = image(repo, "", "arm64", "v8", 1500);
    m.index = index(repo, "v1",
                    {{m.amd64.manifest, {{"os", "linux"}, {"architecture", "amd64"}}},
                     {m.arm64.manifest, {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}}}});
    m.signature = artifact(repo, m.index.descriptor(), kSignatureType);
    m.sbom = artifact(repo, m.amd64.manifest.descriptor(), kSbomType);
    return m;
  }

  Response pull(const std::string& repo, const std::string& reference) const {
    Headers h = alice();
    h.emplace_back("Accept", std::string(media::kOciIndex) + ", " + media::kOciManifest);
    return client().get("/v2/" + repo + "/manifests/" + reference, h);
  }
  std::vector<std::string> tags(const std::string& repo) const {
    Response r = client().get("/v2/" + repo + "/tags/list", alice());
    EXPECT_EQ(r.status, 200) << r.describe();
    std::vector<std::string> out;
    json j = r.json();
    if (j.is_object() && j["tags"].is_array()) {
      for (const auto& t : j["tags"]) out.push_back(t.get<std::string>());
    }
    return out;
  }

  // ---- /api/v3 ----
  static std::string package_path(const std::string& repo) {
    auto slash = repo.find('/');
    std::string owner = repo.substr(0, slash);
    return std::string("/api/v3/") + (owner == "alice" ? "users/" : "orgs/") + owner + "/packages/container/" +
           url_encode(repo.substr(slash + 1));
  }
  Response api(const std::string& method, const std::string& path) const {
    return client().request(method, path, api_auth());
  }
  json package(const std::string& repo) const {
    Response r = api("GET", package_path(repo));
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.json();
  }
  json versions(const std::string& repo, const std::string& state = "active") const {
    Response r = api("GET", package_path(repo) + "/versions?per_page=100&state=" + state);
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.json();
  }
  // The version whose top-level manifest is `digest` (active or deleted); null if none.
  json version_of(const std::string& repo, const std::string& digest) const {
    for (const char* state : {"active", "deleted"}) {
      for (const auto& v : versions(repo, state)) {
        if (v["name"] == digest) return v;
      }
    }
    return nullptr;
  }
  json version(const std::string& repo, int64_t id) const {
    Response r = api("GET", package_path(repo) + "/versions/" + std::to_string(id));
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.json();
  }
  Response delete_version(const std::string& repo, int64_t id) const {
    return api("DELETE", package_path(repo) + "/versions/" + std::to_string(id));
  }
  Response restore_version(const std::string& repo, int64_t id) const {
    return api("POST", package_path(repo) + "/versions/" + std::to_string(id) + "/restore");
  }
  uint64_t owner_size(const std::string& owner) const {
    Response r = api("GET", "/api/v3/users/" + owner);
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.json().value("packages_size", uint64_t{0});
  }
};

std::set<std::string> digests_of(const json& list) {
  std::set<std::string> out;
  for (const auto& e : list) out.insert(e.value("digest", ""));
  return out;
}

TEST_F(PackagesModelTest, AnIndexWithPlatformsAndReferrersIsOneVersion) {
  const std::string repo = new_repo("multi");
  MultiArch m = multi_arch(repo);

  json list = versions(repo);
  ASSERT_EQ(list.size(), 1u) << "one version, not five:\n" << list.dump(1);
  const json& v = list[0];
  EXPECT_EQ(v["name"], m.index.digest);
  const json& c = v["metadata"]["container"];
  EXPECT_EQ(c["tags"], json::array({"v1"}));
  EXPECT_EQ(c["media_type"], media::kOciIndex);
  ASSERT_EQ(c["platforms"].size(), 2u) << c.dump(1);
  EXPECT_EQ(c["platforms"][0]["digest"], m.amd64.manifest.digest);
  EXPECT_EQ(c["platforms"][0]["os"], "linux");
  EXPECT_EQ(c["platforms"][0]["architecture"], "amd64");
  EXPECT_EQ(c["platforms"][0]["size"], m.amd64.manifest.body.size());
  EXPECT_FALSE(c["platforms"][0].contains("variant"));
  EXPECT_EQ(c["platforms"][1]["digest"], m.arm64.manifest.digest);
  EXPECT_EQ(c["platforms"][1]["architecture"], "arm64");
  EXPECT_EQ(c["platforms"][1]["variant"], "v8");
  ASSERT_EQ(c["referrers"].size(), 2u) << c.dump(1);
  EXPECT_EQ(digests_of(c["referrers"]), (std::set<std::string>{m.signature.manifest.digest, m.sbom.manifest.digest}));
  for (const auto& r : c["referrers"]) {
    if (r["digest"] == m.signature.manifest.digest) {
      EXPECT_EQ(r["artifact_type"], kSignatureType);
      EXPECT_EQ(r["subject"], m.index.digest);
    } else {
      EXPECT_EQ(r["artifact_type"], kSbomType);
      EXPECT_EQ(r["subject"], m.amd64.manifest.digest);
    }
    EXPECT_EQ(r["media_type"], media::kOciManifest);
  }
  EXPECT_EQ(c["size"], m.size()) << "every blob of both platforms and both referrers, the empty config once";
  // The empty config "{}" may be held by other tests' versions too: only it can be missing from the unique size.
  const uint64_t unique = c["unique_size"].get<uint64_t>();
  EXPECT_TRUE(unique == m.size() || unique == m.size() - 2) << unique << " of " << m.size();

  json p = package(repo);
  EXPECT_EQ(p["version_count"], 1);
  EXPECT_EQ(p["size"], m.size());
  // /v2/ still serves every manifest by digest.
  for (const auto& d : m.digests()) EXPECT_EQ(pull(repo, d).status, 200) << d;
}

TEST_F(PackagesModelTest, DeletingAVersionHidesAllItsManifestsAndRestoreBringsThemBackByteForByte) {
  const std::string repo = new_repo("delete-restore");
  MultiArch m = multi_arch(repo);
  std::map<std::string, std::string> bodies;
  for (const auto& d : m.digests()) {
    Response r = pull(repo, d);
    ASSERT_EQ(r.status, 200) << r.describe();
    bodies[d] = r.body;
  }
  const json v = versions(repo)[0];
  const int64_t id = v["id"];
  const json size_before = package(repo)["size"];

  Response d = delete_version(repo, id);
  ASSERT_EQ(d.status, 204) << d.describe();
  for (const auto& digest : m.digests()) {
    SCOPED_TRACE(digest);
    EXPECT_TRUE(IsOciError(pull(repo, digest), 404, "MANIFEST_UNKNOWN"));
    Response head = client().head("/v2/" + repo + "/manifests/" + digest, alice());
    EXPECT_EQ(head.status, 404) << head.describe();
  }
  EXPECT_TRUE(IsOciError(pull(repo, "v1"), 404, "MANIFEST_UNKNOWN"));
  auto after_delete = tags(repo);
  EXPECT_EQ(std::count(after_delete.begin(), after_delete.end(), "v1"), 0) << "the tag left the tag list";
  EXPECT_EQ(versions(repo), json::array());
  json deleted = versions(repo, "deleted");
  ASSERT_EQ(deleted.size(), 1u) << deleted.dump(1);
  EXPECT_EQ(deleted[0]["id"], id);
  EXPECT_FALSE(deleted[0]["deleted_at"].is_null());
  EXPECT_EQ(deleted[0]["metadata"]["container"]["tags"], json::array({"v1"}));
  EXPECT_EQ(deleted[0]["metadata"]["container"]["platforms"].size(), 2u);
  EXPECT_EQ(deleted[0]["metadata"]["container"]["referrers"].size(), 2u);
  EXPECT_EQ(deleted[0]["metadata"]["container"]["size"], m.size());
  json p = package(repo);
  EXPECT_EQ(p["version_count"], 0);
  EXPECT_EQ(p["size"], 0) << "a deleted version stops counting";
  Response gone_referrers = client().get("/v2/" + repo + "/referrers/" + m.index.digest, alice());
  if (gone_referrers.status == 200) {
    EXPECT_EQ(gone_referrers.json()["manifests"], json::array()) << "deleted referrers are not listed";
  } else {
    EXPECT_EQ(gone_referrers.status, 404) << gone_referrers.describe();
  }

  Response r = restore_version(repo, id);
  ASSERT_EQ(r.status, 204) << r.describe();
  EXPECT_FALSE(r.has_header("Berth-Tags-Not-Restored")) << r.describe();
  for (const auto& digest : m.digests()) {
    SCOPED_TRACE(digest);
    Response back = pull(repo, digest);
    ASSERT_EQ(back.status, 200) << back.describe();
    EXPECT_EQ(back.body, bodies[digest]) << "byte-identical";
    EXPECT_EQ(back.header("Docker-Content-Digest"), digest);
  }
  Response by_tag = pull(repo, "v1");
  ASSERT_EQ(by_tag.status, 200) << by_tag.describe();
  EXPECT_EQ(by_tag.header("Docker-Content-Digest"), m.index.digest);
  EXPECT_EQ(by_tag.body, m.index.body);
  auto after_restore = tags(repo);
  EXPECT_EQ(std::count(after_restore.begin(), after_restore.end(), "v1"), 1);
  json again = versions(repo);
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0]["id"], id);
  EXPECT_EQ(again[0]["metadata"]["container"]["referrers"].size(), 2u);
  EXPECT_EQ(versions(repo, "deleted"), json::array());
  EXPECT_EQ(package(repo)["size"], size_before);
  // The referrers API lists the signature again.
  Response referrers = client().get("/v2/" + repo + "/referrers/" + m.index.digest, alice());
  ASSERT_EQ(referrers.status, 200) << referrers.describe();
  EXPECT_EQ(digests_of(referrers.json()["manifests"]), std::set<std::string>{m.signature.manifest.digest});
}

TEST_F(PackagesModelTest, SizesCountEachBlobOnceAndUniqueSizesWhatADeleteFrees) {
  const std::string org = "sizes" + berth::random_hex(4);
  admin_or_throw(world_->server->data_dir(), {"org", "create", org, "--admin", "alice"});
  const std::string p1 = org + "/one", p2 = org + "/two";
  const std::string shared_layer = random_bytes(3000), layer2 = random_bytes(500);
  auto push = [&](const std::string& repo, const std::string& tag, const std::vector<std::string>& layers) {
    const std::string config = json({{"architecture", "amd64"}, {"os", "linux"}, {"nonce", berth::random_hex(10)}}).dump();
    json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest},
              {"config", Descriptor(media::kOciConfig, blob(repo, config), config.size()).to_json()},
              {"layers", json::array()}};
    for (const auto& l : layers) m["layers"].push_back(Descriptor(media::kOciLayer, blob(repo, l), l.size()).to_json());
    Pushed p = put(repo, tag, media::kOciManifest, m.dump());
    return std::make_pair(p, static_cast<uint64_t>(config.size()));
  };
  const auto pushed1 = push(p1, "v1", {shared_layer});
  const auto pushed2 = push(p1, "v2", {shared_layer, layer2});
  const auto pushed3 = push(p2, "w1", {shared_layer});
  const Pushed v1 = pushed1.first, v2 = pushed2.first, w1 = pushed3.first;
  const uint64_t c1 = pushed1.second, c2 = pushed2.second, c3 = pushed3.second;
  const uint64_t s = shared_layer.size(), l2 = layer2.size();
  auto check = [&](const std::string& when, const json& v, uint64_t size, uint64_t unique) {
    SCOPED_TRACE(when);
    EXPECT_EQ(v["metadata"]["container"]["size"], size) << v.dump();
    EXPECT_EQ(v["metadata"]["container"]["unique_size"], unique) << v.dump();
  };
  auto check_all = [&](const std::string& when, uint64_t p1_size, uint64_t p2_size, uint64_t owner,
                       uint64_t v1_unique, uint64_t v2_unique, uint64_t w1_unique) {
    SCOPED_TRACE(when);
    check("v1", version_of(p1, v1.digest), c1 + s, v1_unique);
    check("v2", version_of(p1, v2.digest), c2 + s + l2, v2_unique);
    check("w1", version_of(p2, w1.digest), c3 + s, w1_unique);
    EXPECT_EQ(package(p1)["size"], p1_size);
    EXPECT_EQ(package(p2)["size"], p2_size);
    EXPECT_EQ(owner_size(org), owner) << "/users/" << org;
    Response o = api("GET", "/api/v3/orgs/" + org);
    EXPECT_EQ(o.json()["packages_size"], owner) << o.describe();
  };
  check_all("all live", c1 + c2 + s + l2, c3 + s, c1 + c2 + c3 + s + l2, c1, c2 + l2, c3);

  const int64_t id1 = version_of(p1, v1.digest)["id"], idw = version_of(p2, w1.digest)["id"];
  ASSERT_EQ(delete_version(p1, id1).status, 204);
  // A deleted version's unique size: what its delete freed.
  check_all("v1 deleted", c2 + s + l2, c3 + s, c2 + c3 + s + l2, c1, c2 + l2, c3);
  ASSERT_EQ(delete_version(p2, idw).status, 204);
  // The shared layer is now held by v2 alone: deleting it would free it.
  check_all("v1 and w1 deleted", c2 + s + l2, 0, c2 + s + l2, c1, c2 + s + l2, c3 + 0);
  ASSERT_EQ(restore_version(p1, id1).status, 204);
  ASSERT_EQ(restore_version(p2, idw).status, 204);
  check_all("both restored", c1 + c2 + s + l2, c3 + s, c1 + c2 + c3 + s + l2, c1, c2 + l2, c3);

  // A whole package deleted stops counting in the owner's total; restored, it counts again.
  ASSERT_EQ(api("DELETE", package_path(p1)).status, 204);
  EXPECT_EQ(owner_size(org), c3 + s);
  EXPECT_EQ(version_of(p2, w1.digest)["metadata"]["container"]["unique_size"], c3 + s);
  ASSERT_EQ(api("POST", package_path(p1) + "/restore").status, 204);
  check_all("package restored", c1 + c2 + s + l2, c3 + s, c1 + c2 + c3 + s + l2, c1, c2 + l2, c3);
}

TEST_F(PackagesModelTest, APlatformManifestOfALiveIndexCannotBeDeletedAlone) {
  const std::string repo = new_repo("child");
  MultiArch m = multi_arch(repo);
  Response r = client().del("/v2/" + repo + "/manifests/" + m.amd64.manifest.digest, alice());
  ASSERT_TRUE(IsOciError(r, 403, "DENIED"));
  EXPECT_NE(r.json()["errors"][0]["message"].get<std::string>().find(m.index.digest), std::string::npos)
      << "the refusal names the index\n" << r.describe();
  EXPECT_EQ(pull(repo, "v1").status, 200);
  EXPECT_EQ(pull(repo, m.amd64.manifest.digest).status, 200);
  EXPECT_EQ(versions(repo)[0]["metadata"]["container"]["platforms"].size(), 2u);

  // A signature of the SBOM belongs to the version too (a referrer's own referrers).
  Image sbom_sig = artifact(repo, m.sbom.manifest.descriptor(), kSignatureType);
  json with_sbom_sig = versions(repo);
  ASSERT_EQ(with_sbom_sig.size(), 1u) << with_sbom_sig.dump(1);
  EXPECT_EQ(digests_of(with_sbom_sig[0]["metadata"]["container"]["referrers"]),
            (std::set<std::string>{m.signature.manifest.digest, m.sbom.manifest.digest, sbom_sig.manifest.digest}));
  // A referrer deleted over /v2/ goes with its own referrers only, and is no version to restore.
  Response sbom = client().del("/v2/" + repo + "/manifests/" + m.sbom.manifest.digest, alice());
  EXPECT_EQ(sbom.status, 202) << sbom.describe();
  EXPECT_TRUE(IsOciError(pull(repo, m.sbom.manifest.digest), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(IsOciError(pull(repo, sbom_sig.manifest.digest), 404, "MANIFEST_UNKNOWN"));
  EXPECT_EQ(pull(repo, m.signature.manifest.digest).status, 200);
  json v = versions(repo);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(digests_of(v[0]["metadata"]["container"]["referrers"]), std::set<std::string>{m.signature.manifest.digest});
  EXPECT_EQ(v[0]["metadata"]["container"]["size"], m.size() - m.sbom.layer_size);
  EXPECT_EQ(versions(repo, "deleted"), json::array());
  EXPECT_EQ(pull(repo, m.amd64.manifest.digest).status, 200);
}

TEST_F(PackagesModelTest, DeletingTheTopLevelManifestOverV2DeletesTheVersion) {
  const std::string repo = new_repo("v2-delete");
  Image img = image(repo, "v1");
  put(repo, "also", media::kOciManifest, img.manifest.body);
  // DELETE of a tag removes the tag only.
  EXPECT_EQ(client().del("/v2/" + repo + "/manifests/also", alice()).status, 202);
  json v = versions(repo);
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0]["metadata"]["container"]["tags"], json::array({"v1"}));
  // DELETE by digest of the top-level manifest deletes the version, restorable through the API.
  EXPECT_EQ(client().del("/v2/" + repo + "/manifests/" + img.manifest.digest, alice()).status, 202);
  EXPECT_EQ(versions(repo), json::array());
  json deleted = versions(repo, "deleted");
  ASSERT_EQ(deleted.size(), 1u);
  EXPECT_EQ(deleted[0]["id"], v[0]["id"]);
  ASSERT_EQ(restore_version(repo, deleted[0]["id"]).status, 204);
  EXPECT_EQ(pull(repo, "v1").header("Docker-Content-Digest"), img.manifest.digest);
}

TEST_F(PackagesModelTest, ARestoreLeavesATagThatWasReusedWhereItIs) {
  const std::string repo = new_repo("tag-reuse");
  Image first = image(repo, "t");
  Headers h = alice();
  h.emplace_back("Content-Type", media::kOciManifest);
  ASSERT_EQ(client().request("PUT", "/v2/" + repo + "/manifests/keep", h, first.manifest.body).status, 201);
  const int64_t id = version_of(repo, first.manifest.digest)["id"];
  ASSERT_EQ(delete_version(repo, id).status, 204);
  Image second = image(repo, "t");

  Response r = restore_version(repo, id);
  EXPECT_EQ(r.status, 204) << r.describe();
  EXPECT_EQ(r.header("Berth-Tags-Not-Restored"), "t") << r.describe();
  EXPECT_EQ(pull(repo, "t").header("Docker-Content-Digest"), second.manifest.digest) << "the new manifest keeps the tag";
  EXPECT_EQ(pull(repo, "keep").header("Docker-Content-Digest"), first.manifest.digest);
  json v = version(repo, id);
  EXPECT_TRUE(v["deleted_at"].is_null());
  EXPECT_EQ(v["metadata"]["container"]["tags"], json::array({"keep"}));
  EXPECT_EQ(version_of(repo, second.manifest.digest)["metadata"]["container"]["tags"], json::array({"t"}));
}

TEST_F(PackagesModelTest, ADeletedPackageFreesItsNameAndCannotComeBackOnceTaken) {
  const std::string repo = new_repo("reuse", "acme");
  Image v1 = image(repo, "v1");
  Image v2 = image(repo, "v2");
  const json old = package(repo);
  ASSERT_EQ(api("DELETE", package_path(repo)).status, 204);
  Response gone = pull(repo, "v1");
  EXPECT_EQ(gone.status, 404) << gone.describe();
  EXPECT_TRUE(gone.error_code() == "NAME_UNKNOWN" || gone.error_code() == "MANIFEST_UNKNOWN") << gone.describe();
  Response by_digest = pull(repo, v2.manifest.digest);
  EXPECT_TRUE(by_digest.error_code() == "NAME_UNKNOWN" || by_digest.error_code() == "MANIFEST_UNKNOWN")
      << by_digest.describe();
  Response catalog = client().get("/v2/_catalog?n=1000", alice());
  EXPECT_EQ(catalog.body.find(repo), std::string::npos) << catalog.body;
  EXPECT_EQ(catalog.body.find("~deleted"), std::string::npos) << catalog.body;

  Image fresh = image(repo, "v1");
  const json now = package(repo);
  EXPECT_NE(now["id"], old["id"]) << "a new package";
  EXPECT_EQ(now["version_count"], 1);
  Response refused = api("POST", package_path(repo) + "/restore");
  EXPECT_EQ(refused.status, 422) << refused.describe();
  EXPECT_TRUE(refused.json()["message"].is_string()) << refused.describe();
  EXPECT_EQ(pull(repo, "v1").header("Docker-Content-Digest"), fresh.manifest.digest);
  EXPECT_TRUE(IsOciError(pull(repo, "v2"), 404, "MANIFEST_UNKNOWN"));

  // The most recently deleted package of the name is the one a restore brings back.
  ASSERT_EQ(api("DELETE", package_path(repo)).status, 204);
  ASSERT_EQ(api("POST", package_path(repo) + "/restore").status, 204);
  EXPECT_EQ(package(repo)["id"], now["id"]);
  EXPECT_EQ(pull(repo, "v1").header("Docker-Content-Digest"), fresh.manifest.digest);
}

TEST_F(PackagesModelTest, RestoringAPackageBringsBackOnlyTheVersionsDeletedWithIt) {
  const std::string repo = new_repo("pkg-restore");
  Image v1 = image(repo, "v1");
  Image v2 = image(repo, "v2");
  const int64_t id1 = version_of(repo, v1.manifest.digest)["id"];
  ASSERT_EQ(delete_version(repo, id1).status, 204);
  ASSERT_EQ(api("DELETE", package_path(repo)).status, 204);
  ASSERT_EQ(api("POST", package_path(repo) + "/restore").status, 204);
  json p = package(repo);
  EXPECT_EQ(p["version_count"], 1);
  EXPECT_EQ(p["size"], v2.blob_bytes());
  json deleted = versions(repo, "deleted");
  ASSERT_EQ(deleted.size(), 1u) << deleted.dump(1);
  EXPECT_EQ(deleted[0]["id"], id1);
  EXPECT_EQ(pull(repo, "v2").status, 200);
  EXPECT_TRUE(IsOciError(pull(repo, "v1"), 404, "MANIFEST_UNKNOWN"));
  ASSERT_EQ(restore_version(repo, id1).status, 204);
  EXPECT_EQ(pull(repo, "v1").status, 200);
}

TEST_F(PackagesModelTest, DownloadsCountGetsOfTheTopLevelManifestOnly) {
  const std::string repo = new_repo("downloads");
  MultiArch m = multi_arch(repo);
  const int64_t id = versions(repo)[0]["id"];
  // None of these is a pull of the version: HEADs, platform manifests, referrers, blobs.
  for (int i = 0; i < 2; ++i) ASSERT_EQ(client().head("/v2/" + repo + "/manifests/v1", alice()).status, 200);
  ASSERT_EQ(client().head("/v2/" + repo + "/manifests/" + m.index.digest, alice()).status, 200);
  for (const auto& d : {m.amd64.manifest.digest, m.arm64.manifest.digest, m.signature.manifest.digest, m.sbom.manifest.digest}) {
    ASSERT_EQ(pull(repo, d).status, 200);
  }
  ASSERT_EQ(client().get(blob_url(repo, m.amd64.layer_digest), alice()).status, 200);
  // One multi-arch pull: the index by tag.
  ASSERT_EQ(pull(repo, "v1").status, 200);
  auto downloads = [&] { return version(repo, id)["metadata"]["container"]["downloads"].get<uint64_t>(); };
  ASSERT_TRUE(eventually([&] { return downloads() >= 1; }, 5s)) << "the count is written within a few seconds";
  std::this_thread::sleep_for(2500ms);  // one more flush: nothing else was counted
  EXPECT_EQ(downloads(), 1u);
  EXPECT_EQ(package(repo)["downloads"], 1);
  // By digest, the index is a pull too.
  ASSERT_EQ(pull(repo, m.index.digest).status, 200);
  EXPECT_TRUE(eventually([&] { return downloads() == 2; }, 5s)) << downloads();
  EXPECT_EQ(package(repo)["downloads"], 2);
}

TEST_F(PackagesModelTest, AManifestPushedByDigestJoinsTheIndexThatListsIt) {
  const std::string repo = new_repo("adopt");
  Image amd64 = image(repo, "", "amd64");
  Image arm64 = image(repo, "", "arm64", "v8");
  json before = versions(repo);
  ASSERT_EQ(before.size(), 2u) << "each a version until an index lists it";
  const int64_t amd64_id = version_of(repo, amd64.manifest.digest)["id"];
  ASSERT_EQ(pull(repo, amd64.manifest.digest).status, 200);
  ASSERT_TRUE(eventually([&] { return version(repo, amd64_id)["metadata"]["container"]["downloads"] == 1; }, 5s));

  Pushed idx = index(repo, "v1", {{amd64.manifest, {{"os", "linux"}, {"architecture", "amd64"}}},
                                  {arm64.manifest, {{"os", "linux"}, {"architecture", "arm64"}, {"variant", "v8"}}}});
  json after = versions(repo);
  ASSERT_EQ(after.size(), 1u) << after.dump(1);
  EXPECT_EQ(after[0]["name"], idx.digest);
  EXPECT_EQ(after[0]["metadata"]["container"]["downloads"], 1) << "the platform's count moved with it";
  EXPECT_EQ(after[0]["metadata"]["container"]["size"], amd64.blob_bytes() + arm64.blob_bytes());
  EXPECT_EQ(package(repo)["version_count"], 1);
  Response stale = api("GET", package_path(repo) + "/versions/" + std::to_string(amd64_id));
  EXPECT_EQ(stale.status, 404) << "its own version id stops resolving\n" << stale.describe();
  EXPECT_EQ(versions(repo, "deleted"), json::array());
}

TEST_F(PackagesModelTest, APlatformManifestSharedByTwoIndexesOutlivesTheDeletionOfOne) {
  const std::string repo = new_repo("shared-child");
  Image a = image(repo, "", "amd64"), b = image(repo, "", "arm64"), c = image(repo, "", "arm64", "v8");
  const json amd64 = {{"os", "linux"}, {"architecture", "amd64"}}, arm64 = {{"os", "linux"}, {"architecture", "arm64"}};
  Pushed one = index(repo, "v1", {{a.manifest, amd64}, {b.manifest, arm64}});
  Pushed two = index(repo, "v2", {{a.manifest, amd64}, {c.manifest, arm64}});
  ASSERT_EQ(versions(repo).size(), 2u);
  EXPECT_EQ(package(repo)["size"], a.blob_bytes() + b.blob_bytes() + c.blob_bytes());
  const int64_t id1 = version_of(repo, one.digest)["id"];

  ASSERT_EQ(delete_version(repo, id1).status, 204);
  EXPECT_EQ(pull(repo, a.manifest.digest).status, 200) << "still listed by v2";
  EXPECT_TRUE(IsOciError(pull(repo, b.manifest.digest), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(IsOciError(pull(repo, "v1"), 404, "MANIFEST_UNKNOWN"));
  EXPECT_EQ(pull(repo, "v2").status, 200);
  json two_v = version_of(repo, two.digest);
  EXPECT_EQ(two_v["metadata"]["container"]["size"], a.blob_bytes() + c.blob_bytes());
  EXPECT_EQ(two_v["metadata"]["container"]["unique_size"], a.blob_bytes() + c.blob_bytes());
  EXPECT_EQ(package(repo)["size"], a.blob_bytes() + c.blob_bytes());

  ASSERT_EQ(restore_version(repo, id1).status, 204);
  EXPECT_EQ(pull(repo, b.manifest.digest).status, 200);
  EXPECT_EQ(pull(repo, "v1").header("Docker-Content-Digest"), one.digest);
  EXPECT_EQ(package(repo)["size"], a.blob_bytes() + b.blob_bytes() + c.blob_bytes());
  EXPECT_EQ(version_of(repo, two.digest)["metadata"]["container"]["unique_size"], c.blob_bytes());
}

TEST_F(PackagesModelTest, AReferrerPushedBeforeItsSubjectJoinsItsVersionWhenTheSubjectArrives) {
  const std::string repo = new_repo("early-referrer");
  // The subject's bytes are known before it is pushed.
  const std::string config = json({{"architecture", "amd64"}, {"os", "linux"}, {"nonce", berth::random_hex(8)}}).dump();
  const std::string layer = random_bytes(800);
  json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest},
            {"config", Descriptor(media::kOciConfig, blob(repo, config), config.size()).to_json()},
            {"layers", json::array({Descriptor(media::kOciLayer, blob(repo, layer), layer.size()).to_json()})}};
  const std::string body = m.dump();
  Image sig = artifact(repo, Descriptor(media::kOciManifest, sha256(body), body.size()), kSignatureType);
  EXPECT_EQ(versions(repo), json::array()) << "a referrer is no version";
  Pushed subject = put(repo, "v1", media::kOciManifest, body);
  json v = versions(repo);
  ASSERT_EQ(v.size(), 1u) << v.dump(1);
  EXPECT_EQ(v[0]["name"], subject.digest);
  EXPECT_EQ(digests_of(v[0]["metadata"]["container"]["referrers"]), std::set<std::string>{sig.manifest.digest});
  EXPECT_EQ(v[0]["metadata"]["container"]["size"], config.size() + layer.size() + 2 + sig.layer_size);
}

TEST_F(PackagesModelTest, PushingADeletedManifestAgainRevivesItsVersionWithThePushedTagOnly) {
  const std::string repo = new_repo("repush");
  Image img = image(repo, "a");
  Headers h = alice();
  h.emplace_back("Content-Type", media::kOciManifest);
  ASSERT_EQ(client().request("PUT", "/v2/" + repo + "/manifests/b", h, img.manifest.body).status, 201);
  const int64_t id = version_of(repo, img.manifest.digest)["id"];
  ASSERT_EQ(delete_version(repo, id).status, 204);
  ASSERT_EQ(client().request("PUT", "/v2/" + repo + "/manifests/a", h, img.manifest.body).status, 201);
  json v = versions(repo);
  ASSERT_EQ(v.size(), 1u) << v.dump(1);
  EXPECT_EQ(v[0]["id"], id) << "the same version id";
  EXPECT_EQ(v[0]["metadata"]["container"]["tags"], json::array({"a"}));
  EXPECT_EQ(versions(repo, "deleted"), json::array());
  EXPECT_TRUE(IsOciError(pull(repo, "b"), 404, "MANIFEST_UNKNOWN")) << "its other deleted tags stay deleted";
  EXPECT_EQ(package(repo)["size"], img.blob_bytes());
}

TEST_F(PackagesModelTest, BuildKitAttestationsAreReferrersNotPlatforms) {
  const std::string repo = new_repo("attest");
  Image amd64 = image(repo, "", "amd64");
  Image attestation = image(repo, "", "unknown", "", 300);
  json att_entry = {{"platform", {{"os", "unknown"}, {"architecture", "unknown"}}},
                    {"annotations", {{"vnd.docker.reference.type", "attestation-manifest"},
                                     {"vnd.docker.reference.digest", amd64.manifest.digest}}}};
  Pushed idx = index(repo, "v1", {{amd64.manifest, {{"os", "linux"}, {"architecture", "amd64"}}}, {attestation.manifest, att_entry}});
  json v = versions(repo);
  ASSERT_EQ(v.size(), 1u) << v.dump(1);
  const json& c = v[0]["metadata"]["container"];
  ASSERT_EQ(c["platforms"].size(), 1u) << c.dump(1);
  EXPECT_EQ(c["platforms"][0]["digest"], amd64.manifest.digest);
  EXPECT_EQ(digests_of(c["referrers"]), std::set<std::string>{attestation.manifest.digest}) << c.dump(1);
  EXPECT_EQ(c["size"], amd64.blob_bytes() + attestation.blob_bytes());
}

TEST_F(PackagesModelTest, DescriptionSourceAndLicenseComeFromLabelsOrAnnotations) {
  const std::string repo = new_repo("described", "acme");
  image(repo, "v1", "amd64", "", 100,
        {{"org.opencontainers.image.description", "from the label"},
         {"org.opencontainers.image.source", "https://github.com/acme/python-alpine"},
         {"org.opencontainers.image.licenses", "Apache-2.0"}});
  json p = package(repo);
  EXPECT_EQ(p["description"], "from the label");
  EXPECT_EQ(p["repository"]["html_url"], "https://github.com/acme/python-alpine") << p.dump();
  EXPECT_EQ(p["repository"]["full_name"], "acme/python-alpine");
  json v = versions(repo)[0];
  EXPECT_EQ(v["license"], "Apache-2.0");
  EXPECT_EQ(v["description"], "from the label");

  // A newer version's manifest annotations: the package shows the newest version's.
  Image newer = image(repo, "v2", "amd64", "", 100, json::object(),
                      {{"org.opencontainers.image.description", "from the annotation"},
                       {"org.opencontainers.image.licenses", "MIT"}});
  EXPECT_EQ(package(repo)["description"], "from the annotation");
  EXPECT_EQ(version_of(repo, newer.manifest.digest)["license"], "MIT");
  // An index: its first platform's config labels.
  Image platform = image(repo, "", "arm64", "", 100, {{"org.opencontainers.image.description", "platform label"}});
  Pushed idx = index(repo, "v3", {{platform.manifest, {{"os", "linux"}, {"architecture", "arm64"}}}});
  EXPECT_EQ(version_of(repo, idx.digest)["description"], "platform label");
  // At most 512 characters.
  Image long_text = image(repo, "v4", "amd64", "", 100, {{"org.opencontainers.image.description", std::string(600, 'x')}});
  EXPECT_EQ(version_of(repo, long_text.manifest.digest).value("description", "").size(), 512u);
}

TEST_F(PackagesModelTest, ALayerSharedByTwoPlatformsCountsOnce) {
  const std::string repo = new_repo("shared-layer");
  const std::string layer = random_bytes(2000);
  std::vector<Pushed> platforms;
  uint64_t configs = 0;
  for (const char* arch : {"amd64", "arm64"}) {
    const std::string config = json({{"architecture", arch}, {"os", "linux"}, {"nonce", berth::random_hex(8)}}).dump();
    configs += config.size();
    json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest},
              {"config", Descriptor(media::kOciConfig, blob(repo, config), config.size()).to_json()},
              {"layers", json::array({Descriptor(media::kOciLayer, blob(repo, layer), layer.size()).to_json()})}};
    platforms.push_back(put(repo, "", media::kOciManifest, m.dump()));
  }
  Pushed idx = index(repo, "v1", {{platforms[0], {{"os", "linux"}, {"architecture", "amd64"}}},
                                  {platforms[1], {{"os", "linux"}, {"architecture", "arm64"}}}});
  json v = version_of(repo, idx.digest);
  EXPECT_EQ(v["metadata"]["container"]["size"], configs + layer.size());
  EXPECT_EQ(v["metadata"]["container"]["unique_size"], configs + layer.size());
  EXPECT_EQ(package(repo)["size"], configs + layer.size());
}

TEST_F(PackagesModelTest, AnIndexCannotBePushedOverAPlatformManifestOfADeletedVersion) {
  const std::string repo = new_repo("deleted-child");
  MultiArch m = multi_arch(repo);
  const int64_t id = version_of(repo, m.index.digest)["id"];
  ASSERT_EQ(delete_version(repo, id).status, 204);
  // A new index over the deleted amd64 manifest would be live with a child that answers 404.
  json j = {{"schemaVersion", 2}, {"mediaType", media::kOciIndex},
            {"manifests", json::array({json(m.amd64.manifest.descriptor().to_json())})}};
  Headers h = alice();
  h.emplace_back("Content-Type", media::kOciIndex);
  Response r = client().request("PUT", "/v2/" + repo + "/manifests/v2", h, j.dump());
  if (r.status == 201) {
    EXPECT_EQ(pull(repo, m.amd64.manifest.digest).status, 200) << "the index was accepted: its child must be live";
  } else {
    EXPECT_TRUE(IsOciError(r, 400, "MANIFEST_BLOB_UNKNOWN"));
  }
}

TEST_F(PackagesModelTest, PushingADeletedIndexAgainAfterItsPlatformsRevivesTheSameVersion) {
  const std::string repo = new_repo("repush-index");
  MultiArch m = multi_arch(repo);
  const int64_t id = version_of(repo, m.index.digest)["id"];
  ASSERT_EQ(delete_version(repo, id).status, 204);
  // The platforms first (each a version until the index comes), then the index under its tag.
  put(repo, "", media::kOciManifest, m.amd64.manifest.body);
  put(repo, "", media::kOciManifest, m.arm64.manifest.body);
  EXPECT_EQ(versions(repo).size(), 2u);
  const int64_t amd64_id = version_of(repo, m.amd64.manifest.digest)["id"];
  const int64_t arm64_id = version_of(repo, m.arm64.manifest.digest)["id"];
  put(repo, "v1", media::kOciIndex, m.index.body);
  json v = versions(repo);
  ASSERT_EQ(v.size(), 1u) << v.dump(1);
  EXPECT_EQ(v[0]["id"], id) << "under the same version id";
  EXPECT_EQ(v[0]["metadata"]["container"]["tags"], json::array({"v1"}));
  EXPECT_EQ(v[0]["metadata"]["container"]["platforms"].size(), 2u);
  EXPECT_EQ(v[0]["metadata"]["container"]["referrers"], json::array()) << "what the push brings, not the rest";
  EXPECT_EQ(v[0]["metadata"]["container"]["size"], m.amd64.blob_bytes() + m.arm64.blob_bytes());
  EXPECT_TRUE(IsOciError(pull(repo, m.signature.manifest.digest), 404, "MANIFEST_UNKNOWN"));
  EXPECT_EQ(versions(repo, "deleted"), json::array());
  EXPECT_EQ(package(repo)["version_count"], 1);
  EXPECT_EQ(package(repo)["size"], m.amd64.blob_bytes() + m.arm64.blob_bytes());
  // The platforms' own version ids (listed a moment ago) stopped resolving; they are not given to the
  // next version (ids are never reused: a script holding one must not reach another version with it).
  Image later = image(repo, "later");
  const int64_t later_id = version_of(repo, later.manifest.digest)["id"];
  EXPECT_NE(later_id, amd64_id) << "the id of the adopted amd64 version was given to a new version";
  EXPECT_NE(later_id, arm64_id) << "the id of the adopted arm64 version was given to a new version";
}

// Tag lists of 256 names or more are served from a per-node cache (tag_list_cache.h): deleting and
// restoring versions must be seen by it.
TEST_F(PackagesModelTest, ALongTagListForgetsTheTagsOfADeletedVersion) {
  const std::string repo = new_repo("many-tags");
  const std::string config = R"({"architecture":"amd64","os":"linux"})";
  const std::string layer = random_bytes(100);
  Descriptor c{media::kOciConfig, blob(repo, config), config.size()};
  Descriptor l{media::kOciLayer, blob(repo, layer), layer.size()};
  std::string last_digest;
  for (int i = 0; i < 300; ++i) {
    json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest}, {"config", c.to_json()},
              {"layers", json::array({l.to_json()})}, {"annotations", {{"n", std::to_string(i)}}}};
    char tag[16];
    std::snprintf(tag, sizeof tag, "t%03d", i);
    last_digest = put(repo, tag, media::kOciManifest, m.dump()).digest;
  }
  auto all = tags(repo);
  ASSERT_EQ(all.size(), 300u);
  all = tags(repo);  // now from the cache
  ASSERT_EQ(all.size(), 300u);
  const int64_t id = version_of(repo, last_digest)["id"];
  ASSERT_EQ(delete_version(repo, id).status, 204);
  auto after = tags(repo);
  EXPECT_EQ(after.size(), 299u);
  EXPECT_EQ(std::count(after.begin(), after.end(), "t299"), 0);
  ASSERT_EQ(restore_version(repo, id).status, 204);
  auto restored = tags(repo);
  EXPECT_EQ(restored.size(), 300u);
  EXPECT_EQ(std::count(restored.begin(), restored.end(), "t299"), 1);
  EXPECT_EQ(package(repo)["version_count"], 300);
}

TEST_F(PackagesModelTest, UniqueSizeLooksAtEveryPackageOfEveryOwner) {
  const std::string mine = new_repo("unique-a"), theirs = new_repo("unique-b", "acme");
  const std::string layer = random_bytes(4000);
  auto push = [&](const std::string& repo) {
    const std::string config = json({{"architecture", "amd64"}, {"os", "linux"}, {"nonce", berth::random_hex(8)}}).dump();
    json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest},
              {"config", Descriptor(media::kOciConfig, blob(repo, config), config.size()).to_json()},
              {"layers", json::array({Descriptor(media::kOciLayer, blob(repo, layer), layer.size()).to_json()})}};
    return std::make_pair(put(repo, "v1", media::kOciManifest, m.dump()), static_cast<uint64_t>(config.size()));
  };
  const auto a = push(mine);
  const auto b = push(theirs);
  json va = version_of(mine, a.first.digest);
  EXPECT_EQ(va["metadata"]["container"]["size"], a.second + layer.size());
  EXPECT_EQ(va["metadata"]["container"]["unique_size"], a.second) << "acme's package holds the layer too";
  EXPECT_EQ(package(mine)["size"], a.second + layer.size());
  EXPECT_EQ(package(theirs)["size"], b.second + layer.size());
  ASSERT_EQ(delete_version(theirs, version_of(theirs, b.first.digest)["id"]).status, 204);
  EXPECT_EQ(version_of(mine, a.first.digest)["metadata"]["container"]["unique_size"], a.second + layer.size());
}

// Counts are kept in memory and written every few seconds; a graceful stop writes what is pending.
TEST_F(PackagesModelTest, DownloadsCountedJustBeforeAGracefulRestartAreKept) {
  const std::string repo = new_repo("downloads-restart");
  Image img = image(repo, "v1");
  const int64_t id = version_of(repo, img.manifest.digest)["id"];
  ASSERT_EQ(pull(repo, "v1").status, 200);
  ASSERT_EQ(pull(repo, "v1").status, 200);
  world_->server->restart();  // SIGTERM at once: the 2-second flush has most likely not run yet
  EXPECT_EQ(version(repo, id)["metadata"]["container"]["downloads"], 2);
  EXPECT_EQ(package(repo)["downloads"], 2);
}

// On PostgreSQL two transactions run side by side: a subject and its referrer pushed at the same moment
// must not each miss the other (docs/ARCHITECTURE.md, kLockRepository), nor two deletes of indexes that
// share a platform manifest each keep it for the other.
TEST_F(PackagesModelTest, ConcurrentPushesOfASubjectAndItsReferrerNeverMissEachOther) {
  const std::string repo = new_repo("race-referrer");
  for (int round = 0; round < 8; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    const std::string config = json({{"architecture", "amd64"}, {"os", "linux"}, {"nonce", berth::random_hex(8)}}).dump();
    const std::string layer = random_bytes(300);
    json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest},
              {"config", Descriptor(media::kOciConfig, blob(repo, config), config.size()).to_json()},
              {"layers", json::array({Descriptor(media::kOciLayer, blob(repo, layer), layer.size()).to_json()})}};
    const std::string subject = m.dump();
    const std::string payload = random_bytes(50);
    json sig = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest}, {"artifactType", kSignatureType},
                {"config", Descriptor(media::kOciEmpty, blob(repo, "{}"), 2).to_json()},
                {"layers", json::array({Descriptor("application/octet-stream", blob(repo, payload), payload.size()).to_json()})},
                {"subject", Descriptor(media::kOciManifest, sha256(subject), subject.size()).to_json()}};
    const std::string referrer = sig.dump();
    Headers h = alice();
    h.emplace_back("Content-Type", media::kOciManifest);
    const HttpClient http = client();
    int s1 = 0, s2 = 0;
    std::thread t1([&] { s1 = http.request("PUT", "/v2/" + repo + "/manifests/r" + std::to_string(round), h, subject).status; });
    std::thread t2([&] { s2 = http.request("PUT", "/v2/" + repo + "/manifests/" + sha256(referrer), h, referrer).status; });
    t1.join();
    t2.join();
    ASSERT_EQ(s1, 201);
    ASSERT_EQ(s2, 201);
    json v = version_of(repo, sha256(subject));
    ASSERT_TRUE(v.is_object());
    EXPECT_EQ(digests_of(v["metadata"]["container"]["referrers"]), std::set<std::string>{sha256(referrer)}) << v.dump();
    EXPECT_EQ(v["metadata"]["container"]["size"], config.size() + layer.size() + 2 + payload.size());
  }
  EXPECT_EQ(package(repo)["version_count"], 8);
}

TEST_F(PackagesModelTest, ConcurrentDeletesOfTwoIndexesSharingAPlatformDeleteIt) {
  const std::string repo = new_repo("race-delete");
  const json amd64 = {{"os", "linux"}, {"architecture", "amd64"}}, arm64 = {{"os", "linux"}, {"architecture", "arm64"}};
  for (int round = 0; round < 5; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Image a = image(repo, "", "amd64"), b = image(repo, "", "arm64"), c = image(repo, "", "arm64", "v8");
    Pushed one = index(repo, "one" + std::to_string(round), {{a.manifest, amd64}, {b.manifest, arm64}});
    Pushed two = index(repo, "two" + std::to_string(round), {{a.manifest, amd64}, {c.manifest, arm64}});
    const int64_t id1 = version_of(repo, one.digest)["id"], id2 = version_of(repo, two.digest)["id"];
    int s1 = 0, s2 = 0;
    std::thread t1([&] { s1 = delete_version(repo, id1).status; });
    std::thread t2([&] { s2 = delete_version(repo, id2).status; });
    t1.join();
    t2.join();
    ASSERT_EQ(s1, 204);
    ASSERT_EQ(s2, 204);
    for (const auto& d : {one.digest, two.digest, a.manifest.digest, b.manifest.digest, c.manifest.digest}) {
      EXPECT_TRUE(IsOciError(pull(repo, d), 404, "MANIFEST_UNKNOWN")) << d << " outlived both indexes";
    }
    ASSERT_EQ(restore_version(repo, id1).status, 204);
    ASSERT_EQ(restore_version(repo, id2).status, 204);
    for (const auto& d : {one.digest, two.digest, a.manifest.digest, b.manifest.digest, c.manifest.digest}) {
      EXPECT_EQ(pull(repo, d).status, 200) << d;
    }
  }
  EXPECT_EQ(package(repo)["version_count"], 10);
}

// ---- After the restore window: purge ----

// A server whose restore window is one second and whose housekeeping sweeps every second.
class PackagesPurgeTest : public PackagesModelTest {
 protected:
  static void SetUpTestSuite() {
    build_world([](ModelWorld& w) {
      build_alice_world(w, {{"BERTH_PACKAGES_RESTORE_WINDOW_SECONDS", "1"}, {"BERTH_UPLOAD_SWEEP_SECONDS", "1"}});
    });
  }
};

TEST_F(PackagesPurgeTest, APurgedVersionIsGoneForGoodAndItsContentCanBePushedAgain) {
  const std::string repo = new_repo("purge");
  MultiArch m = multi_arch(repo);
  Image other = image(repo, "v2");
  const int64_t id = version_of(repo, m.index.digest)["id"];
  ASSERT_EQ(delete_version(repo, id).status, 204);
  ASSERT_TRUE(eventually([&] { return versions(repo, "deleted").empty(); }, 15s)) << "purged after the window";
  Response stale = api("GET", package_path(repo) + "/versions/" + std::to_string(id));
  EXPECT_EQ(stale.status, 404) << stale.describe();
  EXPECT_EQ(restore_version(repo, id).status, 404);
  for (const auto& d : m.digests()) EXPECT_TRUE(IsOciError(pull(repo, d), 404, "MANIFEST_UNKNOWN")) << d;
  json p = package(repo);
  EXPECT_EQ(p["version_count"], 1);
  EXPECT_EQ(p["size"], other.blob_bytes());
  EXPECT_EQ(pull(repo, "v2").status, 200);

  // The same bytes pushed again: a new version.
  put(repo, "", media::kOciManifest, m.amd64.manifest.body);
  put(repo, "", media::kOciManifest, m.arm64.manifest.body);
  put(repo, "v1", media::kOciIndex, m.index.body);
  json v = version_of(repo, m.index.digest);
  ASSERT_TRUE(v.is_object());
  EXPECT_NE(v["id"], id);
  EXPECT_EQ(v["metadata"]["container"]["platforms"].size(), 2u);
  EXPECT_EQ(v["metadata"]["container"]["referrers"], json::array());
  EXPECT_EQ(package(repo)["version_count"], 2);
  EXPECT_EQ(package(repo)["size"], other.blob_bytes() + m.amd64.blob_bytes() + m.arm64.blob_bytes());
  EXPECT_EQ(pull(repo, "v1").header("Docker-Content-Digest"), m.index.digest);
}

TEST_F(PackagesPurgeTest, APurgeKeepsAPlatformManifestAnotherIndexLists) {
  const std::string repo = new_repo("purge-shared");
  Image a = image(repo, "", "amd64"), b = image(repo, "", "arm64"), c = image(repo, "", "arm64", "v8");
  const json amd64 = {{"os", "linux"}, {"architecture", "amd64"}}, arm64 = {{"os", "linux"}, {"architecture", "arm64"}};
  Pushed one = index(repo, "v1", {{a.manifest, amd64}, {b.manifest, arm64}});
  Pushed two = index(repo, "v2", {{a.manifest, amd64}, {c.manifest, arm64}});
  ASSERT_EQ(delete_version(repo, version_of(repo, one.digest)["id"]).status, 204);
  ASSERT_TRUE(eventually([&] { return versions(repo, "deleted").empty(); }, 15s));
  std::this_thread::sleep_for(2s);  // another sweep, for the children of the purged index
  EXPECT_EQ(pull(repo, "v2").status, 200);
  EXPECT_EQ(pull(repo, a.manifest.digest).status, 200);
  EXPECT_EQ(pull(repo, c.manifest.digest).status, 200);
  EXPECT_TRUE(IsOciError(pull(repo, b.manifest.digest), 404, "MANIFEST_UNKNOWN"));
  json v = version_of(repo, two.digest);
  EXPECT_EQ(v["metadata"]["container"]["platforms"].size(), 2u);
  EXPECT_EQ(v["metadata"]["container"]["size"], a.blob_bytes() + c.blob_bytes());
  EXPECT_EQ(package(repo)["size"], a.blob_bytes() + c.blob_bytes());
  // b can come back, as a version of its own.
  put(repo, "", media::kOciManifest, b.manifest.body);
  EXPECT_TRUE(version_of(repo, b.manifest.digest).is_object());
}

// Ids are stable for the life of an object and a new object is a new id (docs/packages.md; GitHub never
// reuses them): a cleanup job holding the id of a purged version must not reach a newer version with it.
TEST_F(PackagesPurgeTest, APurgedVersionsIdIsNeverGivenToAnotherVersion) {
  const std::string repo = new_repo("purge-id");
  image(repo, "v1");
  Image newest = image(repo, "v2");
  const int64_t id = version_of(repo, newest.manifest.digest)["id"];
  ASSERT_EQ(delete_version(repo, id).status, 204);
  ASSERT_TRUE(eventually([&] { return versions(repo, "deleted").empty(); }, 15s)) << "purged after the window";
  Image later = image(repo, "v3");
  json v = version_of(repo, later.manifest.digest);
  ASSERT_TRUE(v.is_object());
  EXPECT_NE(v["id"], id) << "the purged version's id was given to a new version";
  // What a stale id now reaches: a DELETE meant for the purged version would delete v3.
  Response stale = api("GET", package_path(repo) + "/versions/" + std::to_string(id));
  EXPECT_TRUE(stale.status == 404 || stale.json()["name"] != later.manifest.digest) << stale.describe();
}

TEST_F(PackagesPurgeTest, APurgedPackageCannotBeRestoredAndItsNameIsFree) {
  const std::string repo = new_repo("purge-pkg", "acme");
  Image v1 = image(repo, "v1");
  const json old = package(repo);
  ASSERT_EQ(api("DELETE", package_path(repo)).status, 204);
  // Two sweeps after the window; then the restore finds nothing (404), where a restorable package would
  // answer 204 (so it is asked once only).
  std::this_thread::sleep_for(4s);
  Response restore = api("POST", package_path(repo) + "/restore");
  EXPECT_EQ(restore.status, 404) << "the deleted package was not purged\n" << restore.describe();
  EXPECT_TRUE(IsOciError(pull(repo, "v1"), 404, "NAME_UNKNOWN") || IsOciError(pull(repo, "v1"), 404, "MANIFEST_UNKNOWN"));
  Image again = image(repo, "v1");
  json now = package(repo);
  EXPECT_NE(now["id"], old["id"]);
  EXPECT_EQ(now["version_count"], 1);
  EXPECT_EQ(now["size"], again.blob_bytes());
  EXPECT_EQ(owner_size("acme"), again.blob_bytes() + 0) << "nothing of the purged package counts";
}

// docs/packages.md: "org.opencontainers.image.description (at most 512 characters)": characters, not bytes.
TEST_F(PackagesModelTest, DescriptionIsCutAt512CharactersNotBytes) {
  const std::string repo = new_repo("unicode");
  std::string text;
  for (int i = 0; i < 600; ++i) text += "\xc3\xa9";  // U+00E9, two bytes in UTF-8
  Image img = image(repo, "v1", "amd64", "", 100, {{"org.opencontainers.image.description", text}});
  const std::string got = version_of(repo, img.manifest.digest).value("description", "");
  EXPECT_EQ(got.size(), 1024u) << "512 characters (1024 bytes of UTF-8) expected";
  EXPECT_TRUE(got == text.substr(0, got.size())) << "a prefix of the label";
}

}  // namespace
}  // namespace berth::test
