// Teams over real HTTP: a team's role on an org package counts for its members on /v2/ and in the grants
// of /token, only for members of the org, and stops counting as soon as the member leaves the team.
// Teams are managed with the real `berth admin team …` CLI against the server's data directory.
#include <gtest/gtest.h>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"
#include "support/registry_process.h"

namespace berth::test {
namespace {

// acme (admin: alice) has members erin and frank; oscar is in no org. acme/app is private, pushed by
// alice; the team `builders` (erin) has write on it and `readers` (frank) read.
class AuthTeams : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}});
    if (server_->external()) GTEST_SKIP() << "needs a server started by the test";
    const auto dir = server_->data_dir();
    for (const char* user : {"alice", "erin", "frank", "oscar"}) {
      admin_or_throw(dir, {"user", "create", user});
      creds_[user] = basic_auth(user, admin_or_throw(dir, {"token", "create", "--user", user, "--scopes",
                                                          "read:packages,write:packages,delete:packages"}));
    }
    admin_or_throw(dir, {"org", "create", "acme", "--admin", "alice"});
    admin_or_throw(dir, {"org", "add-member", "acme", "erin", "--role", "member"});
    admin_or_throw(dir, {"org", "add-member", "acme", "frank", "--role", "member"});
    v1_ = push_image_as(server_->client(), creds_["alice"], "acme/app", "v1");
    admin_or_throw(dir, {"team", "create", "acme", "builders"});
    admin_or_throw(dir, {"team", "create", "acme", "readers"});
    admin_or_throw(dir, {"team", "add-member", "acme", "builders", "erin"});
    admin_or_throw(dir, {"team", "add-member", "acme", "readers", "frank"});
    admin_or_throw(dir, {"team", "grant", "acme", "builders", "acme/app", "write"});
    admin_or_throw(dir, {"team", "grant", "acme", "readers", "acme/app", "read"});
  }

  // The actions /token grants `who` on acme/app when asked for pull and push.
  nlohmann::json granted(const std::string& who) {
    Response r = server_->client().get("/token?service=berth&scope=" + url_encode("repository:acme/app:pull,push"),
                                       creds_[who]);
    EXPECT_EQ(r.status, 200) << r.describe();
    auto access = split_jwt(r.json().value("token", "")).payload.value("access", nlohmann::json::array());
    EXPECT_EQ(access.size(), 1u) << access;
    return access.empty() ? nlohmann::json() : access[0]["actions"];
  }

  Response start_upload(const Headers& auth) {
    return server_->client().request("POST", "/v2/acme/app/blobs/uploads/", auth, "");
  }

  std::unique_ptr<RegistryProcess> server_;
  std::map<std::string, Headers> creds_;
  PushedImage v1_;
};

TEST_F(AuthTeams, AWriteTeamMemberPushesAndPullsTheOrgPackageWithAPat) {
  const HttpClient client = server_->client();
  EXPECT_EQ(client.get("/v2/acme/app/manifests/v1", creds_["erin"]).status, 200);
  PushedImage v2 = push_image_as(client, creds_["erin"], "acme/app", "v2");
  Response pulled = client.get("/v2/acme/app/manifests/v2", creds_["erin"]);
  EXPECT_EQ(pulled.status, 200) << pulled.describe();
  EXPECT_EQ(pulled.body, v2.manifest);
  // Write is not admin: deleting stays with the org admin.
  EXPECT_TRUE(IsOciError(client.del("/v2/acme/app/manifests/" + v2.digest, creds_["erin"]), 403, "DENIED"));
}

TEST_F(AuthTeams, AReadTeamMemberPullsButIsRefusedAPush) {
  const HttpClient client = server_->client();
  EXPECT_EQ(client.get("/v2/acme/app/manifests/v1", creds_["frank"]).status, 200);
  EXPECT_TRUE(IsOciError(start_upload(creds_["frank"]), 403, "DENIED"));
  Response put = client.request("PUT", "/v2/acme/app/manifests/v2",
                                {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}, creds_["frank"][0]},
                                v1_.manifest);
  EXPECT_TRUE(IsOciError(put, 403, "DENIED"));
}

TEST_F(AuthTeams, SomeoneOutsideTheOrgCannotJoinATeamAndSeesNoPrivatePackage) {
  CliResult joined = run_admin(server_->data_dir(), {"team", "add-member", "acme", "builders", "oscar"});
  EXPECT_NE(joined.exit_code, 0) << joined.describe();
  EXPECT_NE(joined.err.find("not a member of acme"), std::string::npos) << joined.describe();
  EXPECT_EQ(admin_or_throw(server_->data_dir(), {"team", "members", "acme", "builders"}), "erin");
  const HttpClient client = server_->client();
  EXPECT_TRUE(IsOciError(client.get("/v2/acme/app/manifests/v1", creds_["oscar"]), 404, "MANIFEST_UNKNOWN"));
  EXPECT_TRUE(IsOciError(start_upload(creds_["oscar"]), 403, "DENIED"));
}

TEST_F(AuthTeams, LeavingTheTeamTakesItsRoleAway) {
  const HttpClient client = server_->client();
  ASSERT_EQ(start_upload(creds_["erin"]).status, 202);
  admin_or_throw(server_->data_dir(), {"team", "remove-member", "acme", "builders", "erin"});
  EXPECT_TRUE(IsOciError(start_upload(creds_["erin"]), 403, "DENIED"));
  EXPECT_EQ(client.get("/v2/acme/app/manifests/v1", creds_["erin"]).status, 200);  // still an org member

  // Revoking the team's role does the same for the members left in it.
  ASSERT_EQ(admin_or_throw(server_->data_dir(), {"team", "add-member", "acme", "builders", "erin"}), "");
  ASSERT_EQ(start_upload(creds_["erin"]).status, 202);
  admin_or_throw(server_->data_dir(), {"team", "revoke", "acme", "builders", "acme/app"});
  EXPECT_TRUE(IsOciError(start_upload(creds_["erin"]), 403, "DENIED"));
}

TEST_F(AuthTeams, TokenGrantsFollowTheTeamRole) {
  EXPECT_EQ(granted("erin"), nlohmann::json::array({"pull", "push"}));
  EXPECT_EQ(granted("frank"), nlohmann::json::array({"pull"}));
  EXPECT_EQ(granted("oscar"), nlohmann::json::array());
  // The granted push works with the bearer token alone.
  Response r = server_->client().get("/token?service=berth&scope=" + url_encode("repository:acme/app:pull,push"),
                                     creds_["erin"]);
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(start_upload(bearer_auth(r.json().value("token", ""))).status, 202);

  admin_or_throw(server_->data_dir(), {"team", "remove-member", "acme", "builders", "erin"});
  EXPECT_EQ(granted("erin"), nlohmann::json::array({"pull"}));
  admin_or_throw(server_->data_dir(), {"team", "grant", "acme", "readers", "acme/app", "write"});
  EXPECT_EQ(granted("frank"), nlohmann::json::array({"pull", "push"}));
}

TEST_F(AuthTeams, TeamCommandsCheckTheirArgumentsAndAreAudited) {
  const auto dir = server_->data_dir();
  EXPECT_EQ(admin_or_throw(dir, {"team", "list", "acme"}), "builders\nreaders");
  // A package of another owner, a missing package, a missing team, a bad name, a duplicate.
  push_image_as(server_->client(), creds_["oscar"], "oscar/tool", "v1");
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"team", "grant", "acme", "builders", "oscar/tool", "read"},
                                             {"team", "grant", "acme", "builders", "acme/missing", "read"},
                                             {"team", "grant", "acme", "nobody", "acme/app", "read"},
                                             {"team", "grant", "acme", "builders", "acme/app", "owner"},
                                             {"team", "create", "acme", "Bad Name"},
                                             {"team", "create", "acme", "builders"},
                                             {"team", "create", "oscar", "builders"},
                                             {"team", "members", "acme", "nobody"},
                                             {"team", "revoke", "acme", "builders", "acme/other"},
                                             {"team", "list", "nobody"}}) {
    CliResult r = run_admin(dir, args);
    EXPECT_NE(r.exit_code, 0) << r.describe();
  }
  admin_or_throw(dir, {"team", "remove-member", "acme", "readers", "frank"});
  admin_or_throw(dir, {"team", "revoke", "acme", "readers", "acme/app"});
  admin_or_throw(dir, {"team", "delete", "acme", "readers"});
  EXPECT_EQ(admin_or_throw(dir, {"team", "list", "acme"}), "builders");

  std::string audit = admin_or_throw(dir, {"audit", "--limit", "1000"});
  for (const char* action : {"team.create", "team.delete", "team.member.add", "team.member.remove", "team.grant",
                             "team.revoke"}) {
    EXPECT_NE(audit.find(std::string("\t") + action + "\t"), std::string::npos) << action << "\n" << audit;
  }
  EXPECT_NE(audit.find("\tadmin:"), std::string::npos) << audit;
  EXPECT_NE(audit.find("\tteam.grant\tacme/app\tallowed\tcli\tteam=acme/builders role=write"), std::string::npos)
      << audit;
}

}  // namespace
}  // namespace berth::test
