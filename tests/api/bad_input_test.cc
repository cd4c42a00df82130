// Repository names (nested ones that must work, invalid ones that must be refused before anything
// builds a path from them) and malformed HTTP that must not hurt the server.
#include <chrono>
#include <string>

#include "support/api_helpers.h"

namespace berth::test {
namespace {

class BadInputTest : public ApiTest {
 protected:
  // The server still answers normally (a bad request must not take it down or wedge it).
  void expect_alive() {
    auto response = client().get("/v2/");
    EXPECT_EQ(response.status, 200) << "server no longer answers after a bad request\n" << response.describe();
  }
};

TEST_F(BadInputTest, DeeplyNestedNamesWork) {
  auto repo = "acme/platform/sbl/python-alpine-" + unique_repo("n").substr(std::string("apitest/n-").size());
  auto image = push_image(repo, "3.12");
  auto pulled = client().get("/v2/" + repo + "/manifests/3.12", {{"Accept", media::kOciManifest}});
  ASSERT_EQ(pulled.status, 200) << pulled.describe();
  EXPECT_TRUE(pulled.body == image.manifest);
  EXPECT_EQ(client().get("/v2/" + repo + "/blobs/" + image.layer.digest).status, 200);
  auto tags = client().get("/v2/" + repo + "/tags/list").json();
  EXPECT_EQ(tags["name"], repo);
  EXPECT_EQ(tags["tags"], nlohmann::json::array({"3.12"}));
}

TEST_F(BadInputTest, NameSeparatorsWork) {
  // The distribution-spec grammar allows '.', '_', '__' and runs of '-' inside a component.
  auto base = unique_repo("sep");
  for (const auto* leaf : {"/a.b", "/a_b", "/a__b", "/a--b"}) {
    auto response = client().request("POST", "/v2/" + base + leaf + "/blobs/uploads/");
    EXPECT_EQ(response.status, 202) << leaf << "\n" << response.describe();
  }
}

TEST_F(BadInputTest, DotDotInNameIsNameInvalid) {
  auto repo = unique_repo("dots");
  EXPECT_TRUE(IsOciError(client().get("/v2/" + repo + "/../x/tags/list"), 400, "NAME_INVALID"));
  EXPECT_TRUE(IsOciError(client().request("POST", "/v2/" + repo + "/../../blobs/uploads/"), 400, "NAME_INVALID"));
  EXPECT_TRUE(IsOciError(client().get("/v2/../" + repo + "/manifests/latest"), 400, "NAME_INVALID"));
  expect_alive();
}

TEST_F(BadInputTest, EncodedSlashInNameIsNameInvalid) {
  auto repo = unique_repo("slash");
  push_image(repo, "v1");
  // Decoding %2F into a separator would let a name escape its path; it is refused, not normalized.
  auto encoded = repo;
  encoded.replace(encoded.find('/'), 1, "%2F");
  EXPECT_TRUE(IsOciError(client().get("/v2/" + encoded + "/tags/list"), 400, "NAME_INVALID"));
  EXPECT_TRUE(IsOciError(client().get("/v2/" + encoded + "/manifests/v1"), 400, "NAME_INVALID"));
}

TEST_F(BadInputTest, UppercaseNameIsNameInvalid) {
  auto repo = unique_repo("Upper");
  EXPECT_TRUE(IsOciError(client().request("POST", "/v2/" + repo + "/blobs/uploads/"), 400, "NAME_INVALID"));
  EXPECT_TRUE(IsOciError(client().get("/v2/" + repo + "/tags/list"), 400, "NAME_INVALID"));
  EXPECT_TRUE(IsOciError(client().get("/v2/" + repo + "/manifests/latest"), 400, "NAME_INVALID"));
}

TEST_F(BadInputTest, MalformedNameComponentsAreNameInvalid) {
  auto base = unique_repo("comp");
  for (const auto* leaf : {"/-lead", "/trail-", "//double", "/a..b", "/a___b"}) {
    auto response = client().request("POST", "/v2/" + base + leaf + "/blobs/uploads/");
    EXPECT_TRUE(IsOciError(response, 400, "NAME_INVALID")) << leaf;
  }
}

TEST_F(BadInputTest, GarbageRequestIsRefusedAndTheServerLives) {
  auto response = client().raw("\x16\x03\x01\x02\x00 this is not http\r\n\r\n");
  // Either a 400 or a closed connection; never a 2xx, never a crash.
  EXPECT_TRUE(response.status == 0 || response.status == 400) << response.describe();
  expect_alive();
}

TEST_F(BadInputTest, InvalidContentLengthIs400) {
  auto repo = unique_repo("badlen");
  auto started = client().request("POST", "/v2/" + repo + "/blobs/uploads/");
  ASSERT_EQ(started.status, 202);
  auto response = client().request("PATCH", started.header("Location"), {{"Content-Length", "twelve"}}, "abc");
  EXPECT_EQ(response.status, 400) << response.describe();
  expect_alive();
}

TEST_F(BadInputTest, RequestEndingMidHeaderDoesNotHurtTheServer) {
  client().send_partial_then_close("GET", "/v2/", {{"X-Unfinished", std::string(2000, 'x')}}, "", 0,
                                   std::chrono::milliseconds(50));
  // The server waits for the rest of the header (its header timeout is far longer than a second): no
  // answer and no close, so the client is the one that gives up, after its one-second timeout.
  auto impatient = client();
  impatient.set_timeout(std::chrono::milliseconds(1000));
  const auto sent_at = std::chrono::steady_clock::now();
  auto truncated = impatient.raw("GET /v2/ HTTP/1.1\r\nHost: x\r\nX-Half: ");
  const auto waited = std::chrono::steady_clock::now() - sent_at;
  EXPECT_EQ(truncated.status, 0) << truncated.describe();
  EXPECT_NE(truncated.body.find("timeout"), std::string::npos) << "the connection ended otherwise than by the "
                                                                   "client's timeout: " << truncated.body;
  EXPECT_GE(waited, std::chrono::milliseconds(900)) << "the server closed the connection early";
  expect_alive();
}

TEST_F(BadInputTest, LongHeaderLikeABearerTokenIsAccepted) {
  // Real bearer tokens exceed Beast's 8 KB default header limit; the server raises it.
  auto response = client().get("/v2/", {{"X-Long-Token", std::string(12 * 1024, 'a')}});
  EXPECT_EQ(response.status, 200) << response.describe();
}

TEST_F(BadInputTest, HugeHeaderIsRefusedAndTheServerLives) {
  auto response = client().get("/v2/", {{"X-Huge", std::string(4 * 1024 * 1024, 'a')}});
  EXPECT_NE(response.status, 200) << "a 4 MiB header block was accepted";
  expect_alive();
}

TEST_F(BadInputTest, UnknownEndpointIs404) {
  auto repo = unique_repo("unknown");
  EXPECT_EQ(client().get("/v2/" + repo + "/nonsense/thing").status, 404);
  EXPECT_EQ(client().get("/not-an-api").status, 404);
}

}  // namespace
}  // namespace berth::test
