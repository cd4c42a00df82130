#include "oci/tag_pattern.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace berth::oci {
namespace {

TagPattern must_parse(std::string_view text) {
  auto p = TagPattern::parse(text);
  EXPECT_TRUE(p.ok()) << text << ": " << p.status().message();
  return p.ok() ? std::move(p).value() : TagPattern::parse("x").value();
}

::testing::AssertionResult IsInvalidArgument(const Status& s, std::string_view message_part) {
  if (s.ok()) return ::testing::AssertionFailure() << "accepted";
  if (s.code() != Errc::invalid_argument) return ::testing::AssertionFailure() << "wrong code: " << s.message();
  if (s.message().find(message_part) == std::string::npos) {
    return ::testing::AssertionFailure() << "message \"" << s.message() << "\" lacks \"" << message_part << "\"";
  }
  return ::testing::AssertionSuccess();
}

TEST(TagPatternMatch, TableOfCases) {
  struct Case {
    const char* pattern;
    const char* tag;
    bool match;
  };
  const Case cases[] = {
      // Literal patterns match exactly the whole tag.
      {"latest", "latest", true},
      {"latest", "latest2", false},  // no match on a prefix only
      {"latest", "latest-", false},
      {"latest", "Latest", false},  // case matters, as in tags
      {"latest", "atest", false},
      {"v1", "v1.2", false},
      // '*' anywhere, matching any run including none.
      {"*", "a", true},
      {"*", "latest", true},
      {"v*", "v", true},
      {"v*", "v1.2.3", true},
      {"v*", "1.2.3", false},
      {"*-rc", "1.2.3-rc", true},
      {"*-rc", "1.2.3-rc.1", false},
      {"release-*-final", "release-2024-final", true},
      {"release-*-final", "release--final", true},
      {"release-*-final", "release-final", false},
      {"release-*-final", "release-2024-final-2", false},
      {"a*b*c", "abc", true},
      {"a*b*c", "aXbYc", true},
      {"a*b*c", "acb", false},
      {"a*b*c", "abcbc", true},
      {"a**b", "ab", true},
      {"a**b", "aXYb", true},
      {"*a*", "bab", true},
      {"*a*", "bbb", false},
      // '?' is exactly one character.
      {"release-?", "release-1", true},
      {"release-?", "release-", false},
      {"release-?", "release-12", false},
      {"???", "abc", true},
      {"???", "ab", false},
      {"v?.?.?", "v1.2.3", true},
      {"v?.?.?", "v1.22.3", false},
      {"?*", "a", true},
      {"*?", "abc", true},
      {"a?*b", "ab", false},
      {"a?*b", "aXb", true},
      // '.' is a literal dot, not "any character".
      {"1.2.*", "1.2.3", true},
      {"1.2.*", "1x2.3", false},
      {"1.2.*", "1.20", false},
      {"v1.*", "v1.2.3", true},
      {"v1.*", "v10.0", false},
      {"sha-??????", "sha-abc123", true},
      {"_*", "_internal", true},
  };
  for (const auto& c : cases) {
    EXPECT_EQ(must_parse(c.pattern).matches(c.tag), c.match) << c.pattern << " vs " << c.tag;
  }
}

TEST(TagPatternMatch, StarStopsAtNothingButPatternMustCoverWholeTag) {
  EXPECT_FALSE(must_parse("abc").matches(""));
  EXPECT_TRUE(must_parse("*").matches(""));
  EXPECT_FALSE(must_parse("?").matches(""));
}

TEST(TagPatternMatch, PathologicalPatternsFinishFast) {
  const std::string tag(128, 'a');
  std::string many_stars;  // "a*a*...a*b", 127 characters: exponential for backtracking recursion
  while (many_stars.size() + 2 < kMaxTagPatternLength) many_stars += "a*";
  many_stars += "b";
  const TagPattern brief = must_parse("a*a*a*a*a*b");
  const TagPattern worst = must_parse(many_stars);
  const TagPattern matching = must_parse("a*a*a*a*a*a");

  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(brief.matches(tag));
    ASSERT_FALSE(worst.matches(tag));
    ASSERT_TRUE(matching.matches(tag));
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  // 3000 matches of O(128 * 128) steps take about a millisecond; exponential search would take ages.
  EXPECT_LT(elapsed, std::chrono::seconds(2));
}

TEST(TagPatternParse, KeepsText) { EXPECT_EQ(must_parse("v*.?-rc").text(), "v*.?-rc"); }

TEST(TagPatternParse, AcceptsEveryTagCharacterAndWildcards) {
  for (const char* text : {"a", "Z", "0", "_", "*", "?", "**", "a.b_c-d", "*.*", "?-?", "_a", "*-rc", "?.1"}) {
    EXPECT_TRUE(TagPattern::parse(text).ok()) << text;
  }
}

TEST(TagPatternParse, RejectsEmpty) { EXPECT_TRUE(IsInvalidArgument(TagPattern::parse("").status(), "empty")); }

TEST(TagPatternParse, Accepts128CharactersAndRejects129) {
  EXPECT_TRUE(TagPattern::parse(std::string(128, 'a')).ok());
  EXPECT_TRUE(IsInvalidArgument(TagPattern::parse(std::string(129, 'a')).status(), "longer than 128"));
  EXPECT_TRUE(IsInvalidArgument(TagPattern::parse(std::string(129, '*')).status(), "longer than 128"));
}

TEST(TagPatternParse, RejectsCharactersTagsCannotContain) {
  // The offending character, as the message shows it (escaped when it is not printable ASCII).
  const std::pair<const char*, const char*> cases[] = {
      {"v1+build", R"("+")"}, {"a/b", R"("/")"},  {"a b", R"(" ")"},     {"a:b", R"(":")"},
      {"[ab]", R"("[")"},     {"a{b}", R"("{")"}, {"a\\*", R"("\x5c")"}, {"caf\xc3\xa9", R"("\xc3")"},
      {"a\nb", R"("\x0a")"},  {"a,b", R"(",")"},  {"a\"b", R"("\x22")"},
  };
  for (auto [text, shown] : cases) {
    EXPECT_TRUE(IsInvalidArgument(TagPattern::parse(text).status(), std::string("character ") + shown)) << text;
  }
  // The message points at the culprit.
  EXPECT_EQ(TagPattern::parse("v1+build").status().message(),
            "invalid tag pattern \"v1+build\": character \"+\" at position 2 is not allowed (tags use "
            "[a-zA-Z0-9._-]; patterns add * and ?)");
}

TEST(TagPatternParse, EscapesUnprintableBytesInMessages) {
  std::string message = TagPattern::parse("a\nb").status().message();
  EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  EXPECT_NE(message.find("\\x0a"), std::string::npos) << message;
}

TEST(TagPatternParse, RejectsLeadingDotOrDashThatCouldNeverMatch) {
  EXPECT_TRUE(IsInvalidArgument(TagPattern::parse(".hidden").status(), "never match"));
  EXPECT_TRUE(IsInvalidArgument(TagPattern::parse("-rc").status(), "never match"));
}

TEST(TagPatternList, SplitsOnCommasAndTrimsWhitespace) {
  auto list = parse_tag_patterns(" latest ,v*,\trelease-? ");
  ASSERT_TRUE(list.ok()) << list.status().message();
  ASSERT_EQ(list->size(), 3u);
  EXPECT_EQ((*list)[0].text(), "latest");
  EXPECT_EQ((*list)[1].text(), "v*");
  EXPECT_EQ((*list)[2].text(), "release-?");
}

TEST(TagPatternList, SinglePatternAndBlankList) {
  auto one = parse_tag_patterns("latest");
  ASSERT_TRUE(one.ok());
  EXPECT_EQ(one->size(), 1u);
  for (const char* blank : {"", " ", " \t "}) {
    auto none = parse_tag_patterns(blank);
    ASSERT_TRUE(none.ok()) << "\"" << blank << "\"";
    EXPECT_TRUE(none->empty());
  }
}

TEST(TagPatternList, RejectsEmptyItemsNamingTheItem) {
  EXPECT_TRUE(IsInvalidArgument(parse_tag_patterns("a,,b").status(), "item 2 is empty"));
  EXPECT_TRUE(IsInvalidArgument(parse_tag_patterns("a, ").status(), "item 2 is empty"));
  EXPECT_TRUE(IsInvalidArgument(parse_tag_patterns(",a").status(), "item 1 is empty"));
}

TEST(TagPatternList, RejectsAnInvalidItemNamingIt) {
  auto r = parse_tag_patterns("latest, v*, a/b");
  EXPECT_TRUE(IsInvalidArgument(r.status(), "item 3"));
  EXPECT_TRUE(IsInvalidArgument(r.status(), "\"a/b\""));
  // Whitespace inside an item is not trimmed away: it is a character tags cannot contain.
  EXPECT_TRUE(IsInvalidArgument(parse_tag_patterns("v 1").status(), "is not allowed"));
}

TEST(TagPatternList, MatchesAnyPattern) {
  auto list = parse_tag_patterns("latest,v*,release-?");
  ASSERT_TRUE(list.ok());
  for (const char* tag : {"latest", "v1.2.3", "v", "release-1"}) {
    EXPECT_TRUE(matches_any(*list, tag)) << tag;
  }
  for (const char* tag : {"main", "1.2.3", "release-10", "latest-arm64"}) {
    EXPECT_FALSE(matches_any(*list, tag)) << tag;
  }
  EXPECT_FALSE(matches_any({}, "latest"));
}

}  // namespace
}  // namespace berth::oci
