// Per-owner settings: whether packages are created by their first push (GHCR) or must exist first
// (ECR), and the default visibility of new packages; and the role a creating org member receives.
#include <gtest/gtest.h>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"
#include "support/registry_process.h"

namespace berth::test {
namespace {

class OwnerSettings : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}});
    if (server_->external()) GTEST_SKIP() << "needs a server started by the test";
    const auto dir = server_->data_dir();
    admin_or_throw(dir, {"user", "create", "alice"});
    admin_or_throw(dir, {"user", "create", "carol"});
    admin_or_throw(dir, {"org", "create", "acme", "--admin", "alice"});
    admin_or_throw(dir, {"org", "add-member", "acme", "carol", "--role", "member"});
    alice_ = basic_auth("alice", admin_or_throw(dir, {"token", "create", "--user", "alice", "--scopes",
                                                      "read:packages,write:packages,delete:packages"}));
    carol_ = basic_auth("carol", admin_or_throw(dir, {"token", "create", "--user", "carol", "--scopes",
                                                      "read:packages,write:packages,delete:packages"}));
  }

  std::unique_ptr<RegistryProcess> server_;
  Headers alice_, carol_;
};

TEST_F(OwnerSettings, PackagesMustExistBeforeTheFirstPushWhenTheOwnerSaysSo) {
  admin_or_throw(server_->data_dir(), {"owner", "acme", "--create-on-push", "false"});
  const HttpClient client = server_->client();
  // Even the org admin cannot create a package by pushing to it.
  EXPECT_TRUE(IsOciError(client.request("POST", "/v2/acme/new-app/blobs/uploads/", alice_, ""), 403, "DENIED"));
  Response put = client.request("PUT", "/v2/acme/new-app/manifests/v1",
                                {{"Content-Type", "application/vnd.oci.image.manifest.v1+json"}, alice_[0]}, "{}");
  EXPECT_TRUE(IsOciError(put, 403, "DENIED"));
  // Once an administrator has created it, the same push goes through.
  admin_or_throw(server_->data_dir(), {"package", "visibility", "acme/new-app", "private"});
  push_image_as(client, alice_, "acme/new-app", "v1");
  EXPECT_EQ(client.get("/v2/acme/new-app/manifests/v1", alice_).status, 200);
}

TEST_F(OwnerSettings, NewPackagesTakeTheOwnersDefaultVisibility) {
  const HttpClient client = server_->client();
  push_image_as(client, alice_, "alice/private-by-default", "v1");
  EXPECT_EQ(client.get("/v2/alice/private-by-default/manifests/v1").status, 401) << "private: anonymous is challenged";

  admin_or_throw(server_->data_dir(), {"owner", "alice", "--default-visibility", "public"});
  push_image_as(client, alice_, "alice/public-by-default", "v1");
  Response anonymous = client.get("/v2/alice/public-by-default/manifests/v1");
  EXPECT_EQ(anonymous.status, 200) << anonymous.describe();
  // The change applies to new packages only.
  EXPECT_EQ(client.get("/v2/alice/private-by-default/manifests/v1").status, 401);
}

TEST_F(OwnerSettings, AnOrgMemberWhoCreatesAPackageAdministersItButCannotDeleteIt) {
  const HttpClient client = server_->client();
  PushedImage image = push_image_as(client, carol_, "acme/carol-app", "v1");
  std::string roles = admin_or_throw(server_->data_dir(), {"package", "roles", "acme/carol-app"});
  EXPECT_NE(roles.find("carol\tadmin"), std::string::npos) << roles;
  // Deleting an org-owned package needs an org admin, whatever the package role and token scopes.
  EXPECT_TRUE(IsOciError(client.request("DELETE", "/v2/acme/carol-app/manifests/" + image.digest, carol_, ""), 403,
                         "DENIED"));
  EXPECT_EQ(client.request("DELETE", "/v2/acme/carol-app/manifests/" + image.digest, alice_, "").status, 202);
}

}  // namespace
}  // namespace berth::test
