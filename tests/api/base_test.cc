// GET /v2/ (the API version check every client starts with) and the operational endpoints.
#include "support/api_helpers.h"

namespace berth::test {
namespace {

class BaseTest : public ApiTest {};

TEST_F(BaseTest, VersionCheckAnswersEmptyObjectWithApiVersionHeader) {
  auto response = client().get("/v2/");
  ASSERT_EQ(response.status, 200) << response.describe();
  // Docker clients decide the registry speaks V2 from this header alone.
  EXPECT_EQ(response.header("Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_EQ(response.json(), nlohmann::json::object()) << response.body;
  EXPECT_EQ(response.header("Content-Type").rfind("application/json", 0), 0u) << response.describe();
}

TEST_F(BaseTest, VersionCheckWithoutTrailingSlashIsAlsoAnswered) {
  // Some clients probe "/v2" without the slash; a redirect or the same answer are both fine, a 404 is not.
  auto response = client().get("/v2");
  EXPECT_TRUE(response.status == 200 || response.status == 301 || response.status == 308) << response.describe();
}

TEST_F(BaseTest, HeadVersionCheckHasNoBody) {
  auto response = client().head("/v2/");
  EXPECT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.header("Docker-Distribution-API-Version"), "registry/2.0");
  EXPECT_TRUE(response.body.empty());
}

TEST_F(BaseTest, HealthAndReadinessAnswer200) {
  EXPECT_EQ(client().get("/healthz").status, 200);
  EXPECT_EQ(client().get("/readyz").status, 200);
}

TEST_F(BaseTest, MetricsCountHttpRequests) {
  client().get("/v2/");  // so at least one request has been counted
  auto response = client().get("/metrics");
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_NE(response.body.find("berth_http_requests_total"), std::string::npos) << response.body.substr(0, 2000);
}

TEST_F(BaseTest, KeptAliveConnectionServesRequestsAfterABodyCarryingOne) {
  // Clients reuse connections: after a request with a body (even one the server rejects) the
  // next request on the same connection must be parsed from the right byte.
  auto repo = unique_repo("keepalive");
  std::string body = "{ not json";
  std::string bytes = "PUT /v2/" + repo + "/manifests/x HTTP/1.1\r\nHost: x\r\nContent-Type: " +
                      media::kOciManifest + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" +
                      body + "GET /v2/ HTTP/1.1\r\nHost: x\r\n\r\nGET /v2/ HTTP/1.1\r\nHost: x\r\n\r\n";
  auto responses = client().raw_pipeline(bytes, 3);
  ASSERT_EQ(responses.size(), 3u) << (responses.empty() ? "" : responses.back().describe());
  EXPECT_EQ(responses[0].status, 400) << responses[0].describe();
  EXPECT_EQ(responses[1].status, 200) << responses[1].describe();
  EXPECT_EQ(responses[2].status, 200) << responses[2].describe();
  EXPECT_EQ(responses[2].json(), nlohmann::json::object());
}

}  // namespace
}  // namespace berth::test
