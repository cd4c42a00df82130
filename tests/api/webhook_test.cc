// Webhooks (docs/webhooks.md) against a real server and a receiver on loopback: a push by tag, a delete
// and a restore each reach the owner's webhook as a signed `registry_package` delivery; a receiver that
// fails the first attempts gets the same delivery again with backoff until it answers 2xx, and one that
// never does is given up on after the configured attempts — all in the delivery log. Package webhooks see
// only their package and the events they took; two nodes sharing the stores deliver each event once.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/registry_process.h"
#include "support/webhook_receiver.h"

namespace berth::test {
namespace {

using json = nlohmann::json;
using namespace std::chrono_literals;

class WebhookTest : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    server_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{
        .env = {{"BERTH_GC_ENABLED", "false"},
                {"BERTH_WEBHOOK_FIRST_RETRY_SECONDS", "1"},
                {"BERTH_WEBHOOK_MAX_ATTEMPTS", "3"}}});
    if (server_->external()) GTEST_SKIP() << "needs a server started by the test";
    use_registry(*server_);
  }
  std::string admin(const std::vector<std::string>& args) { return admin_or_throw(server_->data_dir(), args); }
  // Adds a webhook with this secret; returns its id.
  std::string add_hook(const std::vector<std::string>& scope, const std::string& url, const std::string& secret,
                       const std::string& events = "push,delete,restore") {
    const auto file = server_->data_dir() / ("secret-" + std::to_string(++secrets_));
    std::ofstream(file) << secret << "\n";
    std::vector<std::string> args = {"webhook", "add", "--url", url, "--secret-file", file.string(), "--events", events};
    args.insert(args.end(), scope.begin(), scope.end());
    std::string id = admin(args);
    while (!id.empty() && (id.back() == '\n' || id.back() == '\r')) id.pop_back();
    return id;
  }

  std::unique_ptr<RegistryProcess> server_;
  int secrets_ = 0;
};

TEST_F(WebhookTest, APushByTagIsDeliveredSignedAndRetriedUntilTheReceiverTakesIt) {
  WebhookReceiver receiver;
  receiver.script({500, 503});
  const std::string id = add_hook({"--owner", "hooked"}, receiver.url(), "s3cret-value");
  const std::string digest = push_image("hooked/app", "v1").digest;

  ASSERT_TRUE(receiver.wait_for(3, 20s)) << "got " << receiver.received().size() << " requests";
  const auto got = receiver.received();
  EXPECT_EQ(got[0].answered, 500);
  EXPECT_EQ(got[1].answered, 503);
  EXPECT_EQ(got[2].answered, 200);
  for (const auto& r : got) {
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.target, "/hook");
    EXPECT_EQ(r.headers.at("x-github-event"), "registry_package");
    EXPECT_EQ(r.headers.at("content-type"), "application/json");
    EXPECT_EQ(r.headers.at("x-github-delivery"), got[0].headers.at("x-github-delivery")) << "a retry is the same delivery";
    EXPECT_EQ(r.headers.at("x-hub-signature-256"), hub_signature("s3cret-value", r.body));
    EXPECT_NE(r.headers.at("x-hub-signature-256"), hub_signature("another-secret", r.body));
  }
  const json body = json::parse(got[2].body);
  EXPECT_EQ(body["action"], "published");
  EXPECT_EQ(body["registry_package"]["name"], "app");
  EXPECT_EQ(body["registry_package"]["namespace"], "hooked");
  EXPECT_EQ(body["registry_package"]["package_type"], "CONTAINER");
  const json& version = body["registry_package"]["package_version"];
  EXPECT_EQ(version["name"], digest);
  EXPECT_EQ(version["container_metadata"]["tag"]["name"], "v1");
  EXPECT_EQ(version["container_metadata"]["tag"]["digest"], digest);
  EXPECT_NE(version["package_url"].get<std::string>().find("/hooked/app:v1"), std::string::npos) << body.dump();
  EXPECT_EQ(body.dump().find("s3cret"), std::string::npos) << "the secret leaked into the payload";

  // Retries back off: the second attempt a second after the first, the third two after that.
  const std::string log = admin({"webhook", "deliveries", id});
  EXPECT_NE(log.find("published\tdelivered\t3\t200"), std::string::npos) << log;
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(receiver.received().size(), 3u) << "a delivered event was sent again";
}

TEST_F(WebhookTest, DeletesAndRestoresAreDeliveredAndUntaggedPushesAndOtherOwnersAreNot) {
  WebhookReceiver receiver;
  add_hook({"--owner", "hooked"}, receiver.url(), "k");
  push_image("hooked/app");               // by digest only: nothing a person named
  push_image("elsewhere/app", "v1");      // another owner
  const std::string digest = push_image("hooked/app", "v2").digest;
  ASSERT_TRUE(receiver.wait_for(1, 10s));
  auto versions = json::parse(client().get("/api/v3/users/hooked/packages/container/app/versions").body);
  int64_t version_id = 0;
  for (const auto& v : versions) {
    if (v["name"] == digest) version_id = v["id"].get<int64_t>();
  }
  ASSERT_NE(version_id, 0) << versions.dump();
  const std::string path = "/api/v3/users/hooked/packages/container/app/versions/" + std::to_string(version_id);
  ASSERT_EQ(client().del(path).status, 204);
  ASSERT_EQ(client().request("POST", path + "/restore").status, 204);
  ASSERT_TRUE(receiver.wait_for(3, 10s));
  std::this_thread::sleep_for(1500ms);
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 3u);
  std::vector<std::string> actions;
  for (const auto& r : got) {
    const json body = json::parse(r.body);
    actions.push_back(body["action"]);
    EXPECT_EQ(body["registry_package"]["package_version"]["name"], digest) << r.body;
    EXPECT_EQ(body["registry_package"]["package_version"]["container_metadata"]["tags"], json::array({"v2"})) << r.body;
  }
  EXPECT_EQ(actions, (std::vector<std::string>{"published", "deleted", "restored"}));
}

TEST_F(WebhookTest, APackageWebhookSeesOnlyItsPackageAndItsEvents) {
  WebhookReceiver receiver;
  add_hook({"--package", "hooked/one"}, receiver.url(), "k", "delete");
  const std::string one = push_image("hooked/one", "v1").digest;
  const std::string two = push_image("hooked/two", "v1").digest;
  ASSERT_EQ(client().del("/v2/hooked/two/manifests/" + two).status, 202);
  ASSERT_EQ(client().del("/v2/hooked/one/manifests/" + one).status, 202);
  ASSERT_TRUE(receiver.wait_for(1, 10s));
  std::this_thread::sleep_for(1500ms);
  const auto got = receiver.received();
  ASSERT_EQ(got.size(), 1u);
  const json body = json::parse(got[0].body);
  EXPECT_EQ(body["action"], "deleted");
  EXPECT_EQ(body["registry_package"]["full_name"], "hooked/one");
}

TEST_F(WebhookTest, AReceiverThatNeverAnswersIsGivenUpOnAfterTheLastAttempt) {
  WebhookReceiver receiver;
  receiver.script({500, 500, 500, 500, 500});
  const std::string id = add_hook({"--owner", "hooked"}, receiver.url(), "k");
  push_image("hooked/app", "v1");
  ASSERT_TRUE(receiver.wait_for(3, 20s));
  std::this_thread::sleep_for(5s);  // the next attempt would have come after 4 s
  EXPECT_EQ(receiver.received().size(), 3u) << "attempts beyond webhooks.max_attempts";
  const std::string log = admin({"webhook", "deliveries", id});
  EXPECT_NE(log.find("published\tfailed\t3\t500\tanswered 500"), std::string::npos) << log;
  // A webhook that is removed stops: nothing more is sent.
  admin({"webhook", "remove", "--owner", "hooked", id});
  push_image("hooked/app", "v2");
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(receiver.received().size(), 3u);
  EXPECT_NE(admin({"audit"}).find("webhook.add"), std::string::npos);
}

TEST_F(WebhookTest, TwoNodesSharingTheStoresDeliverEachEventOnce) {
  RegistryProcess second(RegistryProcess::Options{.env = {{"BERTH_GC_ENABLED", "false"}}, .share_stores_with = server_.get()});
  WebhookReceiver receiver;
  add_hook({"--owner", "fleet"}, receiver.url(), "k");
  constexpr int kPushes = 12;
  for (int i = 0; i < kPushes; ++i) {
    use_registry(i % 2 ? second : *server_);
    push_image("fleet/app", "t" + std::to_string(i));
  }
  use_registry(*server_);  // the one that outlives this test body
  ASSERT_TRUE(receiver.wait_for(kPushes, 20s)) << receiver.received().size();
  std::this_thread::sleep_for(2s);
  const auto got = receiver.received();
  std::set<std::string> deliveries, tags;
  for (const auto& r : got) {
    deliveries.insert(r.headers.at("x-github-delivery"));
    tags.insert(json::parse(r.body)["registry_package"]["package_version"]["container_metadata"]["tag"]["name"]);
  }
  EXPECT_EQ(got.size(), static_cast<size_t>(kPushes)) << "an event was delivered twice or not at all";
  EXPECT_EQ(deliveries.size(), static_cast<size_t>(kPushes));
  EXPECT_EQ(tags.size(), static_cast<size_t>(kPushes));
}

}  // namespace
}  // namespace berth::test
