// The GitHub-compatible packages API (docs/packages.md) over real HTTP, as GitHub's REST API 2022-11-28
// describes its packages endpoints: the API root and GraphQL's viewer (what `gh auth status` calls), the
// accounts, package and version objects field by field, pagination with GitHub's Link header, the scope
// and role matrix of list/get/delete/restore with exact statuses, messages and scope headers, the three
// ways GitHub takes a token, and bad input.
//
// One auth-enabled server for the whole suite (SetUpTestSuite): identities are made with the real
// `berth admin` CLI, content is pushed over /v2/ with credentials. Tests that delete or restore work on
// packages of their own, or put back what they changed, so the tests do not depend on their order.
// The model behind versions (platforms, referrers, sizes, downloads) is tested in packages_model_test.cc.
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"
#include "support/registry_process.h"
#include "support/shared_world.h"

namespace berth::test {
namespace {

using json = nlohmann::json;

constexpr const char* kApi = "/api/v3";
constexpr const char* kAllScopes = "read:packages,write:packages,delete:packages";

Headers token_auth(const std::string& secret) { return {{"Authorization", "token " + secret}}; }

// A GitHub error: the status, a JSON body {"message": …, "documentation_url": …}; `message` (when given)
// exactly, or one of `messages`.
::testing::AssertionResult IsGithubError(const Response& r, int status, const std::vector<std::string>& messages = {}) {
  auto failure = [&](const std::string& why) {
    std::string wanted;
    for (const auto& m : messages) wanted += " '" + m + "'";
    return ::testing::AssertionFailure() << why << " (wanted " << status << wanted << ")\n" << r.describe();
  };
  if (r.status != status) return failure("status " + std::to_string(r.status));
  if (r.header("Content-Type").rfind("application/json", 0) != 0) return failure("Content-Type " + r.header("Content-Type"));
  json body = r.json();
  if (!body.is_object() || !body.contains("message") || !body["message"].is_string()) return failure("no message");
  if (!body.contains("documentation_url") || !body["documentation_url"].is_string()) return failure("no documentation_url");
  if (!messages.empty() &&
      std::find(messages.begin(), messages.end(), body["message"].get<std::string>()) == messages.end()) {
    return failure("message '" + body["message"].get<std::string>() + "'");
  }
  return ::testing::AssertionSuccess();
}

// 404 as docs/packages.md words it: "Not Found" or "Package not found.".
::testing::AssertionResult IsNotFound(const Response& r) { return IsGithubError(r, 404, {"Not Found", "Package not found."}); }

// 403 for a missing scope: the message names it, X-Accepted-OAuth-Scopes lists what the endpoint accepts
// and X-OAuth-Scopes what the token has.
::testing::AssertionResult IsMissingScope(const Response& r, const std::string& scope, const std::string& accepted,
                                          const std::string& has) {
  auto ok = IsGithubError(r, 403);
  if (!ok) return ok;
  const std::string message = r.json()["message"].get<std::string>();
  if (message.find(scope) == std::string::npos) {
    return ::testing::AssertionFailure() << "the 403 message does not name " << scope << ": " << r.describe();
  }
  if (r.header("X-Accepted-OAuth-Scopes") != accepted) {
    return ::testing::AssertionFailure() << "X-Accepted-OAuth-Scopes '" << r.header("X-Accepted-OAuth-Scopes")
                                         << "', wanted '" << accepted << "'\n" << r.describe();
  }
  if (r.header("X-OAuth-Scopes") != has) {
    return ::testing::AssertionFailure() << "X-OAuth-Scopes '" << r.header("X-OAuth-Scopes") << "', wanted '" << has
                                         << "'\n" << r.describe();
  }
  return ::testing::AssertionSuccess();
}

bool is_utc_timestamp(const json& v) {
  static const std::regex iso(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)");
  return v.is_string() && std::regex_match(v.get<std::string>(), iso);
}

// One entry of a Link header.
struct Link {
  std::string url;
  std::string rel;
};

// Parses `<url>; rel="x", <url>; rel="y"` strictly: anything else gives nullopt.
std::optional<std::vector<Link>> parse_link_header(const std::string& header) {
  static const std::regex entry(R"(<([^>]+)>; rel="([a-z]+)\")");
  std::vector<Link> out;
  std::string rebuilt;
  for (auto it = std::sregex_iterator(header.begin(), header.end(), entry); it != std::sregex_iterator(); ++it) {
    out.push_back({(*it)[1].str(), (*it)[2].str()});
    rebuilt += (rebuilt.empty() ? "" : ", ") + (*it)[0].str();
  }
  if (rebuilt != header) return std::nullopt;  // separators or extra text GitHub does not send
  return out;
}

std::map<std::string, std::string> query_of(const std::string& url) {
  std::map<std::string, std::string> out;
  auto q = url.find('?');
  if (q == std::string::npos) return out;
  std::string rest = url.substr(q + 1);
  size_t start = 0;
  while (start <= rest.size()) {
    size_t amp = rest.find('&', start);
    std::string pair = rest.substr(start, amp == std::string::npos ? std::string::npos : amp - start);
    auto eq = pair.find('=');
    out[pair.substr(0, eq)] = eq == std::string::npos ? "" : pair.substr(eq + 1);
    if (amp == std::string::npos) break;
    start = amp + 1;
  }
  return out;
}

std::vector<std::string> names_of(const json& list) {
  std::vector<std::string> out;
  if (!list.is_array()) return out;
  for (const auto& p : list) out.push_back(p.value("name", ""));
  return out;
}

bool contains(const std::vector<std::string>& v, const std::string& x) { return std::find(v.begin(), v.end(), x) != v.end(); }

// Bytes of the config and layers a pushed image manifest references (its version's size).
uint64_t blob_bytes_of(const std::string& manifest) {
  json m = json::parse(manifest);
  uint64_t total = m["config"]["size"].get<uint64_t>();
  for (const auto& l : m["layers"]) total += l["size"].get<uint64_t>();
  return total;
}

struct ApiWorld {
  std::unique_ptr<RegistryProcess> server;
  std::string origin;                              // http://127.0.0.1:PORT
  std::map<std::string, std::string> tokens;       // key → secret
  std::map<std::string, std::string> users;        // key → the user the token belongs to
  std::map<std::string, PushedImage> v1, v2;       // repository → image tagged v1 (v2)
};

class PackagesApiTest : public SharedWorldTest<ApiWorld> {
 protected:
  using World = ApiWorld;
  static void SetUpTestSuite() { build_world(populate); }

  static void populate(World& w) {
    w.server = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}});
    if (w.server->external()) return;
    const auto dir = w.server->data_dir();
    auto admin = [&](std::vector<std::string> args) { return admin_or_throw(dir, args); };
    for (const char* user : {"alice", "carol", "dave"}) admin({"user", "create", user});
    admin({"org", "create", "acme", "--admin", "alice"});
    admin({"org", "add-member", "acme", "carol", "--role", "member"});
    auto pat = [&](const std::string& key, const std::string& user, const std::string& scopes) {
      w.tokens[key] = admin({"token", "create", "--user", user, "--scopes", scopes});
      w.users[key] = user;
    };
    pat("alice", "alice", kAllScopes);
    pat("alice-ro", "alice", "read:packages");
    pat("alice-rw", "alice", "read:packages,write:packages");
    pat("alice-rd", "alice", "read:packages,delete:packages");
    pat("alice-d", "alice", "delete:packages");
    pat("carol", "carol", kAllScopes);
    pat("dave", "dave", kAllScopes);
    // CI tokens with every scope, so that what they are refused is the CI rule, not a missing scope.
    w.tokens["ci"] = admin({"token", "create", "--ci", "--user", "alice", "--packages", "acme/ci-app", "--scopes",
                            kAllScopes, "--ttl", "1h"});
    w.users["ci"] = "alice";
    w.tokens["ci-user"] = admin({"token", "create", "--ci", "--user", "alice", "--packages", "alice/ci-user",
                                 "--scopes", kAllScopes, "--ttl", "1h"});
    w.users["ci-user"] = "alice";

    const HttpClient client = w.server->client();
    w.origin = "http://" + client.host() + ":" + std::to_string(client.port());
    const Headers alice = basic_auth("alice", w.tokens["alice"]);
    for (const char* repo : {"alice/app", "alice/pub", "alice/ci-user", "acme/app", "acme/pub", "acme/ci-app",
                             "acme/platform/sbl/python-alpine"}) {
      w.v1[repo] = push_image_as(client, alice, repo, "v1");
    }
    w.v2["alice/app"] = push_image_as(client, alice, "alice/app", "v2");
    admin({"package", "visibility", "alice/pub", "public"});
    admin({"package", "visibility", "acme/pub", "public"});
  }

  static World& w() { return *world_; }
  HttpClient client() const { return world_->server->client(); }
  std::string base() const { return world_->origin + kApi; }
  // Headers of the token `key` (`token X`); none for "" (anonymous).
  Headers as(const std::string& key) const { return key.empty() ? Headers{} : token_auth(world_->tokens.at(key)); }
  Response get(const std::string& path, const std::string& who = "alice") const { return client().get(kApi + path, as(who)); }
  Response del(const std::string& path, const std::string& who = "alice") const { return client().del(kApi + path, as(who)); }
  Response post(const std::string& path, const std::string& who = "alice") const {
    return client().request("POST", kApi + path, as(who));
  }
  std::string admin(const std::vector<std::string>& args) const { return admin_or_throw(world_->server->data_dir(), args); }

  // /orgs/acme/packages/container/NAME or /users/… for a repository "owner/name".
  static std::string package_path(const std::string& repository, const std::string& owner_path = "") {
    auto slash = repository.find('/');
    std::string owner = repository.substr(0, slash);
    std::string path = owner_path.empty() ? (owner == "acme" ? "/orgs/acme" : "/users/" + owner) : owner_path;
    return path + "/packages/container/" + url_encode(repository.substr(slash + 1));
  }

  // The version id of `digest` in the package (active or deleted), asserting it is there.
  int64_t version_id(const std::string& pkg_path, const std::string& digest, const std::string& state = "active") const {
    for (int page = 1; page < 100; ++page) {
      Response r = get(pkg_path + "/versions?per_page=100&state=" + state + "&page=" + std::to_string(page));
      EXPECT_EQ(r.status, 200) << r.describe();
      json list = r.json();
      if (r.status != 200 || !list.is_array() || list.empty()) break;
      for (const auto& v : list) {
        if (v.value("name", "") == digest) return v["id"].get<int64_t>();
      }
    }
    ADD_FAILURE() << "no " << state << " version " << digest << " in " << pkg_path;
    return -1;
  }

  // A new package of its own for a test that deletes or restores: v1 and v2 pushed by alice.
  std::string fresh_package(const std::string& owner, const std::string& prefix, bool make_public = false) {
    std::string repo = owner + "/" + prefix + "-" + sha256(random_bytes(8)).substr(7, 10);
    const Headers alice = basic_auth("alice", w().tokens.at("alice"));
    w().v1[repo] = push_image_as(client(), alice, repo, "v1");
    w().v2[repo] = push_image_as(client(), alice, repo, "v2");
    if (make_public) admin({"package", "visibility", repo, "public"});
    return repo;
  }

  // What one identity gets for each action on one package (docs/packages.md, "Who may do what").
  struct Expect {
    bool listed;          // in GET OWNER/packages?package_type=container (200)
    int get;              // GET the package, its versions and a version
    int delete_version;   // DELETE a version
    int restore_version;  // POST …/versions/ID/restore of a version alice deleted (or who deleted)
    int delete_package;
    int restore_package;  // POST …/restore of the package alice deleted (or who deleted)
  };

  // Runs list, get, versions, version, delete/restore version, delete/restore package as `who` on
  // `repo`, asserting each status; alice does what `who` may not, so the package ends as it began.
  void exercise(const std::string& who, const std::string& repo, const Expect& e, const std::string& owner_path = "") {
    SCOPED_TRACE("as " + (who.empty() ? std::string("anonymous") : who) + " on " + repo);
    const std::string pkg = package_path(repo, owner_path);
    const std::string owner_listing = pkg.substr(0, pkg.find("/packages/")) + "/packages?package_type=container";
    const std::string short_name = repo.substr(repo.find('/') + 1);
    const int64_t id = version_id(package_path(repo), w().v1.at(repo).digest);
    const std::string version = pkg + "/versions/" + std::to_string(id);
    Response before = get(package_path(repo));
    ASSERT_EQ(before.status, 200) << before.describe();

    Response list = get(owner_listing, who);
    ASSERT_EQ(list.status, 200) << list.describe();
    EXPECT_EQ(contains(names_of(list.json()), short_name), e.listed) << list.body;

    auto expect_status = [&](const Response& r, int status, const std::string& what) {
      SCOPED_TRACE(what);
      switch (status) {
        case 200:
        case 204: EXPECT_EQ(r.status, status) << r.describe(); break;
        case 401: EXPECT_TRUE(IsGithubError(r, 401, {"Requires authentication"})); break;
        case 403: EXPECT_TRUE(IsGithubError(r, 403)); break;
        case 404: EXPECT_TRUE(IsNotFound(r)); break;
        default: EXPECT_EQ(r.status, status) << r.describe();
      }
    };
    expect_status(get(pkg, who), e.get, "GET package");
    expect_status(get(pkg + "/versions", who), e.get, "GET versions");
    expect_status(get(version, who), e.get, "GET version");

    Response r = del(version, who);
    expect_status(r, e.delete_version, "DELETE version");
    if (r.status != 204) {
      ASSERT_EQ(del(version).status, 204) << "alice deletes the version";
    }
    expect_status(get(version, who), e.get, "GET a deleted version");
    r = post(version + "/restore", who);
    expect_status(r, e.restore_version, "POST version restore");
    if (r.status != 204) {
      ASSERT_EQ(post(version + "/restore").status, 204) << "alice restores the version";
    }

    r = del(pkg, who);
    expect_status(r, e.delete_package, "DELETE package");
    if (r.status != 204) {
      ASSERT_EQ(del(pkg).status, 204) << "alice deletes the package";
    }
    r = post(pkg + "/restore", who);
    expect_status(r, e.restore_package, "POST package restore");
    if (r.status != 204) {
      ASSERT_EQ(post(pkg + "/restore").status, 204) << "alice restores the package";
    }

    Response after = get(package_path(repo));
    ASSERT_EQ(after.status, 200) << after.describe();
    EXPECT_EQ(after.json()["id"], before.json()["id"]) << "the restored package keeps its id";
    EXPECT_EQ(after.json()["version_count"], before.json()["version_count"]);
    EXPECT_EQ(client().get("/v2/" + repo + "/manifests/v1", basic_auth("alice", w().tokens.at("alice"))).status, 200)
        << "v1 pulls again after the restores";
  }
};

// ---- The API root, GraphQL, accounts ----

TEST_F(PackagesApiTest, RootAnswersWithoutOAuthScopesSoGhAcceptsTheToken) {
  for (const std::string path : {"/api/v3/", "/api/v3", "/api/"}) {
    Response r = client().get(path, as("alice"));
    ASSERT_EQ(r.status, 200) << path << "\n" << r.describe();
    EXPECT_EQ(r.header("Content-Type").rfind("application/json", 0), 0u) << r.describe();
    EXPECT_FALSE(r.has_header("X-OAuth-Scopes")) << "gh auth status would then demand repo and read:org\n"
                                                   << r.describe();
    json body = r.json();
    ASSERT_TRUE(body.is_object()) << r.body;
    const std::string prefix = path.rfind("/api/v3", 0) == 0 ? "/api/v3" : "/api";
    EXPECT_EQ(body.value("current_user_url", ""), w().origin + prefix + "/user") << r.body;
  }
  EXPECT_EQ(client().get("/api/v3/").status, 200) << "anonymous";
}

TEST_F(PackagesApiTest, GraphqlAnswersTheViewersLogin) {
  // What gh 2.23's `auth status` sends (api.CurrentLoginName). GraphQL answers exactly the fields asked
  // for: gh decodes the answer into struct{Viewer struct{Login string}} and fails on any other field
  // ("struct field for "id" doesn't exist in any of 1 places to unmarshal").
  const std::string query = R"({"query":"query UserCurrent{viewer{login}}"})";
  for (const std::string who : {"alice", "carol", "alice-ro"}) {
    Response r = client().request("POST", "/api/graphql", as(who), query);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.json()["data"]["viewer"]["login"], w().users.at(who)) << r.body;
    EXPECT_EQ(r.json(), json({{"data", {{"viewer", {{"login", w().users.at(who)}}}}}})) << "only the fields asked for";
  }
  Response basic = client().request("POST", "/api/graphql", basic_auth("dave", w().tokens.at("dave")), query);
  EXPECT_EQ(basic.json()["data"]["viewer"]["login"], "dave") << basic.describe();
  EXPECT_EQ(client().request("POST", "/api/graphql", {}, query).status, 401) << "anonymous";
}

TEST_F(PackagesApiTest, UserIsTheCallersAccount) {
  Response r = get("/user");
  ASSERT_EQ(r.status, 200) << r.describe();
  json u = r.json();
  EXPECT_EQ(u["login"], "alice");
  EXPECT_TRUE(u["id"].is_number_integer()) << r.body;
  EXPECT_EQ(u["type"], "User");
  EXPECT_EQ(u["url"], base() + "/users/alice");
  EXPECT_EQ(u["html_url"], w().origin + "/alice");
  EXPECT_TRUE(u["packages_size"].is_number_integer()) << r.body;
  // GitHub's scope header on an authenticated answer: what the token has.
  EXPECT_EQ(r.header("X-OAuth-Scopes"), "delete:packages, read:packages, write:packages") << r.describe();
  EXPECT_EQ(get("/user", "carol").json()["login"], "carol");
  EXPECT_TRUE(IsGithubError(get("/user", ""), 401, {"Requires authentication"}));
  // The same under /api (and its URLs say so).
  Response under_api = client().get("/api/user", as("alice"));
  ASSERT_EQ(under_api.status, 200) << under_api.describe();
  EXPECT_EQ(under_api.json()["url"], w().origin + "/api/users/alice");
}

TEST_F(PackagesApiTest, UsersAndOrgsDescribeAccounts) {
  Response alice = get("/users/alice", "");
  ASSERT_EQ(alice.status, 200) << alice.describe();
  EXPECT_EQ(alice.json()["login"], "alice");
  EXPECT_EQ(alice.json()["type"], "User");
  EXPECT_EQ(alice.json()["id"], get("/user").json()["id"]);
  EXPECT_TRUE(alice.json()["packages_size"].is_number_integer());

  Response org = get("/orgs/acme");
  ASSERT_EQ(org.status, 200) << org.describe();
  json o = org.json();
  EXPECT_EQ(o["login"], "acme");
  EXPECT_TRUE(o["id"].is_number_integer());
  EXPECT_NE(o["id"], alice.json()["id"]);
  EXPECT_EQ(o["type"], "Organization");
  EXPECT_EQ(o["html_url"], w().origin + "/acme");
  EXPECT_TRUE(o["packages_size"].is_number_integer()) << org.body;
  // /users/{name} answers for an org too, as on GitHub.
  Response org_as_user = get("/users/acme");
  ASSERT_EQ(org_as_user.status, 200) << org_as_user.describe();
  EXPECT_EQ(org_as_user.json()["type"], "Organization");
  EXPECT_EQ(org_as_user.json()["id"], o["id"]);

  EXPECT_TRUE(IsNotFound(get("/orgs/alice"))) << "a user is not an org";
  EXPECT_TRUE(IsNotFound(get("/users/nobody")));
  EXPECT_TRUE(IsNotFound(get("/orgs/nobody")));
}

// GitHub's GET /orgs/{org} (organization-full) has "url": "https://api.github.com/orgs/{org}"; only the
// simple-user objects (/users/{name}, a package's owner) use /users/.
TEST_F(PackagesApiTest, OrgUrlIsTheOrgsApiUrlAsOnGitHub) {
  Response org = get("/orgs/acme");
  ASSERT_EQ(org.status, 200) << org.describe();
  EXPECT_EQ(org.json()["url"], base() + "/orgs/acme") << org.body;
  EXPECT_EQ(get("/users/acme").json()["url"], base() + "/users/acme");
}

// ---- Packages ----

TEST_F(PackagesApiTest, PackageObjectsCarryGitHubsFields) {
  Response r = get("/orgs/acme/packages/container/app");
  ASSERT_EQ(r.status, 200) << r.describe();
  json p = r.json();
  EXPECT_TRUE(p["id"].is_number_integer()) << r.body;
  EXPECT_EQ(p["name"], "app");
  EXPECT_EQ(p["package_type"], "container");
  EXPECT_EQ(p["owner"]["login"], "acme");
  EXPECT_EQ(p["owner"]["type"], "Organization");
  EXPECT_EQ(p["owner"]["id"], get("/orgs/acme").json()["id"]);
  EXPECT_EQ(p["owner"]["url"], base() + "/users/acme");
  EXPECT_EQ(p["owner"]["html_url"], w().origin + "/acme");
  EXPECT_EQ(p["version_count"], 1);
  EXPECT_EQ(p["visibility"], "private");
  EXPECT_EQ(p["url"], base() + "/orgs/acme/packages/container/app");
  EXPECT_EQ(p["html_url"], w().origin + "/orgs/acme/packages/container/package/app");
  EXPECT_TRUE(is_utc_timestamp(p["created_at"])) << p["created_at"];
  EXPECT_TRUE(is_utc_timestamp(p["updated_at"])) << p["updated_at"];
  EXPECT_GE(p["updated_at"].get<std::string>(), p["created_at"].get<std::string>());
  EXPECT_EQ(p["size"], blob_bytes_of(w().v1.at("acme/app").manifest));
  EXPECT_TRUE(p["downloads"].is_number_integer());
  EXPECT_EQ(p["registry_name"], client().host() + ":" + std::to_string(client().port()) + "/acme/app");
  EXPECT_FALSE(p.contains("repository")) << "no source known";
  EXPECT_EQ(r.header("X-Accepted-OAuth-Scopes"), "read:packages");
  // The headers GitHub's documentation tells clients to send.
  Headers h = as("alice");
  h.emplace_back("Accept", "application/vnd.github+json");
  h.emplace_back("X-GitHub-Api-Version", "2022-11-28");
  Response versioned = client().get("/api/v3/orgs/acme/packages/container/app", h);
  EXPECT_EQ(versioned.status, 200) << versioned.describe();
  EXPECT_EQ(versioned.json(), p);

  // A user's package: owner type User, URLs under /users/.
  Response mine = get("/user/packages/container/app");
  ASSERT_EQ(mine.status, 200) << mine.describe();
  EXPECT_EQ(mine.json()["owner"]["login"], "alice");
  EXPECT_EQ(mine.json()["owner"]["type"], "User");
  EXPECT_EQ(mine.json()["version_count"], 2);
  EXPECT_EQ(mine.json()["url"], base() + "/users/alice/packages/container/app");
  EXPECT_EQ(mine.json()["html_url"], w().origin + "/users/alice/packages/container/package/app");
  EXPECT_EQ(get("/users/alice/packages/container/app").json(), mine.json()) << "/user and /users/alice name one package";
  EXPECT_EQ(get("/orgs/acme/packages/container/pub").json()["visibility"], "public");
}

TEST_F(PackagesApiTest, ListsAreTheOwnersPackagesSortedWithTheSameObjects) {
  Response r = get("/orgs/acme/packages?package_type=container");
  ASSERT_EQ(r.status, 200) << r.describe();
  json list = r.json();
  auto names = names_of(list);
  for (const char* n : {"app", "pub", "ci-app", "platform/sbl/python-alpine"}) EXPECT_TRUE(contains(names, n)) << r.body;
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end())) << r.body;
  for (const auto& p : list) {
    EXPECT_EQ(p["owner"]["login"], "acme");
    if (p["name"] == "app") {
      EXPECT_EQ(p, get("/orgs/acme/packages/container/app").json()) << "list entry = GET";
    }
  }
  // /user/packages: the caller's own namespace only.
  Response mine = get("/user/packages?package_type=container");
  ASSERT_EQ(mine.status, 200) << mine.describe();
  for (const auto& p : mine.json()) EXPECT_EQ(p["owner"]["login"], "alice") << p.dump();
  EXPECT_TRUE(contains(names_of(mine.json()), "app"));
  EXPECT_TRUE(contains(names_of(mine.json()), "ci-user"));
  // visibility filters; internal (GitHub Enterprise) exists only as an empty answer here.
  auto pub = names_of(get("/orgs/acme/packages?package_type=container&visibility=public").json());
  EXPECT_TRUE(contains(pub, "pub"));
  EXPECT_FALSE(contains(pub, "app"));
  auto priv = names_of(get("/orgs/acme/packages?package_type=container&visibility=private").json());
  EXPECT_TRUE(contains(priv, "app"));
  EXPECT_FALSE(contains(priv, "pub"));
  Response internal = get("/orgs/acme/packages?package_type=container&visibility=internal");
  EXPECT_EQ(internal.status, 200) << internal.describe();
  EXPECT_EQ(internal.json(), json::array());
  // Other GitHub package types: a valid question with no packages.
  for (const char* type : {"npm", "maven", "rubygems", "docker", "nuget"}) {
    Response other = get(std::string("/orgs/acme/packages?package_type=") + type);
    EXPECT_EQ(other.status, 200) << type << "\n" << other.describe();
    EXPECT_EQ(other.json(), json::array()) << type;
  }
}

TEST_F(PackagesApiTest, NestedNamesAreAddressedWithPercent2F) {
  Response r = get("/orgs/acme/packages/container/platform%2Fsbl%2Fpython-alpine");
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.json()["name"], "platform/sbl/python-alpine");
  EXPECT_EQ(r.json()["url"], base() + "/orgs/acme/packages/container/platform%2Fsbl%2Fpython-alpine");
  EXPECT_EQ(r.json()["html_url"], w().origin + "/orgs/acme/packages/container/package/platform%2Fsbl%2Fpython-alpine");
  EXPECT_EQ(r.json()["registry_name"],
            client().host() + ":" + std::to_string(client().port()) + "/acme/platform/sbl/python-alpine");
  // Lower-case hex escapes are escapes too.
  EXPECT_EQ(get("/orgs/acme/packages/container/platform%2fsbl%2fpython-alpine").status, 200);
  // An unencoded '/' works for GET.
  Response plain = get("/orgs/acme/packages/container/platform/sbl/python-alpine");
  ASSERT_EQ(plain.status, 200) << plain.describe();
  EXPECT_EQ(plain.json()["id"], r.json()["id"]);

  Response versions = get("/orgs/acme/packages/container/platform%2Fsbl%2Fpython-alpine/versions");
  ASSERT_EQ(versions.status, 200) << versions.describe();
  ASSERT_EQ(versions.json().size(), 1u) << versions.body;
  json v = versions.json()[0];
  EXPECT_EQ(v["name"], w().v1.at("acme/platform/sbl/python-alpine").digest);
  const std::string version_url =
      base() + "/orgs/acme/packages/container/platform%2Fsbl%2Fpython-alpine/versions/" + std::to_string(v["id"].get<int64_t>());
  EXPECT_EQ(v["url"], version_url);
  EXPECT_EQ(get(path_of(version_url).substr(std::string(kApi).size())).json(), v) << "its url answers it";
  Response unencoded =
      get("/orgs/acme/packages/container/platform/sbl/python-alpine/versions/" + std::to_string(v["id"].get<int64_t>()));
  EXPECT_EQ(unencoded.status, 200) << unencoded.describe();
}

// ---- Versions ----

TEST_F(PackagesApiTest, VersionObjectsCarryGitHubsFieldsNewestFirst) {
  Response r = get("/user/packages/container/app/versions");
  ASSERT_EQ(r.status, 200) << r.describe();
  json list = r.json();
  ASSERT_EQ(list.size(), 2u) << r.body;
  EXPECT_FALSE(r.has_header("Link")) << "everything fits one page";
  EXPECT_EQ(r.header("X-Accepted-OAuth-Scopes"), "read:packages");
  const PushedImage* pushed[] = {&w().v2.at("alice/app"), &w().v1.at("alice/app")};  // newest first
  const char* tags[] = {"v2", "v1"};
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(tags[i]);
    const json& v = list[i];
    ASSERT_TRUE(v["id"].is_number_integer()) << v.dump();
    const std::string id = std::to_string(v["id"].get<int64_t>());
    EXPECT_EQ(v["name"], pushed[i]->digest);
    EXPECT_EQ(v["url"], base() + "/users/alice/packages/container/app/versions/" + id);
    EXPECT_EQ(v["package_html_url"], w().origin + "/users/alice/packages/container/package/app");
    EXPECT_EQ(v["html_url"], w().origin + "/users/alice/packages/container/app/" + id);
    EXPECT_TRUE(is_utc_timestamp(v["created_at"])) << v.dump();
    EXPECT_TRUE(is_utc_timestamp(v["updated_at"])) << v.dump();
    ASSERT_TRUE(v.contains("deleted_at"));
    EXPECT_TRUE(v["deleted_at"].is_null());
    EXPECT_EQ(v["metadata"]["package_type"], "container");
    const json& c = v["metadata"]["container"];
    EXPECT_EQ(c["tags"], json::array({tags[i]}));
    EXPECT_EQ(c["media_type"], media::kOciManifest);
    EXPECT_EQ(c["platforms"], json::array());
    EXPECT_EQ(c["referrers"], json::array());
    EXPECT_EQ(c["size"], blob_bytes_of(pushed[i]->manifest));
    EXPECT_EQ(c["unique_size"], c["size"]) << "nothing else holds its blobs";
    EXPECT_TRUE(c["downloads"].is_number_integer());
    Response one = get("/user/packages/container/app/versions/" + id);
    ASSERT_EQ(one.status, 200) << one.describe();
    EXPECT_EQ(one.json(), v) << "GET of the version = its list entry";
  }
  EXPECT_GT(list[0]["id"].get<int64_t>(), list[1]["id"].get<int64_t>());
  EXPECT_GE(list[0]["created_at"].get<std::string>(), list[1]["created_at"].get<std::string>());
}

TEST_F(PackagesApiTest, DeleteAndRestoreAVersion) {
  const std::string repo = fresh_package("acme", "lifecycle");
  const std::string pkg = package_path(repo);
  const int64_t id = version_id(pkg, w().v1.at(repo).digest);
  const std::string version = pkg + "/versions/" + std::to_string(id);
  json before = get(version).json();

  Response d = del(version);
  EXPECT_EQ(d.status, 204) << d.describe();
  EXPECT_TRUE(d.body.empty());
  EXPECT_EQ(d.header("X-Accepted-OAuth-Scopes"), "delete:packages, read:packages");
  EXPECT_TRUE(IsNotFound(del(version))) << "a deleted version is no longer an active one";
  Response gone = get(version);
  ASSERT_EQ(gone.status, 200) << "one version, active or deleted\n" << gone.describe();
  EXPECT_TRUE(is_utc_timestamp(gone.json()["deleted_at"])) << gone.body;
  EXPECT_EQ(gone.json()["metadata"]["container"]["tags"], json::array({"v1"})) << "the tags it had";
  EXPECT_FALSE(contains(names_of(get(pkg + "/versions").json()), w().v1.at(repo).digest));
  Response deleted = get(pkg + "/versions?state=deleted");
  ASSERT_EQ(deleted.status, 200) << deleted.describe();
  ASSERT_EQ(deleted.json().size(), 1u) << deleted.body;
  EXPECT_EQ(deleted.json()[0]["id"], id);
  EXPECT_EQ(get(pkg + "/versions?state=active").json().size(), 1u);
  EXPECT_EQ(get(pkg).json()["version_count"], 1);
  EXPECT_EQ(client().get("/v2/" + repo + "/manifests/v1", basic_auth("alice", w().tokens.at("alice"))).status, 404);

  Response restored = post(version + "/restore");
  EXPECT_EQ(restored.status, 204) << restored.describe();
  EXPECT_EQ(restored.header("X-Accepted-OAuth-Scopes"), "read:packages, write:packages");
  EXPECT_FALSE(restored.has_header("Berth-Tags-Not-Restored")) << restored.describe();
  EXPECT_TRUE(IsNotFound(post(version + "/restore"))) << "an active version cannot be restored";
  json after = get(version).json();
  EXPECT_TRUE(after["deleted_at"].is_null());
  EXPECT_EQ(after["metadata"]["container"]["tags"], json::array({"v1"}));
  EXPECT_EQ(after["created_at"], before["created_at"]);
  EXPECT_EQ(get(pkg + "/versions?state=deleted").json(), json::array());
  EXPECT_EQ(get(pkg).json()["version_count"], 2);
  EXPECT_EQ(client().get("/v2/" + repo + "/manifests/v1", basic_auth("alice", w().tokens.at("alice"))).status, 200);
}

TEST_F(PackagesApiTest, DeleteAndRestoreAPackage) {
  const std::string repo = fresh_package("acme", "pkg-lifecycle");
  const std::string pkg = package_path(repo);
  const std::string short_name = repo.substr(5);
  json before = get(pkg).json();

  Response d = del(pkg);
  EXPECT_EQ(d.status, 204) << d.describe();
  EXPECT_TRUE(IsNotFound(get(pkg)));
  EXPECT_TRUE(IsNotFound(get(pkg + "/versions")));
  EXPECT_TRUE(IsNotFound(del(pkg))) << "already deleted";
  EXPECT_FALSE(contains(names_of(get("/orgs/acme/packages?package_type=container&per_page=100").json()), short_name));
  const Headers alice = basic_auth("alice", w().tokens.at("alice"));
  Response pull = client().get("/v2/" + repo + "/manifests/v1", alice);
  EXPECT_EQ(pull.status, 404) << pull.describe();
  EXPECT_TRUE(pull.error_code() == "NAME_UNKNOWN" || pull.error_code() == "MANIFEST_UNKNOWN") << pull.describe();

  Response r = post(pkg + "/restore");
  EXPECT_EQ(r.status, 204) << r.describe();
  json after = get(pkg).json();
  EXPECT_EQ(after["id"], before["id"]);
  EXPECT_EQ(after["version_count"], 2);
  EXPECT_EQ(after["size"], before["size"]);
  EXPECT_TRUE(contains(names_of(get("/orgs/acme/packages?package_type=container&per_page=100").json()), short_name));
  EXPECT_EQ(client().get("/v2/" + repo + "/manifests/v2", alice).status, 200);
  EXPECT_TRUE(IsNotFound(post(pkg + "/restore"))) << "nothing deleted left to restore";
  // GitHub's optional ?token= is accepted.
  ASSERT_EQ(del(pkg).status, 204);
  EXPECT_EQ(post(pkg + "/restore?token=abc").status, 204);
}

// ---- Pagination ----

TEST_F(PackagesApiTest, TwoHundredFiftyVersionsWalkedWithTheLinkHeader) {
  const std::string repo = "alice/many-" + sha256(random_bytes(8)).substr(7, 10);
  const Headers alice = basic_auth("alice", w().tokens.at("alice"));
  // One config and one layer, then 250 small manifests that differ only in an annotation.
  const std::string config = R"({"architecture":"amd64","os":"linux"})";
  const std::string layer = random_bytes(256);
  Descriptor config_desc{media::kOciConfig, push_blob_as(client(), alice, repo, config), config.size()};
  Descriptor layer_desc{media::kOciLayer, push_blob_as(client(), alice, repo, layer), layer.size()};
  std::vector<std::string> pushed;  // in push order
  Headers put_headers = alice;
  put_headers.emplace_back("Content-Type", media::kOciManifest);
  for (int i = 0; i < 250; ++i) {
    json m = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest}, {"config", config_desc.to_json()},
              {"layers", json::array({layer_desc.to_json()})}, {"annotations", {{"n", std::to_string(i)}}}};
    std::string body = m.dump();
    std::string ref = i % 50 == 0 ? "t" + std::to_string(i) : sha256(body);
    Response put = client().request("PUT", "/v2/" + repo + "/manifests/" + ref, put_headers, body);
    ASSERT_EQ(put.status, 201) << put.describe();
    pushed.push_back(sha256(body));
  }
  const std::string pkg = "/user/packages/container/" + repo.substr(6);
  json package = get(pkg).json();
  EXPECT_EQ(package["version_count"], 250);
  EXPECT_EQ(package["size"], config.size() + layer.size()) << "the blobs are shared: counted once";

  std::vector<std::string> seen;
  std::string next = base() + pkg + "/versions?per_page=100";
  const std::vector<std::vector<std::string>> rels = {{"next", "last"}, {"prev", "next", "last", "first"}, {"prev", "first"}};
  for (int page = 1; !next.empty(); ++page) {
    SCOPED_TRACE("page " + std::to_string(page));
    ASSERT_LE(page, 3) << "more pages than 250 / 100";
    Response r = client().get(next, as("alice"));
    ASSERT_EQ(r.status, 200) << r.describe();
    json list = r.json();
    ASSERT_EQ(list.size(), page < 3 ? 100u : 50u);
    for (const auto& v : list) seen.push_back(v["name"].get<std::string>());
    auto links = parse_link_header(r.header("Link"));
    ASSERT_TRUE(links) << "Link is not GitHub's format: '" << r.header("Link") << "'";
    std::vector<std::string> got_rels;
    next.clear();
    for (const auto& l : *links) {
      got_rels.push_back(l.rel);
      EXPECT_EQ(l.url.rfind(base() + pkg + "/versions?", 0), 0u) << "absolute URL of this listing: " << l.url;
      auto q = query_of(l.url);
      EXPECT_EQ(q["per_page"], "100") << l.url;
      const std::map<std::string, int> target = {{"next", page + 1}, {"prev", page - 1}, {"first", 1}, {"last", 3}};
      EXPECT_EQ(q["page"], std::to_string(target.at(l.rel))) << l.rel << " " << l.url;
      if (l.rel == "next") next = l.url;
    }
    EXPECT_EQ(got_rels, rels[page - 1]) << r.header("Link");
  }
  ASSERT_EQ(seen.size(), 250u);
  EXPECT_EQ(std::set<std::string>(seen.begin(), seen.end()).size(), 250u) << "no duplicates";
  std::vector<std::string> newest_first(pushed.rbegin(), pushed.rend());
  EXPECT_EQ(seen, newest_first) << "newest first";

  // Default page size 30: 9 pages.
  Response first = get(pkg + "/versions");
  ASSERT_EQ(first.status, 200) << first.describe();
  EXPECT_EQ(first.json().size(), 30u);
  auto links = parse_link_header(first.header("Link"));
  ASSERT_TRUE(links && links->size() == 2) << first.header("Link");
  EXPECT_EQ((*links)[0].rel, "next");
  EXPECT_EQ(query_of((*links)[0].url)["page"], "2");
  EXPECT_EQ(query_of((*links)[0].url)["per_page"], "30");
  EXPECT_EQ((*links)[1].rel, "last");
  EXPECT_EQ(query_of((*links)[1].url)["page"], "9");
  EXPECT_EQ(get(pkg + "/versions?page=9").json().size(), 10u);
  // A page past the end is an empty list.
  Response past = get(pkg + "/versions?page=4&per_page=100");
  EXPECT_EQ(past.status, 200) << past.describe();
  EXPECT_EQ(past.json(), json::array());
  EXPECT_EQ(get(pkg + "/versions?page=1000").json(), json::array());
  // The deleted listing pages the same way and keeps state= in its links.
  for (int i = 0; i < 3; ++i) ASSERT_EQ(del(pkg + "/versions/" + std::to_string(get(pkg + "/versions?per_page=1").json()[0]["id"].get<int64_t>())).status, 204);
  Response deleted = get(pkg + "/versions?state=deleted&per_page=2");
  ASSERT_EQ(deleted.status, 200) << deleted.describe();
  EXPECT_EQ(deleted.json().size(), 2u);
  auto dlinks = parse_link_header(deleted.header("Link"));
  ASSERT_TRUE(dlinks && !dlinks->empty()) << deleted.header("Link");
  EXPECT_EQ(query_of((*dlinks)[0].url)["state"], "deleted") << (*dlinks)[0].url;
  Response second = client().get((*dlinks)[0].url, as("alice"));
  EXPECT_EQ(second.json().size(), 1u) << second.describe();
  EXPECT_EQ(get(pkg).json()["version_count"], 247);
}

TEST_F(PackagesApiTest, InvalidPageParametersAnswer422) {
  for (const std::string query : {"per_page=0", "per_page=101", "per_page=-1", "per_page=abc", "page=0", "page=-1",
                                  "page=abc", "per_page=1.5"}) {
    SCOPED_TRACE(query);
    EXPECT_TRUE(IsGithubError(get("/user/packages/container/app/versions?" + query), 422));
    EXPECT_TRUE(IsGithubError(get("/user/packages?package_type=container&" + query), 422));
  }
  EXPECT_EQ(get("/user/packages/container/app/versions?per_page=100").status, 200);
  EXPECT_EQ(get("/user/packages/container/app/versions?per_page=1&page=2").status, 200);
}

TEST_F(PackagesApiTest, PackageListLinksKeepPackageTypeAndVisibility) {
  std::set<std::string> all;
  for (const auto& p : get("/orgs/acme/packages?package_type=container&per_page=100").json()) all.insert(p["name"]);
  ASSERT_GE(all.size(), 3u);
  std::set<std::string> seen;
  std::string next = base() + "/orgs/acme/packages?package_type=container&per_page=1";
  for (int i = 0; !next.empty(); ++i) {
    ASSERT_LT(i, 100);
    Response r = client().get(next, as("alice"));
    ASSERT_EQ(r.status, 200) << r.describe();
    for (const auto& p : r.json()) seen.insert(p["name"]);
    auto links = parse_link_header(r.header("Link"));
    ASSERT_TRUE(links) << r.header("Link");
    next.clear();
    for (const auto& l : *links) {
      EXPECT_EQ(query_of(l.url)["package_type"], "container") << l.url;
      if (l.rel == "next") next = l.url;
    }
  }
  EXPECT_EQ(seen, all);
  Response pub = get("/orgs/acme/packages?package_type=container&visibility=private&per_page=1");
  auto links = parse_link_header(pub.header("Link"));
  ASSERT_TRUE(links && !links->empty()) << pub.describe();
  EXPECT_EQ(query_of((*links)[0].url)["visibility"], "private");
}

// ---- Who may do what ----

TEST_F(PackagesApiTest, OwnerMayDoEverythingInTheirNamespace) {
  exercise("alice", fresh_package("alice", "own"), {true, 200, 204, 204, 204, 204});
  exercise("alice", fresh_package("alice", "own"), {true, 200, 204, 204, 204, 204}, "/user");
}

TEST_F(PackagesApiTest, OrgAdminMayDoEverythingOnOrgPackages) {
  exercise("alice", fresh_package("acme", "admin"), {true, 200, 204, 204, 204, 204});
}

TEST_F(PackagesApiTest, OrgMemberReadsButMayNotDeleteOrRestore) {
  // Restoring a deleted package: only those who could restore it learn that it was there (404).
  exercise("carol", fresh_package("acme", "member"), {true, 200, 403, 403, 403, 404});
  Response r = del(package_path("acme/app") + "/versions/" +
                       std::to_string(version_id(package_path("acme/app"), w().v1.at("acme/app").digest)),
                   "carol");
  EXPECT_TRUE(IsGithubError(r, 403, {"Must have admin rights to the package."}));
}

TEST_F(PackagesApiTest, OutsiderSeesOnlyPublicPackages) {
  exercise("dave", fresh_package("acme", "outsider-private"), {false, 404, 404, 404, 404, 404});
  exercise("dave", fresh_package("acme", "outsider-public", true), {true, 200, 403, 403, 403, 404});
  exercise("dave", fresh_package("alice", "outsider-private"), {false, 404, 404, 404, 404, 404});
  // A package role makes a private package readable (and listed) for an outsider; deleting still takes
  // admin rights (and, for an org package, being an org admin).
  const std::string granted = fresh_package("acme", "outsider-granted");
  admin({"package", "grant", granted, "dave", "read"});
  exercise("dave", granted, {true, 200, 403, 403, 403, 404});
  const std::string granted_user = fresh_package("alice", "outsider-granted");
  admin({"package", "grant", granted_user, "dave", "read"});
  exercise("dave", granted_user, {true, 200, 403, 403, 403, 404});
  // The private ones are absent from every listing dave makes, whatever the page.
  auto names = names_of(get("/orgs/acme/packages?package_type=container&per_page=100", "dave").json());
  EXPECT_TRUE(contains(names, "pub"));
  EXPECT_FALSE(contains(names, "app"));
  EXPECT_FALSE(contains(names, "ci-app"));
  for (const auto& p : get("/orgs/acme/packages?package_type=container&visibility=private&per_page=100", "dave").json()) {
    EXPECT_EQ(p["name"].get<std::string>().rfind("outsider-granted-", 0), 0u) << "only what dave holds a role on: " << p.dump();
  }
  EXPECT_TRUE(IsNotFound(get("/orgs/acme/packages/container/app/versions", "dave")));
  // Exactly as a package that does not exist.
  Response missing = get("/orgs/acme/packages/container/never-pushed", "dave");
  Response hidden = get("/orgs/acme/packages/container/app", "dave");
  EXPECT_EQ(missing.status, hidden.status);
  EXPECT_EQ(missing.json(), hidden.json());
}

TEST_F(PackagesApiTest, AnonymousReadsPublicPackagesOnly) {
  exercise("", fresh_package("acme", "anon-private"), {false, 404, 401, 401, 401, 401});
  exercise("", fresh_package("acme", "anon-public", true), {true, 200, 401, 401, 401, 401});
  exercise("", fresh_package("alice", "anon-public", true), {true, 200, 401, 401, 401, 401});
  EXPECT_TRUE(IsGithubError(get("/user/packages?package_type=container", ""), 401, {"Requires authentication"}));
  EXPECT_TRUE(IsGithubError(get("/user/packages/container/pub", ""), 401, {"Requires authentication"}));
  EXPECT_FALSE(get("/users/alice", "").has_header("X-OAuth-Scopes"));
}

TEST_F(PackagesApiTest, CiTokenReachesOnlyItsPackageAndNeverDeletesAnOrgOne) {
  exercise("ci", "acme/ci-app", {true, 200, 403, 403, 403, 404});
  auto names = names_of(get("/orgs/acme/packages?package_type=container&per_page=100", "ci").json());
  EXPECT_EQ(names, std::vector<std::string>{"ci-app"}) << "its own package only, not even public ones";
  EXPECT_TRUE(IsNotFound(get("/orgs/acme/packages/container/app", "ci")));
  EXPECT_TRUE(IsNotFound(get("/orgs/acme/packages/container/pub", "ci")));
  const std::string other = package_path("acme/app") + "/versions/" +
                            std::to_string(version_id(package_path("acme/app"), w().v1.at("acme/app").digest));
  EXPECT_TRUE(IsNotFound(del(other, "ci")));
  EXPECT_TRUE(IsNotFound(del(package_path("acme/app"), "ci")));
  EXPECT_EQ(get(package_path("acme/app")).status, 200);
}

TEST_F(PackagesApiTest, CiTokenMayDeleteAndRestoreItsUsersOwnPackage) {
  exercise("ci-user", "alice/ci-user", {true, 200, 204, 204, 204, 204});
  EXPECT_EQ(names_of(get("/user/packages?package_type=container", "ci-user").json()), std::vector<std::string>{"ci-user"});
}

TEST_F(PackagesApiTest, MissingScopesAre403NamingTheScopeWithGitHubsHeaders) {
  const std::string repo = fresh_package("acme", "scopes");
  const std::string pkg = package_path(repo);
  const std::string version = pkg + "/versions/" + std::to_string(version_id(pkg, w().v1.at(repo).digest));
  const std::string kDelete = "delete:packages, read:packages", kRestore = "read:packages, write:packages";

  // read:packages only: reads, never deletes nor restores.
  EXPECT_EQ(get(pkg, "alice-ro").status, 200);
  EXPECT_EQ(get(pkg + "/versions", "alice-ro").status, 200);
  EXPECT_TRUE(IsMissingScope(del(version, "alice-ro"), "delete:packages", kDelete, "read:packages"));
  EXPECT_TRUE(IsMissingScope(del(pkg, "alice-ro"), "delete:packages", kDelete, "read:packages"));
  ASSERT_EQ(del(version).status, 204);
  EXPECT_TRUE(IsMissingScope(post(version + "/restore", "alice-ro"), "write:packages", kRestore, "read:packages"));
  // read + delete: deletes, but restoring needs write:packages.
  EXPECT_TRUE(IsMissingScope(post(version + "/restore", "alice-rd"), "write:packages", kRestore,
                             "delete:packages, read:packages"));
  // read + write: restores, but deleting needs delete:packages.
  EXPECT_EQ(post(version + "/restore", "alice-rw").status, 204);
  EXPECT_TRUE(IsMissingScope(del(version, "alice-rw"), "delete:packages", kDelete, "read:packages, write:packages"));
  EXPECT_EQ(del(version, "alice-rd").status, 204);
  ASSERT_EQ(post(version + "/restore").status, 204);
  ASSERT_EQ(del(pkg, "alice-rd").status, 204);
  EXPECT_TRUE(IsMissingScope(post(pkg + "/restore", "alice-ro"), "write:packages", kRestore, "read:packages"));
  EXPECT_TRUE(IsMissingScope(post(pkg + "/restore", "alice-rd"), "write:packages", kRestore,
                             "delete:packages, read:packages"));
  EXPECT_EQ(post(pkg + "/restore", "alice-rw").status, 204);
  // delete:packages alone: not even reads (read:packages is needed with it, as on GitHub).
  EXPECT_TRUE(IsMissingScope(get(pkg, "alice-d"), "read:packages", "read:packages", "delete:packages"));
  EXPECT_TRUE(IsMissingScope(get("/orgs/acme/packages?package_type=container", "alice-d"), "read:packages",
                             "read:packages", "delete:packages"));
  EXPECT_TRUE(IsMissingScope(del(version, "alice-d"), "read:packages", kDelete, "delete:packages"));
  EXPECT_EQ(get(version).json()["deleted_at"], nullptr) << "nothing was deleted by the refused calls";
}

TEST_F(PackagesApiTest, TokensAreTakenAsTokenBearerOrBasic) {
  const std::string secret = w().tokens.at("alice");
  // A bearer JWT from the Docker token endpoint is a credential too.
  Response jwt = client().get("/token?service=berth&scope=repository:alice/app:pull", basic_auth("alice", secret));
  ASSERT_EQ(jwt.status, 200) << jwt.describe();
  const std::string bearer_jwt = jwt.json().value("token", "");
  for (const Headers& h : {token_auth(secret), Headers{{"Authorization", "Bearer " + secret}}, basic_auth("alice", secret),
                           Headers{{"Authorization", "TOKEN " + secret}}, bearer_auth(bearer_jwt)}) {
    SCOPED_TRACE(h[0].second.substr(0, 12));
    Response r = client().get("/api/v3/user", h);
    ASSERT_EQ(r.status, 200) << r.describe();
    EXPECT_EQ(r.json()["login"], "alice");
    EXPECT_EQ(client().get("/api/v3/user/packages/container/app/versions", h).status, 200);
  }
  // Unknown tokens: 401 Bad credentials, whichever the scheme (three failures, then a good login resets
  // the address's count of failed logins).
  const std::string wrong = "berth_pat_" + sha256(random_bytes(16)).substr(7, 43);
  for (const Headers& h : {token_auth(wrong), Headers{{"Authorization", "Bearer " + wrong}}, basic_auth("alice", wrong)}) {
    EXPECT_TRUE(IsGithubError(client().get("/api/v3/user", h), 401, {"Bad credentials"})) << h[0].second.substr(0, 12);
  }
  EXPECT_EQ(client().get("/api/v3/user", token_auth(secret)).status, 200);
  // Bad credentials are refused even where anonymous callers are welcome.
  EXPECT_TRUE(IsGithubError(client().get("/api/v3/orgs/acme/packages/container/pub", token_auth(wrong)), 401,
                            {"Bad credentials"}));
  EXPECT_EQ(client().get("/api/v3/user", token_auth(secret)).status, 200);
}

// ---- Bad input ----

TEST_F(PackagesApiTest, UnknownForeignAndNonNumericVersionIdsAre404) {
  const std::string app = "/user/packages/container/app";
  const int64_t foreign = version_id(package_path("acme/app"), w().v1.at("acme/app").digest);
  const int64_t own = version_id(app, w().v1.at("alice/app").digest);
  for (const std::string& id : {std::string("999999999"), std::to_string(foreign), std::string("abc"),
                               std::string("0"), std::string("-1"), w().v1.at("alice/app").digest,
                               std::string("99999999999999999999999")}) {
    SCOPED_TRACE(id);
    EXPECT_TRUE(IsNotFound(get(app + "/versions/" + id)));
    EXPECT_TRUE(IsNotFound(del(app + "/versions/" + id)));
    EXPECT_TRUE(IsNotFound(post(app + "/versions/" + id + "/restore")));
  }
  EXPECT_EQ(get(app + "/versions/" + std::to_string(own)).status, 200);
  EXPECT_EQ(get(package_path("acme/app") + "/versions/" + std::to_string(foreign)).status, 200) << "where it belongs";
  EXPECT_TRUE(IsNotFound(get("/user/packages/container/never-pushed")));
  EXPECT_TRUE(IsNotFound(get("/user/packages/container/never-pushed/versions")));
  EXPECT_TRUE(IsNotFound(get("/users/nobody/packages/container/app")));
  EXPECT_TRUE(IsNotFound(get("/users/nobody/packages?package_type=container")));
  EXPECT_TRUE(IsNotFound(get("/orgs/alice/packages/container/app"))) << "alice is a user, not an org";
  EXPECT_TRUE(IsNotFound(get("/user/packages/npm/app"))) << "no npm packages here";
  EXPECT_TRUE(IsNotFound(get("/user/packages/container/Bad_Name!")));
}

TEST_F(PackagesApiTest, BadStateAndPackageTypeAre422) {
  for (const char* state : {"bogus", "ACTIVE", ""}) {
    EXPECT_TRUE(IsGithubError(get(std::string("/user/packages/container/app/versions?state=") + state), 422)) << state;
  }
  EXPECT_EQ(get("/user/packages/container/app/versions?state=active").status, 200);
  EXPECT_EQ(get("/user/packages/container/app/versions?state=deleted").status, 200);
  EXPECT_TRUE(IsGithubError(get("/user/packages"), 422)) << "package_type is required";
  EXPECT_TRUE(IsGithubError(get("/orgs/acme/packages"), 422));
  EXPECT_TRUE(IsGithubError(get("/users/alice/packages?package_type=bogus"), 422));
  EXPECT_TRUE(IsGithubError(get("/user/packages?package_type=container&visibility=bogus"), 422));
}

TEST_F(PackagesApiTest, MalformedPercentEncodingIs400) {
  for (const char* path : {"/orgs/acme/packages/container/platform%zzsbl", "/orgs/acme/packages/container/app%2",
                           "/orgs/acme/packages/container/app%", "/orgs/ac%zzme/packages/container/app",
                           "/orgs/acme/packages/container/platform%2Fsbl%2/versions"}) {
    EXPECT_TRUE(IsGithubError(get(path), 400)) << path;
  }
  // A well-formed escape of the owner's name is the owner.
  EXPECT_EQ(get("/orgs/ac%6De/packages/container/app").status, 200);
}

// GitHub: "org: The organization name. The name is not case sensitive." (and so are user names).
TEST_F(PackagesApiTest, OwnerNamesAreCaseInsensitiveAsOnGitHub) {
  Response r = get("/orgs/ACME/packages/container/app");
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(get("/orgs/Acme").status, 200);
  EXPECT_EQ(get("/users/Alice/packages?package_type=container").status, 200);
}

}  // namespace
}  // namespace berth::test
