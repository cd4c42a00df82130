// Retention policies (docs/lifecycle.md, "Retention") against a real server: a package of 40 versions —
// multi-arch images with signatures, release tags, `latest`, `pr-*` and `sha-*` builds, untagged pushes,
// an old batch and a young one — under a policy set through Berth's own JSON API. The dry run names
// exactly the versions the run then deletes, with the rule that selects each; the kept multi-arch images
// keep their platforms and signatures and pull whole; deletions are restorable and audited.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/registry_process.h"

namespace berth::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class RetentionTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    server_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_GC_ENABLED", "false"}}});
    if (server_->external()) GTEST_SKIP() << "needs a server started by the test";
    use_registry(*server_);
  }

  std::string api(const std::string& repo, const std::string& rest) {
    const std::string owner = repo.substr(0, repo.find('/'));
    return "/api/v3/users/" + owner + "/packages/container/" + url_encode(repo.substr(repo.find('/') + 1)) + rest;
  }

  // A two-platform index under `tag` with a signature on it: the index's digest, and its parts.
  struct MultiArch {
    std::string index;
    std::vector<std::string> platforms;
    std::string signature;
  };
  MultiArch push_multi_arch(const std::string& repo, const std::string& tag) {
    MultiArch m;
    json manifests = json::array();
    for (const char* arch : {"amd64", "arm64"}) {
      Image image = push_image(repo);
      m.platforms.push_back(image.digest);
      manifests.push_back({{"mediaType", media::kOciManifest},
                           {"digest", image.digest},
                           {"size", image.manifest.size()},
                           {"platform", {{"os", "linux"}, {"architecture", arch}}}});
    }
    const std::string index = json{{"schemaVersion", 2}, {"mediaType", media::kOciIndex}, {"manifests", manifests}}.dump();
    auto r = put_manifest(repo, tag, media::kOciIndex, index);
    EXPECT_EQ(r.status, 201) << r.describe();
    m.index = sha256(index);
    m.signature = push_referrer(repo, Descriptor{media::kOciIndex, m.index, index.size()},
                                "application/vnd.dev.sigstore.bundle.v0.3+json")
                      .digest;
    return m;
  }
  std::string push_tagged(const std::string& repo, const std::string& tag) {
    Image image = push_image(repo, tag);
    return image.digest;
  }

  std::unique_ptr<RegistryProcess> server_;
};

TEST_F(RetentionTest, ADryRunNamesExactlyWhatTheRunDeletesAndKeptImagesStayWhole) {
  const std::string repo = "keeper/app";
  std::map<std::string, std::string> expected_deleted;  // digest -> what it is
  std::set<std::string> kept;
  // The old batch.
  std::vector<MultiArch> releases;
  for (int i = 0; i < 4; ++i) releases.push_back(push_multi_arch(repo, "v1.0." + std::to_string(i)));
  ASSERT_EQ(put_manifest(repo, "latest", media::kOciIndex, client().get("/v2/" + repo + "/manifests/v1.0.3",
                                                                         {{"Accept", media::kOciIndex}}).body).status,
            201);
  for (const auto& r : releases) kept.insert(r.index);
  for (int i = 1; i <= 6; ++i) expected_deleted[push_tagged(repo, "pr-" + std::to_string(i))] = "old pr";
  for (int i = 1; i <= 4; ++i) expected_deleted[push_tagged(repo, "sha-" + sha256(random_bytes(4)).substr(7, 12))] = "old sha";
  for (int i = 0; i < 10; ++i) expected_deleted[push_image(repo).digest] = "old untagged";
  {
    Image mixed = push_image(repo, "pr-11");
    ASSERT_EQ(put_manifest(repo, "v2.0.0", media::kOciManifest, mixed.manifest).status, 201);
    kept.insert(mixed.digest);
  }
  // The young batch, after a gap; the policy's age limit is set from how long the young batch took (on
  // object storage pushes are slower), so that old and young stay apart by seconds on every backend.
  std::this_thread::sleep_for(5s);
  const auto young_start = std::chrono::steady_clock::now();
  for (int i = 7; i <= 10; ++i) kept.insert(push_tagged(repo, "pr-" + std::to_string(i)));
  for (int i = 5; i <= 8; ++i) kept.insert(push_tagged(repo, "sha-" + sha256(random_bytes(4)).substr(7, 12)));
  for (int i = 0; i < 7; ++i) kept.insert(push_image(repo).digest);
  ASSERT_EQ(kept.size() + expected_deleted.size(), 40u);

  const auto young_age = std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - young_start);
  const std::string age = std::to_string(young_age.count() + 3) + "s";  // < the 5 s gap + the young batch
  const json policy = {{"keep_newest", 3},
                       {"untagged_older_than", age},
                       {"delete_tags", {"pr-*", "sha-*"}},
                       {"tagged_older_than", age},
                       {"keep_tags", {"latest", "v*"}}};
  auto set = client().request("PUT", api(repo, "/_berth/retention"), {{"Content-Type", "application/json"}}, policy.dump());
  ASSERT_EQ(set.status, 200) << set.describe();
  EXPECT_EQ(json::parse(set.body)["scope"], "package");
  auto misspelt = client().request("PUT", api(repo, "/_berth/retention"), {}, R"({"keep_newst": 3})");
  EXPECT_EQ(misspelt.status, 422) << misspelt.describe();
  EXPECT_NE(misspelt.body.find("unknown retention rule 'keep_newst'"), std::string::npos) << misspelt.body;

  auto dry = client().request("POST", api(repo, "/_berth/retention/run?dry_run=true"));
  ASSERT_EQ(dry.status, 200) << dry.describe();
  json planned = json::parse(dry.body);
  EXPECT_EQ(planned["versions"], 40);
  std::map<int64_t, std::string> planned_ids;
  for (const auto& d : planned["deletions"]) {
    const std::string digest = d["name"];
    EXPECT_TRUE(expected_deleted.count(digest)) << "the dry run would delete a version it must keep: " << d.dump();
    const std::string reason = d["reason"];
    if (d["tags"].empty()) {
      EXPECT_NE(reason.find("untagged_older_than"), std::string::npos) << reason;
    } else {
      EXPECT_NE(reason.find("delete_tags"), std::string::npos) << reason;
    }
    planned_ids[d["id"].get<int64_t>()] = digest;
  }
  EXPECT_EQ(planned_ids.size(), expected_deleted.size()) << dry.body;
  for (const auto& [digest, what] : expected_deleted) {
    EXPECT_EQ(client().get("/v2/" + repo + "/manifests/" + digest).status, 200) << "the dry run deleted " << what;
  }

  auto run = client().request("POST", api(repo, "/_berth/retention/run"));
  ASSERT_EQ(run.status, 200) << run.describe();
  json done = json::parse(run.body);
  std::map<int64_t, std::string> deleted_ids;
  for (const auto& d : done["deletions"]) deleted_ids[d["id"].get<int64_t>()] = d["name"];
  EXPECT_EQ(deleted_ids, planned_ids) << "the run did not delete exactly what the dry run named";
  EXPECT_TRUE(done["skipped"].empty());

  for (const auto& [digest, what] : expected_deleted) {
    EXPECT_EQ(client().get("/v2/" + repo + "/manifests/" + digest).status, 404) << what << " still there";
  }
  for (const auto& digest : kept) {
    EXPECT_EQ(client().get("/v2/" + repo + "/manifests/" + digest, {{"Accept", media::kOciIndex}}).status, 200)
        << "a kept version went: " << digest;
  }
  for (const auto& r : releases) {
    for (const auto& p : r.platforms) {
      auto m = client().get("/v2/" + repo + "/manifests/" + p, {{"Accept", media::kOciManifest}});
      ASSERT_EQ(m.status, 200) << "a platform of a kept multi-arch image went";
      const json manifest = json::parse(m.body);
      ASSERT_FALSE(manifest["layers"].empty());
      for (const auto& layer : manifest["layers"]) {
        EXPECT_EQ(client().get(blob_url(repo, layer["digest"])).status, 200);
      }
    }
    auto referrers = client().get("/v2/" + repo + "/referrers/" + r.index);
    EXPECT_NE(referrers.body.find(r.signature), std::string::npos) << "a kept image lost its signature";
  }
  // Deleted, not gone: the versions are listed as deleted and can be restored.
  auto deleted = client().get(api(repo, "/versions?state=deleted&per_page=100"));
  EXPECT_EQ(json::parse(deleted.body).size(), expected_deleted.size()) << deleted.body;
  const int64_t some = deleted_ids.begin()->first;
  EXPECT_EQ(client().request("POST", api(repo, "/versions/" + std::to_string(some) + "/restore")).status, 204);
  // A second dry run now names exactly the restored version, for the same reason.
  json again = json::parse(client().request("POST", api(repo, "/_berth/retention/run?dry_run=true")).body);
  ASSERT_EQ(again["deletions"].size(), 1u) << again.dump();
  EXPECT_EQ(again["deletions"][0]["id"], some);
}

TEST_F(RetentionTest, APackagePolicyReplacesItsOwnersAndTheCliShowsTheSamePlan) {
  push_image("owned/one");
  push_image("owned/two");
  push_tagged("owned/two", "keep-me");
  std::this_thread::sleep_for(1100ms);
  admin_or_throw(server_->data_dir(), {"retention", "set", "--owner", "owned", R"({"untagged_older_than":"0s"})"});
  admin_or_throw(server_->data_dir(),
                 {"retention", "set", "--package", "owned/two", R"({"delete_tags":["nothing-*"]})"});
  auto policy = client().get(api("owned/one", "/_berth/retention"));
  ASSERT_EQ(policy.status, 200);
  EXPECT_EQ(json::parse(policy.body)["scope"], "owner");
  EXPECT_EQ(json::parse(client().get(api("owned/two", "/_berth/retention")).body)["scope"], "package");

  std::string one = admin_or_throw(server_->data_dir(), {"retention", "run", "owned/one", "--dry-run"});
  EXPECT_NE(one.find("1 of 1 versions would be deleted"), std::string::npos) << one;
  std::string two = admin_or_throw(server_->data_dir(), {"retention", "run", "owned/two", "--dry-run"});
  EXPECT_NE(two.find("0 of 2 versions would be deleted"), std::string::npos) << "the owner's policy leaked: " << two;
  std::string ran = admin_or_throw(server_->data_dir(), {"retention", "run", "owned/one"});
  EXPECT_NE(ran.find("1 of 1 versions deleted"), std::string::npos) << ran;
  std::string audit = admin_or_throw(server_->data_dir(), {"audit"});
  EXPECT_NE(audit.find("retention.delete"), std::string::npos) << audit;
}

TEST_F(RetentionTest, TagsThatImmutabilityRulesProtectAreNeverDeleted) {
  const std::string rel = push_tagged("guarded/app", "rel-1");
  const std::string pr = push_tagged("guarded/app", "pr-7");
  const std::string release = push_tagged("guarded/app", "2.0.0");
  push_tagged("guarded/app", "latest");
  std::this_thread::sleep_for(1100ms);
  admin_or_throw(server_->data_dir(), {"tag-rule", "add", "--package", "guarded/app", "rel-*"});
  admin_or_throw(server_->data_dir(), {"package", "semver", "guarded/app", "on"});
  // A policy that, alone, would delete every version but the newest.
  auto set = client().request("PUT", api("guarded/app", "/_berth/retention"), {},
                              R"({"keep_newest":1,"delete_tags":["rel-*","pr-*","2*"],"tagged_older_than":"0s"})");
  ASSERT_EQ(set.status, 200) << set.describe();
  auto dry = client().request("POST", api("guarded/app", "/_berth/retention/run?dry_run=true"));
  ASSERT_EQ(dry.status, 200) << dry.describe();
  const json plan = json::parse(dry.body);
  std::set<std::string> planned;
  for (const auto& d : plan["deletions"]) planned.insert(d["name"].get<std::string>());
  EXPECT_EQ(planned, std::set<std::string>{pr}) << dry.body;
  auto run = client().request("POST", api("guarded/app", "/_berth/retention/run"));
  ASSERT_EQ(run.status, 200) << run.describe();
  EXPECT_EQ(client().get("/v2/guarded/app/manifests/" + pr).status, 404);
  EXPECT_EQ(client().get("/v2/guarded/app/manifests/rel-1").status, 200) << "an immutable tag was deleted";
  EXPECT_EQ(client().get("/v2/guarded/app/manifests/" + rel).status, 200);
  EXPECT_EQ(client().get("/v2/guarded/app/manifests/2.0.0").status, 200) << "a semver release was deleted";
  EXPECT_EQ(client().get("/v2/guarded/app/manifests/" + release).status, 200);
}

TEST_F(RetentionTest, TheScheduledRunAppliesPoliciesInTheBackground) {
  server_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_GC_ENABLED", "true"},
                                                                               {"BERTH_GC_INTERVAL_SECONDS", "1"},
                                                                               {"BERTH_GC_GRACE_SECONDS", "3600"},
                                                                               {"BERTH_RETENTION_INTERVAL_SECONDS", "1"}}});
  use_registry(*server_);
  const std::string digest = push_image("sched/app").digest;
  admin_or_throw(server_->data_dir(), {"retention", "set", "--package", "sched/app", R"({"untagged_older_than":"1s"})"});
  EXPECT_TRUE(eventually([&] { return client().get("/v2/sched/app/manifests/" + digest).status == 404; }, 15s))
      << "the scheduled run did not delete the old untagged version";
}

}  // namespace
}  // namespace berth::test
