// Immutable tags and the semver policy (docs/lifecycle.md) against a real server, set up with the real
// `berth admin`: a protected tag neither moves nor goes (DENIED naming the rule, for our HTTP client and
// for skopeo), floating tags move, owner rules cover every package and package rules one, and the semver
// policy's table of cases (pre-releases, build metadata, the v prefix, an older release pushed late) and
// its moving of the floating tags of a line.
#include <gtest/gtest.h>

#include <map>
#include <memory>
#include <string>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/registry_process.h"
#include "support/run_command.h"

namespace berth::test {
namespace {

class TagRulesTest : public ApiTest {
 protected:
  static void SetUpTestSuite() {
    server_ = new RegistryProcess(RegistryProcess::Options{.env = {{"BERTH_GC_ENABLED", "false"}}});
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
  }
  void SetUp() override {
    ApiTest::SetUp();
    if (server_->external()) GTEST_SKIP() << "needs a server started by the test";
    use_registry(*server_);
  }
  std::string admin(const std::vector<std::string>& args) { return admin_or_throw(server_->data_dir(), args); }

  // The digest the tag points at now ("" when it does not resolve).
  std::string tagged(const std::string& repo, const std::string& tag) {
    auto r = client().head("/v2/" + repo + "/manifests/" + tag, {{"Accept", media::kOciManifest}});
    return r.status == 200 ? r.header("Docker-Content-Digest") : "";
  }
  // Pushes a fresh image under `tag`: the response of its manifest PUT.
  Response push_under(const std::string& repo, const std::string& tag, Image* image_out = nullptr) {
    Image image = push_image(repo);  // by digest first
    if (image_out) *image_out = image;
    return put_manifest(repo, tag, media::kOciManifest, image.manifest);
  }

  static RegistryProcess* server_;
};
RegistryProcess* TagRulesTest::server_ = nullptr;

TEST_F(TagRulesTest, AnImmutableTagNeitherMovesNorGoesButFloatingTagsMove) {
  const std::string owner = "immut" + sha256(random_bytes(4)).substr(7, 8);
  const std::string repo = owner + "/app";
  admin({"tag-rule", "add", "--owner", owner, "v*"});
  Image first;
  ASSERT_EQ(push_under(repo, "v1.0", &first).status, 201);
  ASSERT_EQ(push_under(repo, "latest").status, 201);

  auto moved = push_under(repo, "v1.0");
  EXPECT_TRUE(IsOciError(moved, 403, "DENIED")) << moved.describe();
  EXPECT_NE(moved.body.find("rule 'v*' of owner " + owner), std::string::npos) << moved.body;
  EXPECT_EQ(tagged(repo, "v1.0"), first.digest);
  EXPECT_EQ(put_manifest(repo, "v1.0", media::kOciManifest, first.manifest).status, 201) << "same bytes again";

  EXPECT_EQ(push_under(repo, "latest").status, 201) << "a tag no rule matches moves";
  EXPECT_TRUE(IsOciError(client().del("/v2/" + repo + "/manifests/v1.0"), 403, "DENIED"));
  EXPECT_TRUE(IsOciError(client().del("/v2/" + repo + "/manifests/" + first.digest), 403, "DENIED"));
  EXPECT_EQ(tagged(repo, "v1.0"), first.digest);

  std::string listed = admin({"tag-rule", "list", "--owner", owner});
  EXPECT_NE(listed.find("owner " + owner + "\tv*"), std::string::npos) << listed;
}

TEST_F(TagRulesTest, APackageRuleCoversOnlyItsPackageAndRemovingARuleFreesTheTag) {
  const std::string owner = "pkgrule" + sha256(random_bytes(4)).substr(7, 8);
  const std::string id = admin({"tag-rule", "add", "--package", owner + "/locked", "release-?"});
  ASSERT_EQ(push_under(owner + "/locked", "release-1").status, 201);
  ASSERT_EQ(push_under(owner + "/free", "release-1").status, 201);
  EXPECT_TRUE(IsOciError(push_under(owner + "/locked", "release-1"), 403, "DENIED"));
  EXPECT_EQ(push_under(owner + "/locked", "release-10").status, 201) << "'?' is one character";
  EXPECT_EQ(push_under(owner + "/locked", "release-10").status, 201);
  EXPECT_EQ(push_under(owner + "/free", "release-1").status, 201);
  admin({"tag-rule", "remove", "--owner", owner, id});
  EXPECT_EQ(push_under(owner + "/locked", "release-1").status, 201);
}

// The table of semver cases, in push order: each push either lands or is refused with the policy's reason.
TEST_F(TagRulesTest, TheSemverPolicyKeepsReleasesImmutableAndIncreasing) {
  const std::string repo = "semver" + sha256(random_bytes(4)).substr(7, 8) + "/app";
  ASSERT_EQ(push_under(repo, "0.9.0").status, 201);  // before the policy: anything goes
  admin({"package", "semver", repo, "on"});
  struct Case {
    std::string tag;
    bool lands;
    std::string reason;  // part of the refusal's message
  };
  const std::vector<Case> cases = {
      {"1.2.3", true, ""},
      {"1.2.3", false, "immutable under this package's semver policy"},   // moving a release
      {"v1.3.0", true, ""},                                              // the v prefix is a release too
      {"1.2.4", false, "not newer than 'v1.3.0'"},                       // an older release pushed late
      {"1.3.0", false, "not newer than 'v1.3.0'"},                       // equal precedence is not newer
      {"1.4.0-rc.1", true, ""},                                          // pre-releases need not increase
      {"1.4.0-beta.2", true, ""},
      {"1.4.0-rc.1", false, "immutable"},                                // but are immutable
      {"1.4.0_build.5", true, ""},                                       // '_' stands for '+'
      {"1.4.0", false, "not newer than '1.4.0_build.5'"},                // build metadata has no precedence
      {"1.10.0", true, ""},                                              // numeric, not string, order
      {"latest", true, ""},                                              // floating tags move
      {"latest", true, ""},
      {"1.4", true, ""},
      {"1.4", true, ""},
      {"01.2.3", true, ""},                                              // not a semantic version at all
  };
  for (const Case& c : cases) {
    auto r = push_under(repo, c.tag);
    if (c.lands) {
      EXPECT_EQ(r.status, 201) << c.tag << ": " << r.describe();
    } else {
      EXPECT_TRUE(IsOciError(r, 403, "DENIED")) << c.tag << ": " << r.describe();
      EXPECT_NE(r.body.find(c.reason), std::string::npos) << c.tag << ": " << r.body;
    }
  }
}

TEST_F(TagRulesTest, TheNewestReleaseOfALineMovesItsFloatingTags) {
  const std::string repo = "floating" + sha256(random_bytes(4)).substr(7, 8) + "/app";
  ASSERT_EQ(push_under(repo, "seed").status, 201);
  admin({"package", "semver", repo, "move-floating"});
  Image v123, v124, v130, rc;
  ASSERT_EQ(push_under(repo, "v1.2.3", &v123).status, 201);
  EXPECT_EQ(tagged(repo, "v1.2"), v123.digest);
  EXPECT_EQ(tagged(repo, "v1"), v123.digest);
  ASSERT_EQ(push_under(repo, "v1.2.4", &v124).status, 201);
  EXPECT_EQ(tagged(repo, "v1.2"), v124.digest);
  ASSERT_EQ(push_under(repo, "v1.3.0", &v130).status, 201);
  EXPECT_EQ(tagged(repo, "v1.3"), v130.digest);
  EXPECT_EQ(tagged(repo, "v1"), v130.digest);
  EXPECT_EQ(tagged(repo, "v1.2"), v124.digest) << "the 1.2 line keeps its newest";
  ASSERT_EQ(push_under(repo, "v2.0.0-rc.1", &rc).status, 201);
  EXPECT_EQ(tagged(repo, "v2"), "") << "a pre-release moves nothing";
  auto tags = client().get("/v2/" + repo + "/tags/list");
  EXPECT_NE(tags.body.find("\"v1.2\""), std::string::npos) << tags.body;
}

// The package's rules through Berth's JSON API: added, listed (with the owner's), enforced, removed.
TEST_F(TagRulesTest, PackageRulesAreManagedThroughTheJsonApi) {
  const std::string owner = "apirule" + sha256(random_bytes(4)).substr(7, 8);
  const std::string repo = owner + "/app";
  ASSERT_EQ(push_under(repo, "stable").status, 201);
  admin({"tag-rule", "add", "--owner", owner, "release-*"});
  const std::string base = "/api/v3/users/" + owner + "/packages/container/app/_berth/tag-rules";
  auto bad = client().request("POST", base, {{"Content-Type", "application/json"}}, R"({"pattern":"no spaces"})");
  EXPECT_EQ(bad.status, 422) << bad.describe();
  auto added = client().request("POST", base, {{"Content-Type", "application/json"}}, R"({"pattern":"stable"})");
  ASSERT_EQ(added.status, 201) << added.describe();
  const int64_t id = nlohmann::json::parse(added.body)["id"];
  auto listed = nlohmann::json::parse(client().get(base).body);
  ASSERT_EQ(listed.size(), 2u) << listed.dump();
  EXPECT_EQ(listed[0]["scope"], "owner");
  EXPECT_EQ(listed[1]["pattern"], "stable");
  EXPECT_TRUE(IsOciError(push_under(repo, "stable"), 403, "DENIED"));
  EXPECT_EQ(client().del(base + "/" + std::to_string(listed[0]["id"].get<int64_t>())).status, 404)
      << "an owner's rule is not removed through one package";
  EXPECT_EQ(client().del(base + "/" + std::to_string(id)).status, 204);
  EXPECT_EQ(push_under(repo, "stable").status, 201);
}

// A real client sees the refusal and its reason.
TEST_F(TagRulesTest, SkopeoCannotMoveAnImmutableTagAndSaysWhy) {
  if (std::system("command -v skopeo >/dev/null 2>&1") != 0) GTEST_SKIP() << "skopeo is not installed";
  const std::string owner = "skopeo" + sha256(random_bytes(4)).substr(7, 8);
  const std::string repo = owner + "/app";
  admin({"tag-rule", "add", "--owner", owner, "stable"});
  ASSERT_EQ(push_under(repo, "stable").status, 201);
  ASSERT_EQ(push_under(repo, "candidate").status, 201);
  const std::string base = "docker://" + server_->host() + ":" + std::to_string(server_->port()) + "/" + repo;
  int code = -1;
  std::string out = run_command("skopeo copy --src-tls-verify=false --dest-tls-verify=false " + base + ":candidate " +
                                    base + ":stable 2>&1",
                                &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("immutable"), std::string::npos) << out;
  out = run_command("skopeo copy --src-tls-verify=false --dest-tls-verify=false " + base + ":stable " + base +
                        ":candidate 2>&1",
                    &code);
  EXPECT_EQ(code, 0) << "a tag no rule matches moves: " << out;
}

}  // namespace
}  // namespace berth::test
