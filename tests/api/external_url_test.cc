// server.external_url: how a registry behind a load balancer names itself. The token realm in challenges,
// Location headers of /v2/ writes and the registry of `berth admin pull-secret` follow it; without it,
// realms come from the Host header and Locations stay relative. A malformed value stops the server.
#include <fstream>
#include <memory>
#include <sstream>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"

namespace berth::test {
namespace {

constexpr const char* kExternal = "https://registry.example.com";

std::unique_ptr<RegistryProcess> start_server(std::map<std::string, std::string> env) {
  return std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = std::move(env)});
}

// The realm="…" attribute of a Bearer challenge.
std::string realm_of(const Response& r) {
  const std::string header = r.header("WWW-Authenticate");
  auto start = header.find("realm=\"");
  if (start == std::string::npos) return "";
  start += 7;
  return header.substr(start, header.find('"', start) - start);
}

// The registries a `pull-secret` Secret holds credentials for.
std::vector<std::string> secret_registries(const std::string& secret_yaml) {
  std::istringstream lines(secret_yaml);
  std::string line;
  const std::string key = ".dockerconfigjson: ";
  while (std::getline(lines, line)) {
    auto at = line.find(key);
    if (at == std::string::npos) continue;
    auto json = base64_decode(line.substr(at + key.size()));
    if (!json) return {};
    const nlohmann::json config = nlohmann::json::parse(*json);
    std::vector<std::string> names;
    for (const auto& [name, _] : config.at("auths").items()) names.push_back(name);
    return names;
  }
  return {};
}

// Starts an upload and finishes it with one PUT: the Locations of both answers.
std::pair<std::string, std::string> upload_locations(const HttpClient& client, const std::string& repo,
                                                     const std::string& content) {
  Response started = client.request("POST", "/v2/" + repo + "/blobs/uploads/");
  EXPECT_EQ(started.status, 202) << started.describe();
  const std::string upload = started.header("Location");
  // HttpClient follows an absolute Location on its own server (it drops scheme and authority).
  Response put = client.request("PUT", with_query(upload, "digest=" + sha256(content)),
                                {{"Content-Type", "application/octet-stream"}}, content);
  EXPECT_EQ(put.status, 201) << put.describe();
  return {upload, put.header("Location")};
}

TEST(ExternalUrl, UploadAndBlobLocationsAreAbsoluteUnderTheExternalUrl) {
  // The trailing slash is dropped: no "//v2/" in the Locations.
  auto server = start_server({{"BERTH_EXTERNAL_URL", std::string(kExternal) + "/"}});
  if (server->external()) GTEST_SKIP() << "needs a server started by the test";
  const HttpClient client = server->client();
  const std::string repo = unique_repo("external-url");
  const std::string content = random_bytes(100);

  auto [upload, blob] = upload_locations(client, repo, content);
  EXPECT_EQ(upload.rfind(std::string(kExternal) + "/v2/" + repo + "/blobs/uploads/", 0), 0u) << upload;
  EXPECT_EQ(blob, std::string(kExternal) + "/v2/" + repo + "/blobs/" + sha256(content));

  // A mount answers with the mounted blob's Location, absolute too.
  const std::string other = unique_repo("external-url-mount");
  Response mounted = client.request("POST", "/v2/" + other + "/blobs/uploads/?mount=" + sha256(content) +
                                                "&from=" + repo);
  ASSERT_EQ(mounted.status, 201) << mounted.describe();
  EXPECT_EQ(mounted.header("Location"), std::string(kExternal) + "/v2/" + other + "/blobs/" + sha256(content));
}

TEST(ExternalUrl, ManifestPutLocationIsAbsoluteUnderTheExternalUrl) {
  auto server = start_server({{"BERTH_EXTERNAL_URL", kExternal}});
  if (server->external()) GTEST_SKIP() << "needs a server started by the test";
  const HttpClient client = server->client();
  const std::string repo = unique_repo("external-url-manifest");
  const std::string config = "{}";
  upload_locations(client, repo, config);
  nlohmann::json manifest = {{"schemaVersion", 2},
                             {"mediaType", media::kOciManifest},
                             {"config", Descriptor(media::kOciConfig, sha256(config), config.size()).to_json()},
                             {"layers", nlohmann::json::array()}};
  const std::string body = manifest.dump();
  Response put = client.request("PUT", "/v2/" + repo + "/manifests/v1", {{"Content-Type", media::kOciManifest}}, body);
  ASSERT_EQ(put.status, 201) << put.describe();
  EXPECT_EQ(put.header("Location"), std::string(kExternal) + "/v2/" + repo + "/manifests/" + sha256(body));
}

TEST(ExternalUrl, LocationsStayRelativeWithoutIt) {
  auto server = start_server({});
  if (server->external()) GTEST_SKIP() << "needs a server started by the test";
  const std::string repo = unique_repo("no-external-url");
  const std::string content = random_bytes(100);
  auto [upload, blob] = upload_locations(server->client(), repo, content);
  EXPECT_EQ(upload.rfind("/v2/" + repo + "/blobs/uploads/", 0), 0u) << upload;
  EXPECT_EQ(blob, "/v2/" + repo + "/blobs/" + sha256(content));
}

TEST(ExternalUrl, ChallengesNameTheTokenEndpointUnderTheExternalUrl) {
  auto server = start_server({{"BERTH_AUTH_ENABLED", "true"}, {"BERTH_EXTERNAL_URL", "http://registry.example.com:8080"}});
  if (server->external()) GTEST_SKIP() << "needs a server started by the test";
  Response r = server->client().get("/v2/");
  ASSERT_EQ(r.status, 401) << r.describe();
  EXPECT_EQ(realm_of(r), "http://registry.example.com:8080/token") << r.header("WWW-Authenticate");
  // Also on a repository's challenge, whatever Host the request names.
  Response repo = server->client().get("/v2/alice/app/manifests/v1", {{"Host", "internal-node:5000"}});
  ASSERT_EQ(repo.status, 401) << repo.describe();
  EXPECT_EQ(realm_of(repo), "http://registry.example.com:8080/token") << repo.header("WWW-Authenticate");
}

TEST(ExternalUrl, AnExplicitAuthRealmWinsOverTheExternalUrl) {
  auto server = start_server({{"BERTH_AUTH_ENABLED", "true"},
                              {"BERTH_EXTERNAL_URL", kExternal},
                              {"BERTH_AUTH_REALM", "https://auth.example.com/v2/token"}});
  if (server->external()) GTEST_SKIP() << "needs a server started by the test";
  Response r = server->client().get("/v2/");
  ASSERT_EQ(r.status, 401) << r.describe();
  EXPECT_EQ(realm_of(r), "https://auth.example.com/v2/token") << r.header("WWW-Authenticate");
}

TEST(ExternalUrl, AMalformedExternalUrlStopsTheServerWithAMessageNamingTheKey) {
  if (std::getenv("BERTH_TEST_REGISTRY")) GTEST_SKIP() << "needs a server started by the test";
  for (const std::string bad : {"registry.example.com", "ftp://registry.example.com", "https://",
                                "https://registry.example.com/prefix", "https://registry.example.com/?x=1",
                                "https://registry.example.com#top", "https://registry.example.com:99999",
                                "https://user:pw@registry.example.com", "https://registry example.com"}) {
    std::string error;
    try {
      start_server({{"BERTH_EXTERNAL_URL", bad}});
    } catch (const std::exception& e) {
      error = e.what();
    }
    EXPECT_NE(error.find("server.external_url"), std::string::npos) << bad << " was accepted or not named: " << error;
  }
}

TEST(ExternalUrl, PullSecretNamesTheRegistryByTheExternalHost) {
  auto server = start_server({{"BERTH_AUTH_ENABLED", "true"}});
  if (server->external()) GTEST_SKIP() << "needs a server started by the test";
  const auto dir = server->data_dir();
  admin_or_throw(dir, {"user", "create", "alice"});
  auto pull_secret = [&](std::map<std::string, std::string> env, std::vector<std::string> extra = {}) {
    BerthCall call{.args = {"admin", "--data", dir.string(), "pull-secret", "--user", "alice"},
                   .env = std::move(env),
                   .data_dir = dir};
    call.args.insert(call.args.end(), extra.begin(), extra.end());
    CliResult r = run_berth(call);
    EXPECT_EQ(r.exit_code, 0) << r.describe();
    auto names = secret_registries(r.out);
    EXPECT_EQ(names.size(), 1u) << r.describe();
    return names;
  };
  using Names = std::vector<std::string>;
  EXPECT_EQ(pull_secret({{"BERTH_EXTERNAL_URL", "https://registry.example.com:8443/"}}),
            Names{"registry.example.com:8443"});
  // --registry still wins; without either, the listen address as before.
  EXPECT_EQ(pull_secret({{"BERTH_EXTERNAL_URL", kExternal}}, {"--registry", "mirror.example.com"}),
            Names{"mirror.example.com"});
  EXPECT_EQ(pull_secret({{"BERTH_LISTEN", "10.0.0.7:5000"}}), Names{"10.0.0.7:5000"});

  // The same from the YAML key.
  const auto config = dir.parent_path() / "external-url.yaml";
  std::ofstream(config) << "server:\n  external_url: https://yaml.example.com\n";
  BerthCall call{.args = {"admin", "--config", config.string(), "--data", dir.string(), "pull-secret", "--user",
                          "alice"},
                 .data_dir = dir};
  CliResult r = run_berth(call);
  ASSERT_EQ(r.exit_code, 0) << r.describe();
  EXPECT_EQ(secret_registries(r.out), Names{"yaml.example.com"});
}

}  // namespace
}  // namespace berth::test
