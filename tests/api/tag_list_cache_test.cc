// Tag lists long enough to be kept rendered (api/tag_list_cache.h) stay exact through every kind of tag
// change, made on this node or on another node sharing the stores: the cache is checked against the
// repository's tag version on every request, never trusted on its own.
#include <algorithm>
#include <cstdio>

#include "support/api_helpers.h"

namespace berth::test {
namespace {

class TagListCacheTest : public ApiTest {
 protected:
  static std::vector<std::string> tags_of(const Response& response) {
    std::vector<std::string> tags;
    auto body = response.json();  // named: a range-for over a temporary's member would dangle
    for (const auto& t : body["tags"]) tags.push_back(t.get<std::string>());
    return tags;
  }
  std::vector<std::string> list(const HttpClient& node, const std::string& repo, const std::string& query = "") {
    auto response = node.get("/v2/" + repo + "/tags/list" + query);
    EXPECT_EQ(response.status, 200) << response.describe();
    return response.status == 200 ? tags_of(response) : std::vector<std::string>{};
  }
};

TEST_F(TagListCacheTest, LongListFollowsTagChangesMadeThroughAnotherNode) {
  SKIP_IF_EXTERNAL(registry());
  RegistryProcess other({.share_stores_with = &registry()});
  auto node_b = other.client();
  auto repo = unique_repo("tag-cache");

  // 300 tags (the cache keeps lists of 256 names or more) on one image, pushed through this node.
  auto image = push_image(repo);
  std::vector<std::string> expected;
  for (int i = 0; i < 300; ++i) {
    char tag[16];
    std::snprintf(tag, sizeof tag, "t%03d", i);
    ASSERT_EQ(put_manifest(repo, tag, media::kOciManifest, image.manifest).status, 201) << tag;
    expected.push_back(tag);
  }
  EXPECT_EQ(list(client(), repo), expected);
  EXPECT_EQ(list(client(), repo), expected);  // served again, now from the rendered copy

  // A new tag through B.
  auto added = node_b.request("PUT", "/v2/" + repo + "/manifests/u-new", {{"Content-Type", media::kOciManifest}},
                              image.manifest);
  ASSERT_EQ(added.status, 201) << added.describe();
  expected.push_back("u-new");
  EXPECT_EQ(list(client(), repo), expected);

  // A tag removed through B.
  ASSERT_EQ(node_b.del("/v2/" + repo + "/manifests/t005").status, 202);
  expected.erase(std::find(expected.begin(), expected.end(), "t005"));
  EXPECT_EQ(list(client(), repo), expected);

  // A tag moved to another manifest through B: the list is the same names, and stays right.
  auto second = push_image(repo);
  auto moved = node_b.request("PUT", "/v2/" + repo + "/manifests/t010", {{"Content-Type", media::kOciManifest}},
                              second.manifest);
  ASSERT_EQ(moved.status, 201) << moved.describe();
  EXPECT_EQ(list(client(), repo), expected);

  // Deleting that manifest through B takes its tag with it.
  ASSERT_EQ(node_b.del("/v2/" + repo + "/manifests/" + second.digest).status, 202);
  expected.erase(std::find(expected.begin(), expected.end(), "t010"));
  EXPECT_EQ(list(client(), repo), expected);

  // And B, whose own copy was rendered by now, sees a change made through this node.
  EXPECT_EQ(list(node_b, repo), expected);
  ASSERT_EQ(client().del("/v2/" + repo + "/manifests/t299").status, 202);
  expected.pop_back();  // "u-new" is last
  expected.erase(std::find(expected.begin(), expected.end(), "t299"));
  expected.push_back("u-new");
  EXPECT_EQ(list(node_b, repo), expected);
}

TEST_F(TagListCacheTest, CachedPagesKeepTheirLinkHeader) {
  auto repo = unique_repo("tag-cache-pages");
  auto image = push_image(repo);
  for (int i = 0; i < 600; ++i) {
    char tag[16];
    std::snprintf(tag, sizeof tag, "p%03d", i);
    ASSERT_EQ(put_manifest(repo, tag, media::kOciManifest, image.manifest).status, 201) << tag;
  }
  for (int round = 0; round < 2; ++round) {  // rendered, then from the cache
    auto first = client().get("/v2/" + repo + "/tags/list?n=256");
    ASSERT_EQ(first.status, 200) << first.describe();
    EXPECT_EQ(tags_of(first).size(), 256u);
    EXPECT_EQ(first.header("Link"), "</v2/" + repo + "/tags/list?n=256&last=p255>; rel=\"next\"") << round;
    auto third = client().get("/v2/" + repo + "/tags/list?n=256&last=p511");
    ASSERT_EQ(third.status, 200) << third.describe();
    EXPECT_EQ(tags_of(third).size(), 88u);
    EXPECT_FALSE(third.has_header("Link")) << round;
  }
}

TEST_F(TagListCacheTest, UnknownRepositoryIsNameUnknown) {
  EXPECT_TRUE(IsOciError(client().get("/v2/" + unique_repo("never-pushed") + "/tags/list"), 404, "NAME_UNKNOWN"));
}

}  // namespace
}  // namespace berth::test
