// The findings of the outside security review (issue 13), each as the attack that reproduced it against
// `berth serve` on loopback, now asserting the fixed behaviour: nothing a client sends is recorded as
// given when it may be a secret or forge a line, the data directory is the registry's alone, the Host
// header cannot inject into a challenge, bytes that are not UTF-8 get a 4xx (not a 500), a
// Transfer-Encoding that does not end in chunked is refused rather than smuggled, and an overflowing
// Content-Range is 416.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <memory>
#include <string>

#include "support/admin_cli.h"
#include "support/auth_helpers.h"
#include "support/registry_process.h"
#include "support/shared_world.h"

namespace berth::test {
namespace {

struct ReviewWorld {
  std::unique_ptr<RegistryProcess> server;
  std::string token;  // alice's
};

class ReviewFindings : public SharedWorldTest<ReviewWorld> {
 protected:
  static void SetUpTestSuite() {
    build_world([](ReviewWorld& w) {
      w.server = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}});
      if (w.server->external()) return;
      admin_or_throw(w.server->data_dir(), {"user", "create", "alice"});
      w.token = admin_or_throw(w.server->data_dir(),
                               {"token", "create", "--user", "alice", "--scopes", "read:packages,write:packages"});
    });
  }
  HttpClient client() const { return world_->server->client(); }
  std::string audit() const { return admin_or_throw(world_->server->data_dir(), {"audit", "--limit", "1000"}); }
  const std::string& token() const { return world_->token; }
};

TEST_F(ReviewFindings, ATokenSentAsTheUsernameIsNeverWrittenToTheAuditLog) {
  // docker login -u <token>, curl -u "$TOKEN:alice", POST /token with username=<token>.
  EXPECT_EQ(client().get("/v2/", basic_auth(token(), "alice")).status, 401);
  auto form = client().request("POST", "/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
                               "grant_type=password&service=berth&username=" + url_encode(token()) + "&password=alice");
  EXPECT_EQ(form.status, 401) << form.describe();
  const std::string log = audit();
  EXPECT_EQ(log.find(token()), std::string::npos) << "the token is in the audit log";
  EXPECT_EQ(log.find(token().substr(0, 24)), std::string::npos) << "part of the token is in the audit log";
  EXPECT_NE(log.find("(a token given as the username)"), std::string::npos) << log;
}

TEST_F(ReviewFindings, AnUnknownUsernameIsRecordedAsUnknownAndCannotForgeAuditLines) {
  const std::string forged = "mallory\n1700000000\tadmin\tpush\tacme/app\tallowed";
  EXPECT_EQ(client().get("/v2/", basic_auth(forged, "berth_pat_nothing")).status, 401);
  EXPECT_EQ(client().get("/v2/", basic_auth("alice\tx", "secret")).status, 401);
  const std::string log = audit();
  EXPECT_EQ(log.find("mallory"), std::string::npos) << log;
  for (size_t at = 0; (at = log.find('\n', at)) != std::string::npos; ++at) {
    EXPECT_NE(log.substr(at + 1, 10), "1700000000") << "a forged line in the audit log:\n" << log;
  }
  EXPECT_NE(log.find("(unknown user)"), std::string::npos) << log;
}

TEST_F(ReviewFindings, TheDataDirectoryAndDatabaseAreTheRegistrysAlone) {
  if (std::getenv("BERTH_TEST_BACKENDS")) GTEST_SKIP() << "the metadata is in PostgreSQL";
  struct stat st{};
  ASSERT_EQ(::stat(world_->server->data_dir().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u) << std::oct << (st.st_mode & 0777);
  ASSERT_EQ(::stat((world_->server->data_dir() / "berth.db").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0077, 0u) << "berth.db is readable by others: " << std::oct << (st.st_mode & 0777);
}

TEST_F(ReviewFindings, AHostHeaderThatIsNoHostIsRefusedNotEchoedIntoTheChallenge) {
  auto evil = client().raw("GET /v2/ HTTP/1.1\r\nHost: x\",service=\"evil\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(evil.status, 400) << evil.describe();
  EXPECT_EQ(evil.header("WWW-Authenticate").find("evil"), std::string::npos) << evil.describe();
  auto fine = client().raw("GET /v2/ HTTP/1.1\r\nHost: registry.example:5000\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(fine.status, 401);
  EXPECT_EQ(fine.header("WWW-Authenticate"), "Bearer realm=\"http://registry.example:5000/token\",service=\"berth\"");
}

TEST_F(ReviewFindings, BytesThatAreNotUtf8GetA4xxNotA500) {
  const Headers alice = basic_auth("alice", token());
  Headers put = alice;
  put.emplace_back("Content-Type", "application/vnd.\xff\xfe+json");
  auto manifest = client().request("PUT", "/v2/alice/app/manifests/v1", put, "{}");
  EXPECT_GE(manifest.status, 400) << manifest.describe();
  EXPECT_LT(manifest.status, 500) << manifest.describe();
  auto tag = client().raw("GET /v2/alice/app/manifests/v\xff HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
                          alice.front().second + "\r\nConnection: close\r\n\r\n");
  EXPECT_GE(tag.status, 400) << tag.describe();
  EXPECT_LT(tag.status, 500) << tag.describe();
}

TEST_F(ReviewFindings, ATransferEncodingNotEndingInChunkedIsRefusedAndItsBodyNeverRunsAsARequest) {
  for (const char* coding : {"gzip", "xchunked", "chunked, identity"}) {
    // The "body" is a second request: served, it would answer 200 to /healthz after the first answer.
    const std::string smuggled = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
    auto answers = client().raw_pipeline("POST /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: " +
                                              std::string(coding) + "\r\n\r\n" + smuggled,
                                          2);
    ASSERT_FALSE(answers.empty()) << coding;
    EXPECT_EQ(answers[0].status, 400) << coding << ": " << answers[0].describe();
    EXPECT_TRUE(answers.size() < 2 || answers[1].status == 0) << coding << ": the body ran as a request";
  }
}

TEST_F(ReviewFindings, AContentRangeWhoseLengthOverflowsIs416) {
  const Headers alice = basic_auth("alice", token());
  auto started = client().request("POST", "/v2/alice/range/blobs/uploads/", alice);
  ASSERT_EQ(started.status, 202) << started.describe();
  Headers patch = alice;
  patch.emplace_back("Content-Range", "0-18446744073709551615");
  patch.emplace_back("Content-Type", "application/octet-stream");
  auto r = client().request("PATCH", path_of(started.header("Location")), patch, "");
  EXPECT_EQ(r.status, 416) << r.describe();
}

}  // namespace
}  // namespace berth::test
