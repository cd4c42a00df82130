// GET /v2/ (the API version check every client starts with) and the operational endpoints.
#include <algorithm>

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

// The sum of every berth_http_requests_total sample (the HELP and TYPE lines name the metric even when
// nothing has been counted, so finding the name alone proves nothing); -1 when there is no sample.
long long requests_counted(const std::string& metrics) {
  const std::string prefix = "berth_http_requests_total{";
  long long total = -1;
  std::size_t at = 0;
  while ((at = metrics.find(prefix, at)) != std::string::npos) {
    auto end = metrics.find('\n', at);
    auto line = metrics.substr(at, end == std::string::npos ? std::string::npos : end - at);
    auto space = line.rfind(' ');
    if (space != std::string::npos) total = std::max(total, 0LL) + std::stoll(line.substr(space + 1));
    at += prefix.size();
  }
  return total;
}

TEST_F(BaseTest, MetricsCountHttpRequests) {
  client().get("/v2/");  // so at least one request has been counted
  auto before = client().get("/metrics");
  ASSERT_EQ(before.status, 200) << before.describe();
  auto counted_before = requests_counted(before.body);
  EXPECT_GT(counted_before, 0) << "no request counted:\n" << before.body.substr(0, 2000);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(client().get("/v2/").status, 200);
  auto after = client().get("/metrics");
  ASSERT_EQ(after.status, 200) << after.describe();
  // Other tests may run requests concurrently against an external server: at least these three more.
  EXPECT_GE(requests_counted(after.body), counted_before + 3) << after.body.substr(0, 2000);
  EXPECT_NE(after.body.find("method=\"GET\",status=\"200\""), std::string::npos) << after.body.substr(0, 2000);
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
