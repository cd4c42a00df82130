// The repository catalog: /v2/_catalog with n/last pagination. The shared server holds every other
// test's repositories too, so these tests page from a prefix of their own with `last`.
#include <algorithm>

#include "support/api_helpers.h"

namespace berth::test {
namespace {

class CatalogTest : public ApiTest {
 protected:
  // The target inside a Link header: </v2/_catalog?n=2&last=x>; rel="next" → /v2/_catalog?n=2&last=x.
  static std::string link_target(const std::string& link) {
    auto open = link.find('<');
    auto close = link.find('>');
    if (open == std::string::npos || close == std::string::npos || close < open) return "";
    return link.substr(open + 1, close - open - 1);
  }
};

TEST_F(CatalogTest, ListsRepositoriesSorted) {
  auto prefix = unique_repo("catalog");
  for (const auto* leaf : {"/zeta", "/alpha", "/mid"}) push_image(prefix + leaf, "v1");
  auto response = client().get("/v2/_catalog?n=3&last=" + url_encode(prefix + "/"));
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.header("Content-Type").rfind("application/json", 0), 0u);
  EXPECT_EQ(response.json()["repositories"],
            nlohmann::json::array({prefix + "/alpha", prefix + "/mid", prefix + "/zeta"}))
      << response.body;
}

TEST_F(CatalogTest, WholeCatalogIsSortedAndHasNoDuplicates) {
  auto repo = unique_repo("catalog");
  push_image(repo, "v1");
  push_image(repo, "v2");  // a second manifest must not list the repository twice
  auto response = client().get("/v2/_catalog");
  ASSERT_EQ(response.status, 200) << response.describe();
  auto repositories = response.json()["repositories"].get<std::vector<std::string>>();
  EXPECT_TRUE(std::is_sorted(repositories.begin(), repositories.end()));
  EXPECT_EQ(std::adjacent_find(repositories.begin(), repositories.end()), repositories.end());
  // An empty catalog is sorted and free of duplicates too: the repository just pushed must be listed, once.
  EXPECT_EQ(std::count(repositories.begin(), repositories.end(), repo), 1) << response.body.substr(0, 2000);
}

TEST_F(CatalogTest, PaginatesWithNAndLinkHeader) {
  auto prefix = unique_repo("catalog");
  for (const auto* leaf : {"/a", "/b", "/c"}) push_image(prefix + leaf, "v1");

  auto first = client().get("/v2/_catalog?n=2&last=" + url_encode(prefix + "/"));
  ASSERT_EQ(first.status, 200) << first.describe();
  EXPECT_EQ(first.json()["repositories"], nlohmann::json::array({prefix + "/a", prefix + "/b"})) << first.body;
  auto link = first.header("Link");
  ASSERT_NE(link.find("rel=\"next\""), std::string::npos) << "no next link on a page followed by more\n"
                                                           << first.describe();
  auto next = link_target(link);
  EXPECT_EQ(next.rfind("/v2/_catalog?", 0), 0u) << link;
  EXPECT_NE(next.find("n=2"), std::string::npos) << link;

  // Follow the link as given: the next page starts right after the last repository of this one.
  auto second = client().get(next);
  ASSERT_EQ(second.status, 200) << second.describe();
  auto repositories = second.json()["repositories"];
  ASSERT_FALSE(repositories.empty()) << second.body;
  EXPECT_EQ(repositories[0], prefix + "/c") << second.body;
}

TEST_F(CatalogTest, NoLinkOnTheLastPage) {
  // '~' sorts after every character a repository name may contain: nothing follows this page.
  auto repo = unique_repo("catalog");
  push_image(repo, "v1");
  auto response = client().get("/v2/_catalog?n=5&last=" + url_encode("~"));
  ASSERT_EQ(response.status, 200) << response.describe();
  EXPECT_EQ(response.json()["repositories"], nlohmann::json::array()) << response.body;
  EXPECT_FALSE(response.has_header("Link"));
}

}  // namespace
}  // namespace berth::test
