// Finding 9 of the security review (issue 13): a bearer JWT kept working for its whole lifetime (+30 s
// of leeway) after its access token was revoked or its user lost a role. Now a JWT carries its user's
// revocation epoch, and stops working within auth.revocation_check_seconds (1 s here) of the change —
// while the JWTs of users the change did not concern go on working.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"
#include "support/registry_process.h"
#include "support/shared_world.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

struct RevocationWorld {
  std::unique_ptr<RegistryProcess> server;
  std::string alice, bob, carol;  // access tokens
};

class Revocation : public SharedWorldTest<RevocationWorld> {
 protected:
  static void SetUpTestSuite() {
    build_world([](RevocationWorld& w) {
      w.server = std::make_unique<RegistryProcess>(RegistryProcess::Options{
          .env = {{"BERTH_AUTH_ENABLED", "true"}, {"BERTH_AUTH_REVOCATION_CHECK_SECONDS", "1"}}});
      if (w.server->external()) return;
      const auto& data = w.server->data_dir();
      for (const char* user : {"alice", "bob", "carol"}) admin_or_throw(data, {"user", "create", user});
      const std::vector<std::string> rw = {"--scopes", "read:packages,write:packages"};
      auto token_of = [&](const std::string& user) {
        std::vector<std::string> args = {"token", "create", "--user", user};
        args.insert(args.end(), rw.begin(), rw.end());
        return admin_or_throw(data, args);
      };
      w.alice = token_of("alice");
      w.bob = token_of("bob");
      w.carol = token_of("carol");
      const HttpClient client = w.server->client();
      push_image_as(client, basic_auth("alice", w.alice), "alice/app", "v1");
      push_image_as(client, basic_auth("alice", w.alice), "alice/shared", "v1");
      push_image_as(client, basic_auth("alice", w.alice), "alice/public", "v1");
      push_image_as(client, basic_auth("carol", w.carol), "carol/app", "v1");
      admin_or_throw(data, {"package", "visibility", "alice/public", "public"});
    });
  }
  HttpClient client() const { return world_->server->client(); }
  const std::filesystem::path& data() const { return world_->server->data_dir(); }

  // A bearer JWT from /token for pulling `repo`, as `user` (empty: anonymous).
  std::string jwt(const std::string& user, const std::string& secret, const std::string& repo) const {
    const Response r = client().get("/token?service=berth&scope=repository:" + repo + ":pull",
                                    user.empty() ? Headers{} : basic_auth(user, secret));
    EXPECT_EQ(r.status, 200) << r.describe();
    return nlohmann::json::parse(r.body).value("token", "");
  }
  int tags_with(const std::string& jwt, const std::string& repo) const {
    return client().get("/v2/" + repo + "/tags/list", bearer_auth(jwt)).status;
  }
  // The status the JWT gets once it stops being accepted, polling for up to 4 s; the last status seen.
  int status_once_refused(const std::string& jwt, const std::string& repo) const {
    int status = 0;
    for (int i = 0; i < 40; ++i) {
      status = tags_with(jwt, repo);
      if (status != 200) return status;
      std::this_thread::sleep_for(100ms);
    }
    return status;
  }
};

TEST_F(Revocation, ABearerTokenStopsWorkingSoonAfterItsAccessTokenIsRevoked) {
  if (world_->server->external()) GTEST_SKIP() << "needs a server started by the test";
  // A token of its own to revoke, so the other tests keep alice's.
  const std::string spare = admin_or_throw(data(), {"token", "create", "--user", "alice", "--name", "spare"});
  const std::string bearer = jwt("alice", spare, "alice/app");
  const std::string carols = jwt("carol", world_->carol, "carol/app");
  ASSERT_EQ(tags_with(bearer, "alice/app"), 200);
  const std::string list = admin_or_throw(data(), {"token", "list", "--user", "alice"});
  std::string id;
  for (size_t at = 0; (at = list.find('\n', at)) != std::string::npos;) {
    ++at;
    const std::string line = list.substr(at, list.find('\n', at) - at);
    if (line.ends_with("\tspare")) id = line.substr(0, line.find('\t'));
  }
  ASSERT_FALSE(id.empty()) << list;
  const auto revoked_at = std::chrono::steady_clock::now();
  admin_or_throw(data(), {"token", "revoke", id});
  EXPECT_EQ(status_once_refused(bearer, "alice/app"), 401);
  EXPECT_LT(std::chrono::steady_clock::now() - revoked_at, 3s);
  EXPECT_EQ(tags_with(carols, "carol/app"), 200) << "another user's bearer token was refused";
}

TEST_F(Revocation, ABearerTokenLosesAPackageAsSoonAsItsRoleIsRemoved) {
  if (world_->server->external()) GTEST_SKIP() << "needs a server started by the test";
  admin_or_throw(data(), {"package", "grant", "alice/shared", "bob", "read"});
  const std::string bearer = jwt("bob", world_->bob, "alice/shared");
  ASSERT_EQ(split_jwt(bearer).payload.at("access").size(), 1u);
  ASSERT_EQ(tags_with(bearer, "alice/shared"), 200);
  admin_or_throw(data(), {"package", "revoke", "alice/shared", "bob"});
  const int refused = status_once_refused(bearer, "alice/shared");
  EXPECT_EQ(refused, 401) << "the JWT still read a package its user lost";
  // A new JWT says what bob may do now: nothing on that package.
  const std::string fresh = jwt("bob", world_->bob, "alice/shared");
  EXPECT_NE(tags_with(fresh, "alice/shared"), 200);
}

TEST_F(Revocation, AnAnonymousBearerTokenLosesAPackageThatIsNoLongerPublic) {
  if (world_->server->external()) GTEST_SKIP() << "needs a server started by the test";
  const std::string anonymous = jwt("", "", "alice/public");
  ASSERT_EQ(tags_with(anonymous, "alice/public"), 200);
  admin_or_throw(data(), {"package", "visibility", "alice/public", "private"});
  EXPECT_EQ(status_once_refused(anonymous, "alice/public"), 401);
  admin_or_throw(data(), {"package", "visibility", "alice/public", "public"});
}

TEST_F(Revocation, GrantingMoreChangesNothingForTokensAlreadyIssued) {
  if (world_->server->external()) GTEST_SKIP() << "needs a server started by the test";
  const std::string bearer = jwt("carol", world_->carol, "carol/app");
  admin_or_throw(data(), {"package", "grant", "alice/app", "carol", "read"});  // a new role: no epoch bump
  std::this_thread::sleep_for(1500ms);  // past the 1 s the server trusts what it read
  EXPECT_EQ(tags_with(bearer, "carol/app"), 200);
}

}  // namespace
}  // namespace berth::test
