// The authorization table over real HTTP: every identity × action × visibility of the access model
// (src/auth/access.h, docs/auth.md), each cell asserting the exact status and OCI error code.
//
// Identities are made with the real `berth admin` CLI against the server's data directory, content is
// pushed as alice before the table runs. Expected values are derived from the rules in access.h, not
// from the implementation: a cell that fails here is a server that disagrees with its own rules.
#include <algorithm>
#include <chrono>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <thread>
#include <tuple>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

enum class Who { anonymous, owner, member, org_admin, outsider, ci, read_only, expired, revoked, ci_user_pkg };
enum class Act { pull, push, del, tags, catalog, mount };
enum class Vis { priv, pub };

std::string name_of(Who w) {
  static const char* names[] = {"anonymous", "owner",     "org member", "org admin", "outsider",
                                "CI token",  "read-only PAT", "expired token", "revoked token", "CI token (user pkg)"};
  return names[static_cast<int>(w)];
}
std::string name_of(Act a) {
  static const char* names[] = {"pull", "push", "delete", "list tags", "catalog", "mount"};
  return names[static_cast<int>(a)];
}
std::string name_of(Vis v) { return v == Vis::priv ? "private" : "public"; }

struct Cell {
  Who who;
  Act act;
  Vis vis;           // of `repo`; for mount, of the source `from`
  std::string repo;  // the package acted on; for mount, the caller's own repository mounted into
  int status;        // the exact HTTP status
  std::string code;  // the OCI error code; empty for success
  std::string from = {};  // mount: the source repository
  bool listed = false;    // catalog: whether `repo` is in the caller's catalog
};

constexpr const char* kUnauthorized = "UNAUTHORIZED";
constexpr const char* kDenied = "DENIED";
constexpr const char* kManifestUnknown = "MANIFEST_UNKNOWN";
constexpr const char* kNameUnknown = "NAME_UNKNOWN";

// Packages (all pushed as alice, or dave for his own, before the table runs). Private unless noted.
//   alice/app  alice/pub (public)  acme/private  acme/pub (public)  acme/ci-app  acme/shared (bob: write)
//   alice/ci-user  dave/secret
// Mount targets that do not exist beforehand: carol/home, dave/home (each user's own namespace).
const std::vector<Cell>& table() {
  using W = Who;
  using A = Act;
  const Vis P = Vis::priv, U = Vis::pub;
  static const std::vector<Cell> cells = {
      // anonymous: pulls public packages only; everything else asks for credentials. The catalog always
      // answers 401 to anonymous callers (it is how clients discover the token endpoint).
      {W::anonymous, A::pull, P, "acme/private", 401, kUnauthorized},
      {W::anonymous, A::pull, U, "acme/pub", 200, ""},
      {W::anonymous, A::push, P, "acme/private", 401, kUnauthorized},
      {W::anonymous, A::push, U, "acme/pub", 401, kUnauthorized},
      {W::anonymous, A::del, P, "acme/private", 401, kUnauthorized},
      {W::anonymous, A::del, U, "acme/pub", 401, kUnauthorized},
      {W::anonymous, A::tags, P, "acme/private", 401, kUnauthorized},
      {W::anonymous, A::tags, U, "acme/pub", 200, ""},
      {W::anonymous, A::catalog, P, "acme/private", 401, kUnauthorized},
      {W::anonymous, A::catalog, U, "acme/pub", 401, kUnauthorized},
      {W::anonymous, A::mount, P, "acme/private", 401, kUnauthorized, "alice/app"},
      {W::anonymous, A::mount, U, "acme/private", 401, kUnauthorized, "acme/pub"},
      {W::anonymous, A::pull, P, "acme/never-created", 401, kUnauthorized},  // a missing one: the same answer
      // owner: alice in her own namespace may do everything; a mount from a package she cannot read
      // (dave/secret) is a fresh upload, from a public one a real mount.
      {W::owner, A::pull, P, "alice/app", 200, ""},
      {W::owner, A::pull, U, "alice/pub", 200, ""},
      {W::owner, A::push, P, "alice/app", 201, ""},
      {W::owner, A::push, U, "alice/pub", 201, ""},
      {W::owner, A::del, P, "alice/app", 202, ""},
      {W::owner, A::del, U, "alice/pub", 202, ""},
      {W::owner, A::tags, P, "alice/app", 200, ""},
      {W::owner, A::tags, U, "alice/pub", 200, ""},
      {W::owner, A::catalog, P, "alice/app", 200, "", "", true},
      {W::owner, A::catalog, U, "alice/pub", 200, "", "", true},
      {W::owner, A::mount, P, "alice/app", 202, "", "dave/secret"},
      {W::owner, A::mount, U, "alice/app", 201, "", "acme/pub"},
      // org member: reads every org package, may not push to existing ones without a role, never deletes
      // (delete needs org admin); may create new org packages (and then push to what they created).
      {W::member, A::pull, P, "acme/private", 200, ""},
      {W::member, A::pull, U, "acme/pub", 200, ""},
      {W::member, A::push, P, "acme/private", 403, kDenied},
      {W::member, A::push, U, "acme/pub", 403, kDenied},
      {W::member, A::del, P, "acme/private", 403, kDenied},
      {W::member, A::del, U, "acme/pub", 403, kDenied},
      {W::member, A::tags, P, "acme/private", 200, ""},
      {W::member, A::tags, U, "acme/pub", 200, ""},
      {W::member, A::catalog, P, "acme/private", 200, "", "", true},
      {W::member, A::catalog, U, "acme/pub", 200, "", "", true},
      {W::member, A::mount, P, "carol/home", 202, "", "alice/app"},
      {W::member, A::mount, U, "carol/home", 201, "", "acme/pub"},
      {W::member, A::push, P, "acme/carol-new", 201, ""},   // creates it: org members may
      {W::member, A::del, P, "acme/carol-new", 403, kDenied},  // her own, but org-owned: org admin only
      // org admin: alice administers every acme package.
      {W::org_admin, A::pull, P, "acme/private", 200, ""},
      {W::org_admin, A::pull, U, "acme/pub", 200, ""},
      {W::org_admin, A::push, P, "acme/private", 201, ""},
      {W::org_admin, A::push, U, "acme/pub", 201, ""},
      {W::org_admin, A::del, P, "acme/private", 202, ""},
      {W::org_admin, A::del, U, "acme/pub", 202, ""},
      {W::org_admin, A::tags, P, "acme/private", 200, ""},
      {W::org_admin, A::tags, U, "acme/pub", 200, ""},
      {W::org_admin, A::catalog, P, "acme/private", 200, "", "", true},
      {W::org_admin, A::catalog, U, "acme/pub", 200, "", "", true},
      {W::org_admin, A::mount, P, "acme/private", 202, "", "dave/secret"},
      {W::org_admin, A::mount, U, "acme/private", 201, "", "acme/pub"},
      // outsider: a private package is indistinguishable from a missing one (404 on pull, delete and tags);
      // a public one is readable, so refusals there are 403; pushes are 403 either way.
      {W::outsider, A::pull, P, "alice/app", 404, kManifestUnknown},
      {W::outsider, A::pull, U, "alice/pub", 200, ""},
      {W::outsider, A::push, P, "alice/app", 403, kDenied},
      {W::outsider, A::push, U, "alice/pub", 403, kDenied},
      {W::outsider, A::del, P, "alice/app", 404, kManifestUnknown},
      {W::outsider, A::del, U, "alice/pub", 403, kDenied},
      {W::outsider, A::tags, P, "alice/app", 404, kNameUnknown},
      {W::outsider, A::tags, U, "alice/pub", 200, ""},
      {W::outsider, A::catalog, P, "alice/app", 200, "", "", false},
      {W::outsider, A::catalog, U, "alice/pub", 200, "", "", true},
      {W::outsider, A::mount, P, "dave/home", 202, "", "acme/private"},
      {W::outsider, A::mount, U, "dave/home", 201, "", "acme/pub"},
      {W::outsider, A::pull, P, "acme/private", 404, kManifestUnknown},
      {W::outsider, A::push, P, "acme/never-created", 403, kDenied},  // 403 whether or not it exists
      // CI token (alice's, limited to acme/ci-app, all three scopes): full use of its package except
      // delete (org-owned); nothing else exists for it, public packages included ("limited to").
      {W::ci, A::pull, P, "acme/ci-app", 200, ""},
      {W::ci, A::pull, U, "acme/pub", 404, kManifestUnknown},
      {W::ci, A::push, P, "acme/ci-app", 201, ""},
      {W::ci, A::push, U, "acme/pub", 403, kDenied},
      {W::ci, A::del, P, "acme/ci-app", 403, kDenied},
      {W::ci, A::del, U, "acme/pub", 404, kManifestUnknown},
      {W::ci, A::tags, P, "acme/ci-app", 200, ""},
      {W::ci, A::tags, U, "acme/pub", 404, kNameUnknown},
      {W::ci, A::catalog, P, "acme/ci-app", 200, "", "", true},
      {W::ci, A::catalog, U, "acme/pub", 200, "", "", false},
      {W::ci, A::mount, P, "acme/ci-app", 202, "", "acme/private"},
      {W::ci, A::mount, U, "acme/ci-app", 202, "", "acme/pub"},
      {W::ci, A::pull, P, "acme/private", 404, kManifestUnknown},
      {W::ci, A::push, P, "acme/private", 403, kDenied},
      {W::ci, A::del, P, "acme/private", 404, kManifestUnknown},
      {W::ci, A::tags, P, "acme/private", 404, kNameUnknown},
      {W::ci, A::catalog, P, "acme/private", 200, "", "", false},
      // A CI token may delete in a user-owned package: only org-owned ones are out of its reach.
      {W::ci_user_pkg, A::pull, P, "alice/ci-user", 200, ""},
      {W::ci_user_pkg, A::del, P, "alice/ci-user", 202, ""},
      // read-only PAT: bob's `write` role on acme/shared is capped by read:packages; he is no acme member.
      {W::read_only, A::pull, P, "acme/shared", 200, ""},
      {W::read_only, A::pull, U, "acme/pub", 200, ""},
      {W::read_only, A::push, P, "acme/shared", 403, kDenied},
      {W::read_only, A::push, U, "acme/pub", 403, kDenied},
      {W::read_only, A::del, P, "acme/shared", 403, kDenied},
      {W::read_only, A::del, U, "acme/pub", 403, kDenied},
      {W::read_only, A::tags, P, "acme/shared", 200, ""},
      {W::read_only, A::tags, U, "acme/pub", 200, ""},
      {W::read_only, A::catalog, P, "acme/shared", 200, "", "", true},
      {W::read_only, A::catalog, U, "acme/pub", 200, "", "", true},
      {W::read_only, A::mount, P, "acme/shared", 403, kDenied, "acme/private"},
      {W::read_only, A::mount, U, "acme/shared", 403, kDenied, "acme/pub"},
      {W::read_only, A::pull, P, "acme/private", 404, kManifestUnknown},
      // expired and revoked tokens: bad credentials are refused outright, never downgraded to anonymous.
  };
  static const std::vector<Cell> all = [] {
    std::vector<Cell> out = cells;
    for (Who w : {Who::expired, Who::revoked}) {
      for (Act a : {Act::pull, Act::push, Act::del, Act::tags, Act::catalog, Act::mount}) {
        out.push_back({w, a, Vis::priv, a == Act::mount ? "alice/app" : "acme/private", 401, kUnauthorized,
                       a == Act::mount ? "dave/secret" : ""});
        out.push_back({w, a, Vis::pub, a == Act::mount ? "alice/app" : "acme/pub", 401, kUnauthorized,
                       a == Act::mount ? "acme/pub" : ""});
      }
    }
    return out;
  }();
  return all;
}

std::string owner_of(const std::string& repo) { return repo.substr(0, repo.find('/')); }

class AuthMatrix : public ::testing::Test {
 protected:
  struct World {
    std::unique_ptr<RegistryProcess> server;
    std::map<Who, std::pair<std::string, std::string>> creds;  // user, secret
    std::chrono::system_clock::time_point expired_after;
    std::map<std::string, PushedImage> v1;  // repository → the image tagged v1
  };
  static inline World* world_ = nullptr;
  static inline std::string setup_error_;
  static inline int cells_asserted_ = 0;   // table cells
  static inline int bearer_asserted_ = 0;  // cells of the bearer subset

  static void SetUpTestSuite() {
    try {
      world_ = new World;
      build_world(*world_);
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    std::cout << "[auth matrix] 9 identities x 6 actions x 2 visibilities = 108 combinations; " << cells_asserted_
              << " of " << table().size() << " table cells and " << bearer_asserted_
              << " bearer-flow cells asserted in this run\n";
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override {
    if (world_ && world_->server && world_->server->external()) GTEST_SKIP() << "needs a server started by the test";
    ASSERT_TRUE(setup_error_.empty()) << "setting up identities and packages failed: " << setup_error_;
  }

  static void build_world(World& w) {
    w.server = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}});
    if (w.server->external()) return;
    const auto dir = w.server->data_dir();
    auto admin = [&](std::vector<std::string> args) { return admin_or_throw(dir, args); };
    const std::string all = "read:packages,write:packages,delete:packages";
    for (const char* user : {"alice", "bob", "carol", "dave"}) admin({"user", "create", user});
    // First, so that its one second of life passes while the rest is set up.
    w.creds[Who::expired] = {"alice", admin({"token", "create", "--user", "alice", "--scopes", all, "--expires", "1s"})};
    w.expired_after = std::chrono::system_clock::now() + 2s;
    admin({"org", "create", "acme", "--admin", "alice"});
    admin({"org", "add-member", "acme", "carol", "--role", "member"});
    auto pat = [&](const std::string& user, const std::string& scopes) {
      return std::make_pair(user, admin({"token", "create", "--user", user, "--scopes", scopes}));
    };
    w.creds[Who::anonymous] = {"", ""};
    w.creds[Who::owner] = w.creds[Who::org_admin] = pat("alice", all);
    w.creds[Who::member] = pat("carol", all);
    w.creds[Who::outsider] = pat("dave", all);
    w.creds[Who::read_only] = pat("bob", "read:packages");
    // The CI token gets delete:packages too, so its refused org delete is the CI rule, not a missing scope.
    w.creds[Who::ci] = {"alice", admin({"token", "create", "--ci", "--user", "alice", "--packages", "acme/ci-app",
                                        "--scopes", all, "--ttl", "1h"})};
    w.creds[Who::ci_user_pkg] = {"alice", admin({"token", "create", "--ci", "--user", "alice", "--packages",
                                                 "alice/ci-user", "--scopes", all, "--ttl", "1h"})};
    w.creds[Who::revoked] = {"alice", admin({"token", "create", "--user", "alice", "--scopes", all, "--name",
                                             "revoke-me"})};

    const HttpClient client = w.server->client();
    const Headers alice = basic_auth("alice", w.creds[Who::owner].second);
    for (const char* repo : {"alice/app", "alice/pub", "alice/ci-user", "acme/private", "acme/pub", "acme/ci-app",
                             "acme/shared"}) {
      w.v1[repo] = push_image_as(client, alice, repo, "v1");
    }
    w.v1["dave/secret"] = push_image_as(client, basic_auth("dave", w.creds[Who::outsider].second), "dave/secret", "v1");
    admin({"package", "visibility", "alice/pub", "public"});
    admin({"package", "visibility", "acme/pub", "public"});
    admin({"package", "grant", "acme/shared", "bob", "write"});

    // The revoked token must have worked before its revocation, or the cell would prove nothing.
    auto before = client.get("/v2/", basic_auth("alice", w.creds[Who::revoked].second));
    if (before.status != 200) throw std::runtime_error("the token to revoke does not work: " + before.describe());
    std::istringstream list(admin({"token", "list", "--user", "alice"}));
    std::string line, id;
    while (std::getline(list, line)) {
      if (line.size() > 10 && line.substr(line.size() - 10) == "\trevoke-me") id = line.substr(0, line.find('\t'));
    }
    if (id.empty()) throw std::runtime_error("no token named revoke-me in `token list`");
    admin({"token", "revoke", id});
  }

  HttpClient client() const { return world_->server->client(); }
  Headers auth(Who w) const { return basic_auth(world_->creds.at(w).first, world_->creds.at(w).second); }
  Headers alice() const { return auth(Who::owner); }
  static bool bad_credentials(Who w) { return w == Who::expired || w == Who::revoked; }

  // A request as `who`. The expired and revoked cells fail logins on purpose, two dozen of them: a
  // successful login after each resets the per-address counter, so the throttle (tested on its own
  // server in auth_token_test.cc) does not turn the rest of the table into 429s.
  Response call(Who who, const std::string& method, const std::string& target, Headers extra = {},
                const std::string& body = {}) const {
    Headers headers = auth(who);
    headers.insert(headers.end(), extra.begin(), extra.end());
    Response r = client().request(method, target, headers, body);
    if (bad_credentials(who)) {
      auto reset = client().get("/v2/", alice());
      EXPECT_EQ(reset.status, 200) << "a valid login after a refused one\n" << reset.describe();
    }
    return r;
  }

  // 401 answers carry the Docker token challenge for exactly the scope the request needed; when the
  // request had (bad) credentials the challenge says so.
  void expect_challenge(const Cell& c, const Response& r, const std::string& scope) const {
    std::string want = expected_challenge(client(), scope);
    if (!auth(c.who).empty()) want += ",error=\"invalid_token\"";
    EXPECT_EQ(r.header("WWW-Authenticate"), want) << r.describe();
  }

  // A hidden package must answer exactly what the registry itself answers for a missing one: alice asks
  // for a repository that does not exist under the same owner (where she could read it if it did).
  void expect_like_missing(const Cell& c, const Response& hidden, const std::string& method,
                           const std::string& suffix) const {
    const std::string twin = owner_of(c.repo) + "/missing-twin";
    Response missing = client().request(method, "/v2/" + twin + suffix, alice());
    std::string body = missing.body;
    for (auto at = body.find(twin); at != std::string::npos; at = body.find(twin, at + c.repo.size())) {
      body.replace(at, twin.size(), c.repo);  // the answer may name the repository asked for
    }
    EXPECT_EQ(hidden.status, missing.status) << missing.describe();
    EXPECT_EQ(hidden.body, body) << "hidden:\n" << hidden.describe() << "\nmissing:\n" << missing.describe();
    auto names = [](const Response& r) {
      std::set<std::string> out;
      for (const auto& [name, value] : r.headers) {
        std::string lower = name;
        std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
        if (lower != "date") out.insert(lower + (lower == "content-length" ? "" : ": " + value));
      }
      return out;
    };
    EXPECT_EQ(names(hidden), names(missing)) << "hidden:\n" << hidden.describe() << "\nmissing:\n" << missing.describe();
  }

  // Checks an error answer: status, OCI code, challenge or missing-twin as the cell asks.
  void expect_error(const Cell& c, const Response& r, const std::string& scope, const std::string& method,
                    const std::string& suffix) const {
    EXPECT_TRUE(IsOciError(r, c.status, c.code));
    if (c.status == 401) expect_challenge(c, r, scope);
    if (c.status == 404) expect_like_missing(c, r, method, suffix);
  }

  void check(const Cell& c) {
    const std::string pull_scope = "repository:" + c.repo + ":pull";
    const std::string push_scope = "repository:" + c.repo + ":pull,push";
    switch (c.act) {
      case Act::pull: {
        Response r = call(c.who, "GET", "/v2/" + c.repo + "/manifests/v1");
        if (c.status == 200) {
          EXPECT_EQ(r.status, 200) << r.describe();
          EXPECT_EQ(r.body, world_->v1.at(c.repo).manifest);
        } else {
          expect_error(c, r, pull_scope, "GET", "/manifests/v1");
        }
        break;
      }
      case Act::push: {
        const std::string tag = "pushed-" + std::to_string(cells_asserted_);
        if (c.status == 201) {
          push_image_as(client(), auth(c.who), c.repo, tag);  // asserts 202 / 201 / 201 / 201
          Response back = call(c.who, "GET", "/v2/" + c.repo + "/manifests/" + tag);
          EXPECT_EQ(back.status, 200) << "the pushed tag\n" << back.describe();
          break;
        }
        Response start = call(c.who, "POST", "/v2/" + c.repo + "/blobs/uploads/");
        expect_error(c, start, push_scope, "POST", "/blobs/uploads/");
        nlohmann::json manifest = {{"schemaVersion", 2}, {"mediaType", media::kOciManifest},
                                   {"config", {{"mediaType", media::kOciConfig}, {"digest", sha256("x")}, {"size", 1}}},
                                   {"layers", nlohmann::json::array()}};
        Response put = call(c.who, "PUT", "/v2/" + c.repo + "/manifests/" + tag,
                            {{"Content-Type", media::kOciManifest}}, manifest.dump());
        expect_error(c, put, push_scope, "PUT", "/manifests/" + tag);
        Response after = client().get("/v2/" + c.repo + "/manifests/" + tag, alice());
        EXPECT_TRUE(IsOciError(after, 404, kManifestUnknown)) << "a refused push wrote nothing";
        break;
      }
      case Act::del: {
        // A manifest of its own for each delete cell, pushed by alice (who may push everywhere here).
        PushedImage victim = push_image_as(client(), alice(), c.repo);
        const std::string path = "/v2/" + c.repo + "/manifests/" + victim.digest;
        Response r = call(c.who, "DELETE", path);
        Response after = client().get(path, alice());
        if (c.status == 202) {
          EXPECT_EQ(r.status, 202) << r.describe();
          EXPECT_TRUE(IsOciError(after, 404, kManifestUnknown)) << "the deleted manifest is gone";
        } else {
          expect_error(c, r, "repository:" + c.repo + ":delete", "DELETE", "/manifests/" + victim.digest);
          EXPECT_EQ(after.status, 200) << "a refused delete deleted nothing\n" << after.describe();
        }
        break;
      }
      case Act::tags: {
        Response r = call(c.who, "GET", "/v2/" + c.repo + "/tags/list");
        if (c.status == 200) {
          ASSERT_EQ(r.status, 200) << r.describe();
          auto doc = r.json();
          EXPECT_EQ(doc.value("name", ""), c.repo);
          auto tags = doc.value("tags", std::vector<std::string>{});
          EXPECT_NE(std::find(tags.begin(), tags.end(), "v1"), tags.end()) << r.body;
        } else {
          expect_error(c, r, pull_scope, "GET", "/tags/list");
        }
        break;
      }
      case Act::catalog: {
        Response r = call(c.who, "GET", "/v2/_catalog");
        if (c.status == 200) {
          ASSERT_EQ(r.status, 200) << r.describe();
          auto names = r.json().value("repositories", std::vector<std::string>{});
          bool listed = std::find(names.begin(), names.end(), c.repo) != names.end();
          EXPECT_EQ(listed, c.listed) << c.repo << " in " << r.body;
        } else {
          expect_error(c, r, "registry:catalog:*", "GET", "");
        }
        break;
      }
      case Act::mount: {
        const std::string digest = world_->v1.at(c.from).layer_digest;
        const std::string blob = "/v2/" + c.repo + "/blobs/" + digest;
        if (c.status == 201 || c.status == 202) {
          EXPECT_EQ(call(c.who, "HEAD", blob).status, 404) << "precondition: the blob is not in " << c.repo;
        }
        Response r = call(c.who, "POST", "/v2/" + c.repo + "/blobs/uploads/?mount=" + url_encode(digest) +
                                             "&from=" + url_encode(c.from));
        if (c.status == 202) {
          EXPECT_EQ(r.status, 202) << "a mount from an unreadable source must be a fresh upload\n" << r.describe();
          EXPECT_FALSE(r.header("Location").empty()) << r.describe();
          EXPECT_FALSE(r.header("Docker-Upload-UUID").empty()) << r.describe();
          EXPECT_EQ(call(c.who, "HEAD", blob).status, 404) << "the blob leaked into " << c.repo;
        } else if (c.status == 201) {
          EXPECT_EQ(r.status, 201) << r.describe();
          EXPECT_EQ(r.header("Docker-Content-Digest"), digest);
          EXPECT_EQ(call(c.who, "HEAD", blob).status, 200) << "the mounted blob";
        } else {
          expect_error(c, r, push_scope, "POST", "/blobs/uploads/");
        }
        break;
      }
    }
  }

  void run_cells(std::initializer_list<Who> identities) {
    int n = 0;
    for (const Cell& c : table()) {
      if (std::find(identities.begin(), identities.end(), c.who) == identities.end()) continue;
      if (bad_credentials(c.who)) std::this_thread::sleep_until(world_->expired_after);
      SCOPED_TRACE(name_of(c.who) + " / " + name_of(c.act) + " / " + name_of(c.vis) + " " + c.repo +
                   (c.from.empty() ? "" : " from " + c.from) + " → " + std::to_string(c.status) + " " + c.code);
      check(c);
      ++n;
      ++cells_asserted_;
    }
    EXPECT_GT(n, 0);
  }
};

TEST_F(AuthMatrix, TableCoversEveryIdentityActionAndVisibility) {
  std::set<std::tuple<Who, Act, Vis>> covered;
  for (const Cell& c : table()) covered.insert({c.who, c.act, c.vis});
  int combinations = 0;
  for (int w = 0; w <= static_cast<int>(Who::revoked); ++w) {
    for (int a = 0; a <= static_cast<int>(Act::mount); ++a) {
      for (Vis v : {Vis::priv, Vis::pub}) {
        ++combinations;
        EXPECT_TRUE(covered.count({static_cast<Who>(w), static_cast<Act>(a), v}))
            << "no cell for " << name_of(static_cast<Who>(w)) << " / " << name_of(static_cast<Act>(a)) << " / "
            << name_of(v);
      }
    }
  }
  std::cout << "[auth matrix] " << combinations << " combinations (9 identities x 6 actions x 2 visibilities), "
            << table().size() << " cells in the table\n";
}

TEST_F(AuthMatrix, Anonymous) { run_cells({Who::anonymous}); }
TEST_F(AuthMatrix, Owner) { run_cells({Who::owner}); }
TEST_F(AuthMatrix, OrgMember) { run_cells({Who::member}); }
TEST_F(AuthMatrix, OrgAdmin) { run_cells({Who::org_admin}); }
TEST_F(AuthMatrix, Outsider) { run_cells({Who::outsider}); }
TEST_F(AuthMatrix, CiToken) { run_cells({Who::ci, Who::ci_user_pkg}); }
TEST_F(AuthMatrix, ReadOnlyToken) { run_cells({Who::read_only}); }
TEST_F(AuthMatrix, ExpiredAndRevokedTokens) { run_cells({Who::expired, Who::revoked}); }

// The bearer flow for a subset of the table: GET /token with Basic credentials answers a JWT whose
// `access` claim is the intersection of what was asked and what the caller may do, and the JWT then
// opens exactly that.
TEST_F(AuthMatrix, BearerTokensGrantTheIntersectionAndOpenExactlyThat) {
  struct Grant {
    Who who;
    std::string repo, asked;
    std::set<std::string> granted;
  };
  const std::vector<Grant> grants = {
      {Who::owner, "alice/app", "pull,push,delete", {"pull", "push", "delete"}},
      {Who::org_admin, "acme/private", "pull", {"pull"}},  // asked for less than allowed: gets what it asked
      {Who::member, "acme/private", "pull,push,delete", {"pull"}},
      {Who::outsider, "alice/app", "pull,push", {}},
      {Who::outsider, "alice/pub", "pull,push", {"pull"}},
      {Who::ci, "acme/ci-app", "pull,push,delete", {"pull", "push"}},
      {Who::ci, "acme/pub", "pull", {}},
      {Who::read_only, "acme/shared", "pull,push,delete", {"pull"}},
      {Who::anonymous, "acme/pub", "pull,push", {"pull"}},
      {Who::anonymous, "acme/private", "pull", {}},
  };
  std::map<std::pair<Who, std::string>, std::string> jwt;
  for (const Grant& g : grants) {
    SCOPED_TRACE(name_of(g.who) + " asks repository:" + g.repo + ":" + g.asked);
    Response r = call(g.who, "GET", "/token?service=berth&scope=" + url_encode("repository:" + g.repo + ":" + g.asked));
    ASSERT_EQ(r.status, 200) << r.describe();
    const std::string token = r.json().value("token", "");
    auto parts = split_jwt(token);
    EXPECT_EQ(parts.header.value("alg", ""), "ES256");
    EXPECT_EQ(parts.payload.value("sub", ""), world_->creds.at(g.who).first);
    EXPECT_EQ(parts.payload.value("aud", ""), "berth");
    EXPECT_EQ(parts.payload.value("iss", ""), "berth");
    std::set<std::string> granted;
    for (const auto& entry : parts.payload.value("access", nlohmann::json::array())) {
      EXPECT_EQ(entry.value("type", ""), "repository") << entry;
      EXPECT_EQ(entry.value("name", ""), g.repo) << entry;
      for (const auto& a : entry.value("actions", nlohmann::json::array())) granted.insert(a.get<std::string>());
    }
    EXPECT_EQ(granted, g.granted) << parts.payload.dump();
    jwt[{g.who, g.repo}] = token;
    ++bearer_asserted_;
  }
  auto as = [&](Who w, const std::string& repo) { return bearer_auth(jwt.at({w, repo})); };
  auto pull = [&](Who w, const std::string& token_repo, const std::string& repo) {
    return client().get("/v2/" + repo + "/manifests/v1", as(w, token_repo));
  };
  auto start_push = [&](Who w, const std::string& repo) {
    return client().request("POST", "/v2/" + repo + "/blobs/uploads/", as(w, repo));
  };
  auto del = [&](Who w, const std::string& repo) {
    PushedImage victim = push_image_as(client(), alice(), repo);
    return client().del("/v2/" + repo + "/manifests/" + victim.digest, as(w, repo));
  };

  EXPECT_EQ(pull(Who::owner, "alice/app", "alice/app").status, 200);
  push_image_as(client(), as(Who::owner, "alice/app"), "alice/app", "via-bearer");
  EXPECT_EQ(del(Who::owner, "alice/app").status, 202);

  EXPECT_EQ(pull(Who::member, "acme/private", "acme/private").status, 200);
  EXPECT_TRUE(IsOciError(start_push(Who::member, "acme/private"), 403, kDenied));
  EXPECT_TRUE(IsOciError(del(Who::member, "acme/private"), 403, kDenied));

  EXPECT_TRUE(IsOciError(pull(Who::outsider, "alice/app", "alice/app"), 404, kManifestUnknown));
  EXPECT_EQ(pull(Who::outsider, "alice/pub", "alice/pub").status, 200);
  EXPECT_TRUE(IsOciError(start_push(Who::outsider, "alice/pub"), 403, kDenied));

  push_image_as(client(), as(Who::ci, "acme/ci-app"), "acme/ci-app", "via-bearer");
  EXPECT_TRUE(IsOciError(del(Who::ci, "acme/ci-app"), 403, kDenied));
  EXPECT_TRUE(IsOciError(pull(Who::ci, "acme/ci-app", "acme/private"), 404, kManifestUnknown));

  EXPECT_EQ(pull(Who::read_only, "acme/shared", "acme/shared").status, 200);
  EXPECT_TRUE(IsOciError(start_push(Who::read_only, "acme/shared"), 403, kDenied));

  EXPECT_EQ(pull(Who::anonymous, "acme/pub", "acme/pub").status, 200);
  EXPECT_TRUE(IsOciError(pull(Who::anonymous, "acme/private", "acme/private"), 401, kUnauthorized));

  // Where the caller may do more than the token says, the answer is a challenge for the scope that
  // would allow it (a client then fetches a new token), not a refusal.
  struct Beyond {
    Who who;
    std::string token_repo, method, target, scope;
  };
  for (const Beyond& b : {Beyond{Who::org_admin, "acme/private", "POST", "/v2/acme/private/blobs/uploads/",
                                 "repository:acme/private:pull,push"},
                          Beyond{Who::owner, "alice/app", "GET", "/v2/acme/private/manifests/v1",
                                 "repository:acme/private:pull"}}) {
    Response r = client().request(b.method, b.target, as(b.who, b.token_repo));
    EXPECT_TRUE(IsOciError(r, 401, kUnauthorized)) << b.method << " " << b.target;
    EXPECT_EQ(r.header("WWW-Authenticate").rfind(expected_challenge(client(), b.scope), 0), 0u) << r.describe();
  }

  // Bad credentials get no token at all.
  for (Who w : {Who::expired, Who::revoked}) {
    std::this_thread::sleep_until(world_->expired_after);
    Response r = call(w, "GET", "/token?service=berth&scope=" + url_encode("repository:acme/pub:pull"));
    EXPECT_TRUE(IsOciError(r, 401, kUnauthorized)) << name_of(w);
    ++bearer_asserted_;
  }
}

}  // namespace
}  // namespace berth::test
