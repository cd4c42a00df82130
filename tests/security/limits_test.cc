// Findings 4, 10 and 11 of the security review (issue 13): the catalog of a caller who may read
// nothing, on a registry with 100,000 repositories, does not hold up other requests; open upload
// sessions are capped per account and per address, and empty ones expire soon; a flood of failed logins
// for one name does not lock the other users of that address out, and an IPv6 client cannot reset its
// count by changing addresses within its /64.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"
#include "support/registry_process.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

std::string bad_pat() { return "berth_pat_" + std::string(43, 'x'); }

// Runs SQL on the server's SQLite database with the sqlite3 shell (waiting out the server's writes).
void run_sql(const RegistryProcess& server, const std::string& sql) {
  const std::string command =
      "sqlite3 -cmd '.timeout 10000' '" + (server.data_dir() / "berth.db").string() + "' \"" + sql + "\"";
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
}

// Adds `count` private repositories (bulk<k>/r000000 …) straight into the database: the API would take
// minutes to create that many, and the catalog reads only these rows.
void add_repositories(const RegistryProcess& server, int count) {
  run_sql(server, "WITH RECURSIVE n(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM n WHERE x + 1 < " +
                      std::to_string(count) +
                      ") INSERT INTO repository (name, created_at) SELECT printf('bulk%d/r%06d', x % 100, x), 0 "
                      "FROM n;");
}

// A server with auth on and eve, who owns nothing and belongs to nothing.
struct CatalogWorld {
  RegistryProcess server{RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}}};
  std::string eve;
  bool usable() const { return !server.external() && std::filesystem::exists(server.data_dir() / "berth.db"); }
  CatalogWorld() {
    if (!usable()) return;
    admin_or_throw(server.data_dir(), {"user", "create", "eve"});
    eve = admin_or_throw(server.data_dir(), {"token", "create", "--user", "eve"});
  }
};

TEST(Catalog, ACallerWhoMayReadNothingGetsAnEmptyPageWithoutStallingOtherRequests) {
  CatalogWorld world;
  if (!world.usable()) GTEST_SKIP() << "needs a server with SQLite started by the test";
  add_repositories(world.server, 100'000);
  const HttpClient client = world.server.client();
  const std::string& eve = world.eve;

  // Four catalogs at once: the old server filtered 100,000 names one permission read each, on the I/O
  // threads, and /healthz waited up to 1.9 s behind them.
  std::atomic<bool> done{false};
  std::vector<Response> catalogs(4);
  std::vector<std::thread> callers;
  for (auto& answer : catalogs) {
    callers.emplace_back([&client, &answer, &eve] { answer = client.get("/v2/_catalog", basic_auth("eve", eve)); });
  }
  std::thread watcher([&] {
    for (auto& t : callers) t.join();
    done = true;
  });
  auto slowest = 0ms;
  int probes = 0;
  while (!done) {
    const auto started = std::chrono::steady_clock::now();
    const Response health = client.get("/healthz");
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started);
    EXPECT_EQ(health.status, 200);
    slowest = std::max(slowest, took);
    ++probes;
    std::this_thread::sleep_for(5ms);
  }
  watcher.join();
  for (const auto& answer : catalogs) {
    EXPECT_EQ(answer.status, 200) << answer.describe();
    EXPECT_EQ(answer.body, R"({"repositories":[]})");
    EXPECT_TRUE(answer.header("Link").empty()) << answer.describe();
  }
  EXPECT_LT(slowest, 400ms) << "/healthz waited behind catalog requests (" << probes << " probes)";
}

TEST(Catalog, PagesOfAFilteredCatalogFollowTheLinkAndShowOnlyReadableNames) {
  CatalogWorld world;
  if (!world.usable()) GTEST_SKIP() << "needs a server with SQLite started by the test";
  add_repositories(world.server, 2'000);
  // Every 100th becomes public: 20 readable names scattered among 2,000.
  run_sql(world.server, "UPDATE repository SET visibility = 'public' WHERE name LIKE 'bulk0/%';");
  const HttpClient client = world.server.client();
  const std::string& eve = world.eve;
  std::vector<std::string> seen;
  std::string next = "/v2/_catalog?n=7";
  for (int page = 0; page < 10 && !next.empty(); ++page) {
    const Response r = client.get(next, basic_auth("eve", eve));
    ASSERT_EQ(r.status, 200) << r.describe();
    auto names = nlohmann::json::parse(r.body).at("repositories");
    for (const auto& n : names) seen.push_back(n.get<std::string>());
    const std::string link = r.header("Link");
    next = link.empty() ? "" : link.substr(1, link.find('>') - 1);
  }
  ASSERT_EQ(seen.size(), 20u);
  for (const auto& name : seen) EXPECT_TRUE(name.starts_with("bulk0/")) << name;
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
}

struct ThrottledServer {
  std::unique_ptr<RegistryProcess> server;
  std::string alice;
  ThrottledServer() {
    server = std::make_unique<RegistryProcess>(RegistryProcess::Options{
        .env = {{"BERTH_AUTH_ENABLED", "true"}, {"BERTH_TRUSTED_PROXIES", "127.0.0.1"}}});
    if (server->external()) return;
    admin_or_throw(server->data_dir(), {"user", "create", "alice"});
    alice = admin_or_throw(server->data_dir(), {"token", "create", "--user", "alice"});
  }
};

Headers from(Headers h, const std::string& client) {
  h.emplace_back("X-Forwarded-For", client);
  return h;
}

TEST(Throttle, AFloodOfFailedLoginsForOneNameDoesNotLockOtherUsersOfTheAddressOut) {
  ThrottledServer world;
  if (world.server->external()) GTEST_SKIP() << "needs a server started by the test";
  const HttpClient client = world.server->client();
  const std::string lb_client = "192.0.2.50";  // everyone behind one NAT
  for (int i = 0; i < 8; ++i) client.get("/v2/", from(basic_auth("mallory", bad_pat()), lb_client));
  EXPECT_TRUE(IsOciError(client.get("/v2/", from(basic_auth("mallory", bad_pat()), lb_client)), 429,
                         "TOOMANYREQUESTS"));
  const Response alice = client.get("/v2/", from(basic_auth("alice", world.alice), lb_client));
  EXPECT_EQ(alice.status, 200) << "alice was locked out by mallory's failures: " << alice.describe();
}

TEST(Throttle, AnIPv6ClientCannotResetItsCountByChangingAddressesWithinItsSlash64) {
  ThrottledServer world;
  if (world.server->external()) GTEST_SKIP() << "needs a server started by the test";
  const HttpClient client = world.server->client();
  for (int i = 1; i <= 5; ++i) {
    client.get("/v2/", from(basic_auth("alice", bad_pat()), "2001:db8:7:1::" + std::to_string(i)));
  }
  EXPECT_TRUE(IsOciError(client.get("/v2/", from(basic_auth("alice", world.alice), "2001:db8:7:1:ffff::9")), 429,
                         "TOOMANYREQUESTS"))
      << "five addresses of one /64 should count as one client";
  const Response other = client.get("/v2/", from(basic_auth("alice", world.alice), "2001:db8:7:2::1"));
  EXPECT_EQ(other.status, 200) << "another /64 is another client: " << other.describe();
}


// ---- Finding 10: open upload sessions are capped per account and per address ----

struct UploadWorld {
  std::unique_ptr<RegistryProcess> server;
  std::string alice, bob;
  explicit UploadWorld(std::map<std::string, std::string> env) {
    env["BERTH_AUTH_ENABLED"] = "true";
    server = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = std::move(env)});
    if (server->external()) return;
    for (const char* user : {"alice", "bob"}) {
      admin_or_throw(server->data_dir(), {"user", "create", user});
    }
    alice = admin_or_throw(server->data_dir(),
                           {"token", "create", "--user", "alice", "--scopes", "read:packages,write:packages"});
    bob = admin_or_throw(server->data_dir(),
                         {"token", "create", "--user", "bob", "--scopes", "read:packages,write:packages"});
  }
};

Response open_upload(const HttpClient& client, const std::string& user, const std::string& token) {
  return client.request("POST", "/v2/" + user + "/app/blobs/uploads/", basic_auth(user, token));
}

TEST(Uploads, OpenSessionsAreCappedPerAccountAndPerAddress) {
  UploadWorld world({{"BERTH_UPLOAD_MAX_OPEN_PER_ACCOUNT", "5"}, {"BERTH_UPLOAD_MAX_OPEN_PER_ADDRESS", "8"}});
  if (world.server->external()) GTEST_SKIP() << "needs a server started by the test";
  const HttpClient client = world.server->client();
  std::vector<std::string> alices;
  for (int i = 0; i < 5; ++i) {
    const Response r = open_upload(client, "alice", world.alice);
    ASSERT_EQ(r.status, 202) << i << ": " << r.describe();
    alices.push_back(r.header("Location"));
  }
  const Response sixth = open_upload(client, "alice", world.alice);
  EXPECT_TRUE(IsOciError(sixth, 429, "TOOMANYREQUESTS")) << sixth.describe();
  EXPECT_NE(sixth.body.find("too many open uploads"), std::string::npos) << sixth.body;
  // Cancelling one makes room again.
  ASSERT_EQ(client.del(alices.back(), basic_auth("alice", world.alice)).status, 204);
  EXPECT_EQ(open_upload(client, "alice", world.alice).status, 202);
  // Bob has a cap of his own, but shares the address: 5 of alice's + 3 of his make 8.
  for (int i = 0; i < 3; ++i) EXPECT_EQ(open_upload(client, "bob", world.bob).status, 202) << i;
  EXPECT_TRUE(IsOciError(open_upload(client, "bob", world.bob), 429, "TOOMANYREQUESTS"));
}

TEST(Uploads, ASessionThatNeverReceivedAByteExpiresSoonerThanOneWithData) {
  UploadWorld world({{"BERTH_UPLOAD_EMPTY_EXPIRE_AFTER_SECONDS", "1"}, {"BERTH_UPLOAD_SWEEP_SECONDS", "1"}});
  if (world.server->external()) GTEST_SKIP() << "needs a server started by the test";
  const HttpClient client = world.server->client();
  const Headers auth = basic_auth("alice", world.alice);
  const std::string empty = open_upload(client, "alice", world.alice).header("Location");
  const std::string started = open_upload(client, "alice", world.alice).header("Location");
  ASSERT_FALSE(empty.empty());
  Headers patch = auth;
  patch.emplace_back("Content-Type", "application/octet-stream");
  ASSERT_EQ(client.request("PATCH", started, patch, "some bytes").status, 202);
  Response gone;
  for (int i = 0; i < 50; ++i) {  // the sweep runs every second; the empty session is 1 s idle after ~2 s
    std::this_thread::sleep_for(200ms);
    gone = client.get(empty, auth);
    if (gone.status == 404) break;
  }
  EXPECT_TRUE(IsOciError(gone, 404, "BLOB_UPLOAD_UNKNOWN")) << gone.describe();
  const Response kept = client.get(started, auth);
  EXPECT_EQ(kept.status, 204) << "a session with data is kept for the normal expiry: " << kept.describe();
  EXPECT_EQ(kept.header("Range"), "0-9");
}

}  // namespace
}  // namespace berth::test
