#include "oci/semver.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::oci {
namespace {

SemVer must_parse(std::string_view tag) {
  auto v = parse_semver(tag);
  EXPECT_TRUE(v.has_value()) << "rejected: " << tag;
  return v.value_or(SemVer{});
}

// "<", ">" or "~" (equivalent): strings, so that a failed expectation prints something readable.
std::string precedence(std::string_view a, std::string_view b) {
  auto o = compare(must_parse(a), must_parse(b));
  return o < 0 ? "<" : o > 0 ? ">" : "~";
}

TEST(SemVerParse, ReadsAllFields) {
  SemVer v = must_parse("v1.22.333-rc.1.x-y+build.005");
  EXPECT_EQ(v.major, 1u);
  EXPECT_EQ(v.minor, 22u);
  EXPECT_EQ(v.patch, 333u);
  EXPECT_EQ(v.prerelease, (std::vector<std::string>{"rc", "1", "x-y"}));
  EXPECT_EQ(v.build, "build.005");
  EXPECT_TRUE(v.v_prefix);
}

TEST(SemVerParse, AcceptsReleaseTagSpellings) {
  struct Case {
    const char* tag;
    bool v_prefix;
    std::vector<std::string> prerelease;
    const char* build;
  };
  const Case cases[] = {
      {"1.2.3", false, {}, ""},
      {"v1.2.3", true, {}, ""},
      {"v1.2.3-rc.1", true, {"rc", "1"}, ""},
      {"1.2.3+build.5", false, {}, "build.5"},
      {"1.2.3_build.5", false, {}, "build.5"},
      {"v1.2.3-beta.2_exp.sha.5114f85", true, {"beta", "2"}, "exp.sha.5114f85"},
      {"0.0.0", false, {}, ""},
      {"1.0.0-0A.is.legal", false, {"0A", "is", "legal"}, ""},
      {"1.0.0-x-y-z.--", false, {"x-y-z", "--"}, ""},
      {"1.2.3----RC-SNAPSHOT.12.9.1--.12+788", false, {"---RC-SNAPSHOT", "12", "9", "1--", "12"}, "788"},
      {"1.0.0+0.build.1-rc.10000aaa-kk-0.1", false, {}, "0.build.1-rc.10000aaa-kk-0.1"},
      {"1.0.0-alpha.0valid", false, {"alpha", "0valid"}, ""},
      {"1.1.2-prerelease+meta", false, {"prerelease"}, "meta"},
      {"1.0.0+001", false, {}, "001"},  // build identifiers are never compared, so leading zeros are fine
  };
  for (const auto& c : cases) {
    auto v = parse_semver(c.tag);
    ASSERT_TRUE(v.has_value()) << c.tag;
    EXPECT_EQ(v->v_prefix, c.v_prefix) << c.tag;
    EXPECT_EQ(v->prerelease, c.prerelease) << c.tag;
    EXPECT_EQ(v->build, c.build) << c.tag;
  }
}

TEST(SemVerParse, UnderscoreStandsForPlusBecauseTagsCannotContainPlus) {
  EXPECT_EQ(must_parse("1.2.3_build.5"), must_parse("1.2.3+build.5"));
  // Semver identifiers never contain '_', so what would be an invalid pre-release is read as build.
  SemVer v = must_parse("1.0.0-alpha_beta");
  EXPECT_EQ(v.prerelease, std::vector<std::string>{"alpha"});
  EXPECT_EQ(v.build, "beta");
}

TEST(SemVerParse, RejectsWhatIsNotAFullSemanticVersion) {
  for (const char* tag : {
           "", "v", "1", "1.2", "v1", "v1.2", "latest", "main", "stable", "1.2.3.4", "1.2.3.DEV", "1.2-SNAPSHOT",
           "1.2.3rc1", "1..3", ".1.2.3", "1.2.3.", "a.b.c", "-1.2.3", "1.-2.3", "V1.2.3", "vv1.2.3", " 1.2.3",
           "1.2.3 ", "+1.2.3", "1.2.3-", "1.2.3+", "1.2.3_", "1.2.3-_b", "1.2.3-.a", "1.2.3-a.", "1.2.3-a..b",
           "1.2.3+a..b", "1.2.3+.a", "1.2.3-a+", "1.2.3-a_", "1.2.3+a+b", "1.2.3_a_b", "1.2.3+a_b", "1.2.3_a+b",
           "1.2.3-a/b", "1.2.3-caf\xc3\xa9", "1.2.3-a:b", "+invalid", "-invalid", "alpha", "1.2.3-0123",
           "1.2.3-0123.0123", "1.1.2+.123", "9.8.7-whatever+meta+meta", "1.0.0-alpha..",
       }) {
    EXPECT_FALSE(parse_semver(tag).has_value()) << "accepted: \"" << tag << "\"";
  }
}

TEST(SemVerParse, RejectsLeadingZerosInNumericIdentifiers) {
  for (const char* tag : {"01.2.3", "1.02.3", "1.2.03", "00.0.0", "v01.2.3", "1.2.3-rc.01", "1.2.3-00",
                          "1.2.3-01.a"}) {
    EXPECT_FALSE(parse_semver(tag).has_value()) << "accepted: " << tag;
  }
  // A single zero is a number, and digits followed by letters are alphanumeric, not numeric.
  EXPECT_TRUE(parse_semver("0.0.0-0").has_value());
  EXPECT_TRUE(parse_semver("1.2.3-01a").has_value());
}

TEST(SemVerParse, RejectsNumbersThatOverflow64Bits) {
  SemVer max = must_parse("18446744073709551615.18446744073709551615.18446744073709551615");
  EXPECT_EQ(max.major, UINT64_MAX);
  EXPECT_EQ(max.minor, UINT64_MAX);
  EXPECT_EQ(max.patch, UINT64_MAX);
  for (const char* tag : {"18446744073709551616.0.0", "0.18446744073709551616.0", "0.0.18446744073709551616",
                          "99999999999999999999999.999999999999999999.99999999999999999"}) {
    EXPECT_FALSE(parse_semver(tag).has_value()) << "accepted: " << tag;
  }
}

TEST(SemVerPrecedence, FollowsSemverOrgExampleChain) {
  const char* chain[] = {"1.0.0-alpha", "1.0.0-alpha.1", "1.0.0-alpha.beta", "1.0.0-beta",
                         "1.0.0-beta.2", "1.0.0-beta.11", "1.0.0-rc.1",       "1.0.0"};
  const size_t n = std::size(chain);
  // Every pair, not only neighbours, so the ordering is also checked to be consistent (transitive).
  for (size_t i = 0; i < n; ++i) {
    for (size_t j = 0; j < n; ++j) {
      EXPECT_EQ(precedence(chain[i], chain[j]), i < j ? "<" : i > j ? ">" : "~") << chain[i] << " vs " << chain[j];
    }
  }
}

TEST(SemVerPrecedence, ComparesCoreNumbersNumerically) {
  const std::pair<const char*, const char*> less[] = {
      {"1.0.0", "2.0.0"},   {"2.0.0", "2.1.0"},   {"2.1.0", "2.1.1"},   {"1.9.0", "1.10.0"},
      {"1.2.9", "1.2.10"},  {"0.99.99", "1.0.0"}, {"1.2.3", "1.2.4-rc.1"},
      {"18446744073709551614.0.0", "18446744073709551615.0.0"},
  };
  for (auto [a, b] : less) {
    EXPECT_EQ(precedence(a, b), "<") << a << " vs " << b;
    EXPECT_EQ(precedence(b, a), ">") << b << " vs " << a;
  }
}

TEST(SemVerPrecedence, PreReleaseIdentifierRules) {
  const std::pair<const char*, const char*> less[] = {
      {"1.0.0-2", "1.0.0-10"},   // numeric identifiers compare numerically
      {"1.0.0-999", "1.0.0-a"},  // numeric is lower than alphanumeric
      {"1.0.0-rc.99", "1.0.0-rc.a"},
      {"1.0.0-Z", "1.0.0-a"},    // alphanumeric in ASCII order
      {"1.0.0-a", "1.0.0-a.0"},  // fewer identifiers is lower when the shared ones are equal
      {"1.0.0-rc.1", "1.0.0"},   // pre-release is lower than its release
      {"1.0.0-99999999999999999999998", "1.0.0-99999999999999999999999"},  // beyond 64 bits, still numeric
      {"1.0.0-9", "1.0.0-99999999999999999999999"},
  };
  for (auto [a, b] : less) {
    EXPECT_EQ(precedence(a, b), "<") << a << " vs " << b;
    EXPECT_EQ(precedence(b, a), ">") << b << " vs " << a;
  }
}

TEST(SemVerPrecedence, IgnoresBuildMetadataAndVPrefix) {
  const std::pair<const char*, const char*> equivalent[] = {
      {"1.2.3+a", "1.2.3+b"},   {"1.2.3", "1.2.3_build.5"}, {"v1.2.3", "1.2.3"},
      {"v1.2.3-rc.1+x", "1.2.3-rc.1_y"},
  };
  for (auto [a, b] : equivalent) {
    EXPECT_EQ(precedence(a, b), "~") << a << " vs " << b;
    // Equivalent in precedence, yet still different versions as written.
    EXPECT_NE(must_parse(a), must_parse(b)) << a << " vs " << b;
  }
}

TEST(SemVerRelease, IsReleaseWhenNoPreRelease) {
  EXPECT_TRUE(is_release(must_parse("1.2.3")));
  EXPECT_TRUE(is_release(must_parse("v1.2.3_build.5")));
  EXPECT_FALSE(is_release(must_parse("1.2.3-rc.1")));
  EXPECT_FALSE(is_release(must_parse("v1.2.3-0_build")));
}

TEST(SemVerFloatingTags, ReleaseMovesMinorAndMajorInItsOwnSpelling) {
  const std::pair<const char*, std::vector<std::string>> cases[] = {
      {"1.2.3", {"1.2", "1"}},
      {"v1.2.3", {"v1.2", "v1"}},
      {"0.4.1", {"0.4", "0"}},
      {"10.20.30_build.7", {"10.20", "10"}},
      {"18446744073709551615.0.0", {"18446744073709551615.0", "18446744073709551615"}},
      {"1.2.3-rc.1", {}},
      {"v2.0.0-beta", {}},
  };
  for (const auto& [tag, want] : cases) {
    EXPECT_EQ(floating_tags_of(must_parse(tag)), want) << tag;
  }
}

TEST(SemVerFloatingTags, FloatingTagsAreFloatingAndNotSemVer) {
  for (const std::string& t : floating_tags_of(must_parse("v3.14.15"))) {
    EXPECT_TRUE(is_floating_version_tag(t)) << t;
    EXPECT_FALSE(parse_semver(t).has_value()) << t;
  }
}

TEST(SemVerFloatingTags, RecognisesMajorAndMajorMinorTags) {
  for (const char* tag : {"0", "1", "1.2", "v1", "v1.2", "10.0", "v0.0", "18446744073709551615"}) {
    EXPECT_TRUE(is_floating_version_tag(tag)) << tag;
  }
  for (const char* tag : {"", "v", "1.2.3", "v1.2.3", "latest", "main", "01", "1.02", "1.", ".1", "1..2",
                          "V1", "vv1", "1-rc", "1.2-rc", "1_2", "18446744073709551616", "1.2.3.4", "v1.x"}) {
    EXPECT_FALSE(is_floating_version_tag(tag)) << tag;
  }
}

}  // namespace
}  // namespace berth::oci
