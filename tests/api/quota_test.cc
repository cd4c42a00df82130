// Storage quotas (docs/lifecycle.md, "Quotas") against a real server: the manifest push that would take
// an owner or a package over its limit is refused with DENIED giving usage and limit, leaves nothing
// behind (no manifest, no tag, no version, usage unchanged), shared layers count once, deleting frees
// room, and skopeo sees the refusal too. Usage and limit are visible in `berth admin quota show` and in
// the packages API's owner object. A restore is held to the quotas as a push is.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/registry_process.h"
#include "support/run_command.h"

namespace berth::test {
namespace {

using json = nlohmann::json;

class QuotaTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    server_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_GC_ENABLED", "false"}}});
    if (server_->external()) GTEST_SKIP() << "needs a server started by the test";
    use_registry(*server_);
    admin({"user", "create", "qadmin"});
    admin({"org", "create", "qorg", "--admin", "qadmin"});
  }
  std::string admin(const std::vector<std::string>& args) { return admin_or_throw(server_->data_dir(), args); }
  uint64_t usage() { return json::parse(client().get("/api/v3/orgs/qorg").body)["packages_size"].get<uint64_t>(); }

  // An image whose layer has `layer_size` fresh bytes (and, when given, also the layer `shared`).
  Response push_sized(const std::string& repo, const std::string& tag, size_t layer_size,
                      std::optional<Descriptor> shared = std::nullopt, Descriptor* layer_out = nullptr) {
    const std::string config = R"({"architecture":"amd64","os":"linux","n":")" + sha256(random_bytes(8)) + "\"}";
    const std::string layer = random_bytes(layer_size);
    Descriptor c{media::kOciConfig, push_blob(repo, config), config.size()};
    Descriptor l{media::kOciLayer, push_blob(repo, layer), layer.size()};
    if (layer_out) *layer_out = l;
    std::vector<Descriptor> layers = {l};
    if (shared) layers.push_back(*shared);  // already in the repository (mounted by the caller)
    return put_manifest(repo, tag, media::kOciManifest, oci_manifest(c, layers));
  }

  std::unique_ptr<RegistryProcess> server_;
};

TEST_F(QuotaTest, APushOverTheOwnersQuotaIsRefusedAndLeavesNothingBehind) {
  admin({"quota", "set", "--owner", "qorg", "6000"});
  Descriptor shared;
  ASSERT_EQ(push_sized("qorg/app", "one", 2000, std::nullopt, &shared).status, 201);
  const uint64_t after_one = usage();
  EXPECT_GT(after_one, 2000u);
  // The same layer in another package of the owner counts once.
  auto mounted = client().request("POST", "/v2/qorg/other/blobs/uploads/?mount=" + shared.digest + "&from=qorg/app");
  ASSERT_EQ(mounted.status, 201) << mounted.describe();
  ASSERT_EQ(push_sized("qorg/other", "two", 10, shared).status, 201);
  EXPECT_LT(usage(), after_one + 200) << "a shared layer was counted twice";

  const uint64_t before = usage();
  auto refused = push_sized("qorg/app", "big", 5000);
  EXPECT_TRUE(IsOciError(refused, 403, "DENIED")) << refused.describe();
  EXPECT_NE(refused.body.find("storage quota exceeded: owner qorg would use"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("of its 6000"), std::string::npos) << refused.body;
  EXPECT_EQ(client().get("/v2/qorg/app/manifests/big").status, 404) << "a refused push left its tag";
  EXPECT_EQ(usage(), before);
  auto versions = json::parse(client().get("/api/v3/orgs/qorg/packages/container/app/versions").body);
  EXPECT_EQ(versions.size(), 1u) << versions.dump();
  EXPECT_EQ(json::parse(client().get("/api/v3/orgs/qorg").body)["packages_quota"], 6000);
  std::string shown = admin({"quota", "show", "--owner", "qorg"});
  EXPECT_NE(shown.find("owner qorg\t" + std::to_string(before) + "\t6000"), std::string::npos) << shown;

  // Deleting a version frees its bytes: the push fits now.
  auto one = client().head("/v2/qorg/other/manifests/two", {{"Accept", media::kOciManifest}});
  ASSERT_EQ(client().del("/v2/qorg/other/manifests/" + one.header("Docker-Content-Digest")).status, 202);
  auto one_app = client().head("/v2/qorg/app/manifests/one", {{"Accept", media::kOciManifest}});
  ASSERT_EQ(client().del("/v2/qorg/app/manifests/" + one_app.header("Docker-Content-Digest")).status, 202);
  EXPECT_EQ(push_sized("qorg/app", "big", 5000).status, 201);
}

TEST_F(QuotaTest, APackageLimitHoldsInsideAnUnlimitedOwner) {
  ASSERT_EQ(push_sized("qorg/small", "seed", 100).status, 201);
  admin({"quota", "set", "--package", "qorg/small", "1KiB"});
  auto refused = push_sized("qorg/small", "big", 2000);
  EXPECT_TRUE(IsOciError(refused, 403, "DENIED")) << refused.describe();
  EXPECT_NE(refused.body.find("package qorg/small would use"), std::string::npos) << refused.body;
  EXPECT_EQ(push_sized("qorg/large", "big", 2000).status, 201) << "another package of the owner is not limited";
  admin({"quota", "set", "--package", "qorg/small", "none"});
  EXPECT_EQ(push_sized("qorg/small", "big", 2000).status, 201);
}

TEST_F(QuotaTest, ARestoreThatWouldExceedTheQuotaIsRefusedUntilThereIsRoom) {
  ASSERT_EQ(push_sized("qorg/back", "old", 3000).status, 201);
  auto version = json::parse(client().get("/api/v3/orgs/qorg/packages/container/back/versions").body).at(0);
  const std::string id = std::to_string(version["id"].get<int64_t>());
  ASSERT_EQ(client().del("/api/v3/orgs/qorg/packages/container/back/versions/" + id).status, 204);
  ASSERT_EQ(push_sized("qorg/back", "new", 3000).status, 201);
  const uint64_t before = usage();
  admin({"quota", "set", "--owner", "qorg", std::to_string(before + 1000)});

  auto refused = client().request("POST", "/api/v3/orgs/qorg/packages/container/back/versions/" + id + "/restore");
  EXPECT_EQ(refused.status, 403) << refused.describe();
  EXPECT_NE(refused.body.find("storage quota exceeded: owner qorg"), std::string::npos) << refused.body;
  EXPECT_EQ(usage(), before) << "a refused restore changed the usage";
  EXPECT_EQ(client().get("/v2/qorg/back/manifests/old").status, 404) << "a refused restore brought the tag back";
  auto deleted = json::parse(client().get("/api/v3/orgs/qorg/packages/container/back/versions?state=deleted").body);
  EXPECT_EQ(deleted.size(), 1u) << deleted.dump();

  // A package restore is held to the same limit.
  ASSERT_EQ(client().del("/api/v3/orgs/qorg/packages/container/back").status, 204);
  ASSERT_EQ(push_sized("qorg/filler", "x", 500).status, 201);
  admin({"quota", "set", "--owner", "qorg", std::to_string(usage() + 1000)});
  auto package = client().request("POST", "/api/v3/orgs/qorg/packages/container/back/restore");
  EXPECT_EQ(package.status, 403) << package.describe();
  EXPECT_EQ(client().get("/v2/qorg/back/manifests/new").status, 404);

  admin({"quota", "set", "--owner", "qorg", "none"});
  EXPECT_EQ(client().request("POST", "/api/v3/orgs/qorg/packages/container/back/restore").status, 204);
  EXPECT_EQ(client().request("POST", "/api/v3/orgs/qorg/packages/container/back/versions/" + id + "/restore").status,
            204);
  EXPECT_EQ(client().get("/v2/qorg/back/manifests/old").status, 200);
}

TEST_F(QuotaTest, SkopeoSeesTheRefusalAndNothingIsHalfWritten) {
  if (std::system("command -v skopeo >/dev/null 2>&1") != 0) GTEST_SKIP() << "skopeo is not installed";
  ASSERT_EQ(push_sized("free/app", "v1", 3000).status, 201);
  admin({"quota", "set", "--owner", "qorg", "1000"});
  const std::string base = "docker://" + server_->host() + ":" + std::to_string(server_->port());
  int code = -1;
  std::string out = run_command("skopeo copy --src-tls-verify=false --dest-tls-verify=false " + base +
                                    "/free/app:v1 " + base + "/qorg/app:v1 2>&1",
                                &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("storage quota exceeded"), std::string::npos) << out;
  EXPECT_EQ(client().get("/v2/qorg/app/manifests/v1").status, 404);
  EXPECT_EQ(usage(), 0u);
}

}  // namespace
}  // namespace berth::test
