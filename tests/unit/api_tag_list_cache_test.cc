#include "api/tag_list_cache.h"

#include <gtest/gtest.h>

namespace berth::api {
namespace {

TagListCache::Entry entry(std::string body, std::string link = "") {
  return {std::make_shared<const std::string>(std::move(body)), std::move(link)};
}

TEST(TagListCache, ServesAnEntryOnlyForTheVersionItWasRenderedAt) {
  TagListCache cache;
  EXPECT_FALSE(cache.find("r", "", 10, 1));
  cache.store("r", "", 10, 1, entry("{\"tags\":[]}", "<next>"));
  auto hit = cache.find("r", "", 10, 1);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit->body, "{\"tags\":[]}");
  EXPECT_EQ(hit->link, "<next>");
  EXPECT_FALSE(cache.find("r", "", 10, 0));  // a request that read the version before the entry's
  EXPECT_TRUE(cache.find("r", "", 10, 1));   // keeps it for later ones
  EXPECT_FALSE(cache.find("r", "", 10, 2));  // a tag changed since
  EXPECT_FALSE(cache.find("r", "", 10, 1));  // and the stale entry was dropped
  EXPECT_EQ(cache.bytes(), 0u);
}

TEST(TagListCache, KeysOnRepositoryCursorAndPageSize) {
  TagListCache cache;
  cache.store("r", "", 10, 1, entry("a"));
  EXPECT_FALSE(cache.find("r", "", 11, 1));
  EXPECT_FALSE(cache.find("r", "x", 10, 1));
  EXPECT_FALSE(cache.find("r2", "", 10, 1));
  // Parts that would run together if simply concatenated stay apart.
  cache.store("ab", "", 1, 1, entry("first"));
  cache.store("a", "b", 1, 1, entry("second"));
  auto ab = cache.find("ab", "", 1, 1), a_b = cache.find("a", "b", 1, 1);
  ASSERT_TRUE(ab && a_b);
  EXPECT_EQ(*ab->body, "first");
  EXPECT_EQ(*a_b->body, "second");
}

TEST(TagListCache, ReplacingAnEntryKeepsTheByteCountRight) {
  TagListCache cache;
  cache.store("r", "", 10, 1, entry(std::string(100, 'x')));
  cache.store("r", "", 10, 2, entry(std::string(40, 'y')));
  EXPECT_EQ(cache.bytes(), 40u);
  EXPECT_FALSE(cache.find("r", "", 10, 1));
  auto hit = cache.find("r", "", 10, 2);
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->body->size(), 40u);
}

TEST(TagListCache, EvictsTheLeastRecentlyUsedToStayWithinBudget) {
  TagListCache cache(300);
  cache.store("a", "", 1, 1, entry(std::string(100, 'a')));
  cache.store("b", "", 1, 1, entry(std::string(100, 'b')));
  cache.store("c", "", 1, 1, entry(std::string(100, 'c')));
  ASSERT_TRUE(cache.find("a", "", 1, 1));  // a is now the most recently used; b the least
  cache.store("d", "", 1, 1, entry(std::string(100, 'd')));
  EXPECT_FALSE(cache.find("b", "", 1, 1));
  EXPECT_TRUE(cache.find("a", "", 1, 1));
  EXPECT_TRUE(cache.find("c", "", 1, 1));
  EXPECT_TRUE(cache.find("d", "", 1, 1));
  EXPECT_LE(cache.bytes(), 300u);
}

TEST(TagListCache, DoesNotKeepAnEntryLargerThanTheBudget) {
  TagListCache cache(50);
  cache.store("small", "", 1, 1, entry(std::string(20, 's')));
  cache.store("big", "", 1, 1, entry(std::string(51, 'b')));
  EXPECT_FALSE(cache.find("big", "", 1, 1));
  EXPECT_TRUE(cache.find("small", "", 1, 1));  // and nothing was evicted for it
}

}  // namespace
}  // namespace berth::api
