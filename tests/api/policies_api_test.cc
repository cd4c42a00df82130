// Berth's own policy endpoints with authentication on (docs/lifecycle.md, "Through the API"): an owner's
// immutable tag rules and retention policy under /orgs/ORG/_berth/ and /users/USER/_berth/, a package's
// semver policy, and storage quotas (read-only through the API). Who may do what: org members read, org
// admins change, anyone else learns nothing (404), CI tokens never, and a token needs delete:packages to
// change what decides deletions. What is set through the API is what the registry then enforces.
#include <gtest/gtest.h>

#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "support/admin_cli.h"
#include "support/auth_helpers.h"
#include "support/registry_process.h"
#include "support/shared_world.h"

namespace berth::test {
namespace {

using json = nlohmann::json;

constexpr const char* kAllScopes = "read:packages,write:packages,delete:packages";

struct PoliciesWorld {
  std::unique_ptr<RegistryProcess> server;
  std::map<std::string, std::string> tokens;  // key → secret
};

class PoliciesApiTest : public SharedWorldTest<PoliciesWorld> {
 protected:
  static void SetUpTestSuite() { build_world(populate); }

  static void populate(PoliciesWorld& w) {
    w.server = std::make_unique<RegistryProcess>(RegistryProcess::Options{
        .env = {{"BERTH_AUTH_ENABLED", "true"}, {"BERTH_GC_ENABLED", "false"}}});
    if (w.server->external()) return;
    auto admin = [&](std::vector<std::string> args) { return admin_or_throw(w.server->data_dir(), args); };
    for (const char* user : {"alice", "carol", "dave"}) admin({"user", "create", user});
    admin({"org", "create", "acme", "--admin", "alice"});
    admin({"org", "add-member", "acme", "carol", "--role", "member"});
    w.tokens["alice"] = admin({"token", "create", "--user", "alice", "--scopes", kAllScopes});
    w.tokens["alice-rw"] = admin({"token", "create", "--user", "alice", "--scopes", "read:packages,write:packages"});
    w.tokens["carol"] = admin({"token", "create", "--user", "carol", "--scopes", kAllScopes});
    w.tokens["dave"] = admin({"token", "create", "--user", "dave", "--scopes", kAllScopes});
    w.tokens["ci"] = admin({"token", "create", "--ci", "--user", "alice", "--packages", "acme/app", "--scopes",
                            kAllScopes, "--ttl", "1h"});
    push_image_as(w.server->client(), basic_auth("alice", w.tokens["alice"]), "acme/app", "v1");
    push_image_as(w.server->client(), basic_auth("alice", w.tokens["alice"]), "alice/tool", "v1");
  }

  Headers as(const std::string& key) const {
    if (key.empty()) return {};
    return {{"Authorization", "token " + world_->tokens.at(key)}};
  }
  Response call(const std::string& method, const std::string& path, const std::string& who,
                const std::string& body = "") const {
    Headers h = as(who);
    if (!body.empty()) h.emplace_back("Content-Type", "application/json");
    return world_->server->client().request(method, "/api/v3" + path, h, body);
  }
  std::string admin(const std::vector<std::string>& args) const {
    return admin_or_throw(world_->server->data_dir(), args);
  }
  // Pushes a fresh image under `tag` as alice: the manifest PUT's status.
  int push_as_alice(const std::string& repo, const std::string& tag) const {
    const Headers alice = basic_auth("alice", world_->tokens.at("alice"));
    PushedImage image = push_image_as(world_->server->client(), alice, repo);
    Headers h = alice;
    h.emplace_back("Content-Type", "application/vnd.oci.image.manifest.v1+json");
    return world_->server->client().request("PUT", "/v2/" + repo + "/manifests/" + tag, h, image.manifest).status;
  }
};

TEST_F(PoliciesApiTest, OrgAdminsManageOwnerTagRulesMembersReadThemOthersSeeNothing) {
  const std::string rules = "/orgs/acme/_berth/tag-rules";
  EXPECT_EQ(call("POST", rules, "carol", R"({"pattern":"rel-*"})").status, 403) << "a member changed owner rules";
  EXPECT_EQ(call("POST", rules, "dave", R"({"pattern":"rel-*"})").status, 404) << "an outsider learned of the org's rules";
  EXPECT_EQ(call("POST", rules, "ci", R"({"pattern":"rel-*"})").status, 404) << "a CI token reached owner rules";
  EXPECT_EQ(call("POST", rules, "", R"({"pattern":"rel-*"})").status, 401);
  auto no_scope = call("POST", rules, "alice-rw", R"({"pattern":"rel-*"})");
  EXPECT_EQ(no_scope.status, 403) << no_scope.describe();
  EXPECT_NE(no_scope.body.find("delete:packages"), std::string::npos) << no_scope.body;
  EXPECT_EQ(call("POST", rules, "alice", R"({"pattern":"[bad"})").status, 422);

  auto added = call("POST", rules, "alice", R"({"pattern":"rel-*"})");
  ASSERT_EQ(added.status, 201) << added.describe();
  const int64_t id = json::parse(added.body)["id"].get<int64_t>();
  EXPECT_EQ(json::parse(added.body)["scope"], "owner");

  // Members read the owner's rules; a package of the owner lists them too.
  auto listed = call("GET", rules, "carol");
  ASSERT_EQ(listed.status, 200) << listed.describe();
  ASSERT_EQ(json::parse(listed.body).size(), 1u) << listed.body;
  EXPECT_EQ(json::parse(listed.body)[0]["pattern"], "rel-*");
  EXPECT_EQ(call("GET", rules, "dave").status, 404);
  auto of_package = call("GET", "/orgs/acme/packages/container/app/_berth/tag-rules", "alice");
  ASSERT_EQ(of_package.status, 200);
  EXPECT_EQ(json::parse(of_package.body)[0]["scope"], "owner") << of_package.body;
  // A package cannot remove its owner's rule; the owner endpoint can.
  EXPECT_EQ(call("DELETE", "/orgs/acme/packages/container/app/_berth/tag-rules/" + std::to_string(id), "alice").status,
            404);

  // What the API set is enforced on every package of the org.
  ASSERT_EQ(push_as_alice("acme/app", "rel-1"), 201);
  EXPECT_EQ(push_as_alice("acme/app", "rel-1"), 403) << "an owner rule set through the API did not hold";
  EXPECT_EQ(push_as_alice("acme/other", "rel-1"), 201);
  EXPECT_EQ(push_as_alice("acme/other", "rel-1"), 403);
  EXPECT_EQ(call("DELETE", rules + "/" + std::to_string(id), "carol").status, 403);
  EXPECT_EQ(call("DELETE", rules + "/" + std::to_string(id), "alice").status, 204);
  EXPECT_EQ(call("DELETE", rules + "/" + std::to_string(id), "alice").status, 404);
  EXPECT_EQ(push_as_alice("acme/app", "rel-1"), 201) << "the removed rule still held";
  EXPECT_NE(admin({"audit"}).find("tag-rule.add"), std::string::npos);
}

TEST_F(PoliciesApiTest, AnOwnersRetentionPolicyIsSetThroughItsOwnEndpoint) {
  const std::string policy = "/orgs/acme/_berth/retention";
  EXPECT_EQ(call("GET", policy, "alice").status, 404) << "no policy yet";
  EXPECT_EQ(call("PUT", policy, "carol", R"({"untagged_older_than":"30d"})").status, 403);
  EXPECT_EQ(call("PUT", policy, "alice", R"({"untagged_older_than":"soon"})").status, 422);
  auto set = call("PUT", policy, "alice", R"({"untagged_older_than":"30d"})");
  ASSERT_EQ(set.status, 200) << set.describe();
  EXPECT_EQ(json::parse(set.body)["scope"], "owner");
  EXPECT_EQ(json::parse(set.body)["updated_by"], "alice");

  // Members read it; the org's packages are under it.
  auto read = call("GET", policy, "carol");
  ASSERT_EQ(read.status, 200);
  EXPECT_EQ(json::parse(read.body)["policy"]["untagged_older_than"], 30 * 86400) << read.body;  // canonical: seconds
  auto applies = call("GET", "/orgs/acme/packages/container/app/_berth/retention", "carol");
  ASSERT_EQ(applies.status, 200) << applies.describe();
  EXPECT_EQ(json::parse(applies.body)["scope"], "owner");
  EXPECT_NE(admin({"retention", "show", "--owner", "acme"}).find("2592000"), std::string::npos);

  EXPECT_EQ(call("DELETE", policy, "alice").status, 204);
  EXPECT_EQ(call("GET", "/orgs/acme/packages/container/app/_berth/retention", "alice").status, 404);

  // A user's own: theirs alone.
  EXPECT_EQ(call("PUT", "/user/_berth/retention", "alice", R"({"untagged_older_than":"90d"})").status, 200);
  EXPECT_EQ(call("GET", "/users/alice/_berth/retention", "alice").status, 200);
  EXPECT_EQ(call("GET", "/users/alice/_berth/retention", "carol").status, 404);
  EXPECT_EQ(call("PUT", "/users/alice/_berth/retention", "dave", R"({"untagged_older_than":"1s"})").status, 404);
  EXPECT_EQ(call("GET", "/orgs/acme/_berth/nothing-here", "alice").status, 404);
}

TEST_F(PoliciesApiTest, PackageAdminsTurnTheSemverPolicyOnAndItHolds) {
  const std::string semver = "/orgs/acme/packages/container/semver-app/_berth/semver";
  ASSERT_EQ(push_as_alice("acme/semver-app", "1.0.0"), 201);
  auto off = call("GET", semver, "carol");
  ASSERT_EQ(off.status, 200) << off.describe();
  EXPECT_EQ(json::parse(off.body)["policy"], "off");
  EXPECT_EQ(call("PUT", semver, "carol", R"({"policy":"on"})").status, 403) << "a reader changed the policy";
  EXPECT_EQ(call("PUT", semver, "dave", R"({"policy":"on"})").status, 404);
  EXPECT_EQ(call("PUT", semver, "alice", R"({"policy":"sometimes"})").status, 422);
  auto on = call("PUT", semver, "alice", R"({"policy":"on"})");
  ASSERT_EQ(on.status, 200) << on.describe();
  EXPECT_EQ(json::parse(on.body)["policy"], "on");
  EXPECT_EQ(json::parse(call("GET", semver, "alice").body)["policy"], "on");

  EXPECT_EQ(push_as_alice("acme/semver-app", "0.9.0"), 403) << "an older release was accepted";
  EXPECT_EQ(push_as_alice("acme/semver-app", "1.0.0"), 403) << "a release tag moved";
  EXPECT_EQ(push_as_alice("acme/semver-app", "1.1.0"), 201);
  ASSERT_EQ(call("PUT", semver, "alice", R"({"policy":"off"})").status, 200);
  EXPECT_EQ(push_as_alice("acme/semver-app", "0.9.0"), 201);
  EXPECT_EQ(call("GET", "/orgs/acme/packages/container/missing/_berth/semver", "alice").status, 404);
}

TEST_F(PoliciesApiTest, QuotasAreReadableByMembersAndSetOnlyByOperators) {
  admin({"quota", "set", "--owner", "acme", "1GiB"});
  admin({"quota", "set", "--package", "acme/app", "10MiB"});
  auto owner = call("GET", "/orgs/acme/_berth/quota", "carol");
  ASSERT_EQ(owner.status, 200) << owner.describe();
  json body = json::parse(owner.body);
  EXPECT_EQ(body["limit_bytes"], 1024ull * 1024 * 1024);
  const auto org = json::parse(call("GET", "/orgs/acme", "alice").body);
  EXPECT_EQ(body["usage_bytes"], org["packages_size"]) << "usage differs from the org object's packages_size";
  ASSERT_EQ(body["packages"].size(), 1u) << body.dump();
  EXPECT_EQ(body["packages"][0]["name"], "acme/app");
  EXPECT_EQ(body["packages"][0]["limit_bytes"], 10 * 1024 * 1024);

  auto package = call("GET", "/orgs/acme/packages/container/app/_berth/quota", "carol");
  ASSERT_EQ(package.status, 200) << package.describe();
  json p = json::parse(package.body);
  EXPECT_EQ(p["limit_bytes"], 10 * 1024 * 1024);
  EXPECT_GT(p["usage_bytes"].get<uint64_t>(), 0u);
  EXPECT_EQ(p["owner"]["limit_bytes"], 1024ull * 1024 * 1024);
  auto unlimited = call("GET", "/users/alice/_berth/quota", "alice");
  ASSERT_EQ(unlimited.status, 200);
  EXPECT_TRUE(json::parse(unlimited.body)["limit_bytes"].is_null()) << unlimited.body;

  EXPECT_EQ(call("GET", "/orgs/acme/_berth/quota", "dave").status, 404);
  auto raise = call("PUT", "/orgs/acme/_berth/quota", "alice", R"({"limit_bytes":null})");
  EXPECT_EQ(raise.status, 403) << "an org admin lifted the org's own quota";
  EXPECT_NE(raise.body.find("berth admin quota set"), std::string::npos) << raise.body;
  EXPECT_EQ(call("PUT", "/orgs/acme/packages/container/app/_berth/quota", "alice", R"({"limit_bytes":1})").status, 403);
  EXPECT_EQ(json::parse(call("GET", "/orgs/acme/_berth/quota", "alice").body)["limit_bytes"], 1024ull * 1024 * 1024);
  admin({"quota", "set", "--owner", "acme", "none"});
  admin({"quota", "set", "--package", "acme/app", "none"});
}

}  // namespace
}  // namespace berth::test
