// Tag listing: /v2/<name>/tags/list with n/last pagination.
#include <algorithm>

#include "support/api_helpers.h"

namespace berth::test {
namespace {

class TagsTest : public ApiTest {
 protected:
  // One image tagged with every name (tags, not images, are what the listing is about).
  void tag_all(const std::string& repo, const std::vector<std::string>& tags) {
    auto image = push_image(repo);
    for (const auto& tag : tags) {
      auto response = put_manifest(repo, tag, media::kOciManifest, image.manifest);
      ASSERT_EQ(response.status, 201) << tag << "\n" << response.describe();
    }
  }
};

TEST_F(TagsTest, ListsEveryTagSorted) {
  auto repo = unique_repo("tags");
  tag_all(repo, {"b", "a", "c10", "c2", "1.0", "latest"});
  auto response = client().get("/v2/" + repo + "/tags/list");
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.header("Content-Type").rfind("application/json", 0), 0u);
  auto body = response.json();
  EXPECT_EQ(body["name"], repo);
  EXPECT_EQ(body["tags"], nlohmann::json::array({"1.0", "a", "b", "c10", "c2", "latest"})) << body.dump();
  EXPECT_FALSE(response.has_header("Link"));
}

TEST_F(TagsTest, ManifestsPushedByDigestAreNotTags) {
  auto repo = unique_repo("tags");
  push_image(repo);  // by digest
  push_image(repo, "only");
  auto body = client().get("/v2/" + repo + "/tags/list").json();
  EXPECT_EQ(body["tags"], nlohmann::json::array({"only"})) << body.dump();
}

TEST_F(TagsTest, PaginatesWithNAndLinkHeader) {
  auto repo = unique_repo("tags");
  tag_all(repo, {"e", "d", "c", "b", "a"});

  auto first = client().get("/v2/" + repo + "/tags/list?n=2");
  ASSERT_EQ(first.status, 200) << first.describe();
  EXPECT_EQ(first.json()["tags"], nlohmann::json::array({"a", "b"})) << first.body;
  EXPECT_EQ(first.header("Link"), "</v2/" + repo + "/tags/list?n=2&last=b>; rel=\"next\"");

  auto second = client().get("/v2/" + repo + "/tags/list?n=2&last=b");
  ASSERT_EQ(second.status, 200) << second.describe();
  EXPECT_EQ(second.json()["tags"], nlohmann::json::array({"c", "d"})) << second.body;
  EXPECT_EQ(second.header("Link"), "</v2/" + repo + "/tags/list?n=2&last=d>; rel=\"next\"");

  auto last = client().get("/v2/" + repo + "/tags/list?n=2&last=d");
  ASSERT_EQ(last.status, 200) << last.describe();
  EXPECT_EQ(last.json()["tags"], nlohmann::json::array({"e"})) << last.body;
  EXPECT_FALSE(last.has_header("Link")) << last.header("Link");
}

TEST_F(TagsTest, LastWithoutNListsTheRest) {
  auto repo = unique_repo("tags");
  tag_all(repo, {"a", "b", "c"});
  auto response = client().get("/v2/" + repo + "/tags/list?last=a");
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.json()["tags"], nlohmann::json::array({"b", "c"})) << response.body;
}

TEST_F(TagsTest, LastNeedNotBeAnExistingTag) {
  auto repo = unique_repo("tags");
  tag_all(repo, {"a", "c", "e"});
  auto response = client().get("/v2/" + repo + "/tags/list?n=10&last=b");
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.json()["tags"], nlohmann::json::array({"c", "e"})) << response.body;
}

TEST_F(TagsTest, DeletedTagIsNoLongerListed) {
  auto repo = unique_repo("tags");
  tag_all(repo, {"keep", "drop"});
  ASSERT_EQ(client().del("/v2/" + repo + "/manifests/drop").status, 202);
  EXPECT_EQ(client().get("/v2/" + repo + "/tags/list").json()["tags"], nlohmann::json::array({"keep"}));
}

TEST_F(TagsTest, UnknownRepositoryIsNameUnknown) {
  EXPECT_TRUE(IsOciError(client().get("/v2/" + unique_repo("never-pushed") + "/tags/list"), 404, "NAME_UNKNOWN"));
}

}  // namespace
}  // namespace berth::test
