#include "oci/name.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace berth::oci {
namespace {

TEST(RepositoryName, AcceptsSimpleAndNestedNames) {
  for (const char* name : {"a", "0", "busybox", "library/ubuntu", "acme/platform/sbl/python-alpine",
                           "a/b/c/d/e/f/g", "my.app", "my_app", "my-app", "v1.2.3", "a0/b1"}) {
    EXPECT_TRUE(is_valid_repository_name(name)) << name;
  }
}

TEST(RepositoryName, AcceptsEachSeparatorKind) {
  EXPECT_TRUE(is_valid_repository_name("a.b"));
  EXPECT_TRUE(is_valid_repository_name("a_b"));
  EXPECT_TRUE(is_valid_repository_name("a__b"));
  EXPECT_TRUE(is_valid_repository_name("a-b"));
  EXPECT_TRUE(is_valid_repository_name("a--b"));
  EXPECT_TRUE(is_valid_repository_name("a-----b"));
  EXPECT_TRUE(is_valid_repository_name("a.b_c__d-e--f"));
}

TEST(RepositoryName, RejectsThreeUnderscoresAndRepeatedDots) {
  EXPECT_FALSE(is_valid_repository_name("a___b"));
  EXPECT_FALSE(is_valid_repository_name("a..b"));
  EXPECT_FALSE(is_valid_repository_name("a._b"));
  EXPECT_FALSE(is_valid_repository_name("a.-b"));
  EXPECT_FALSE(is_valid_repository_name("a-.b"));
  EXPECT_FALSE(is_valid_repository_name("a_-b"));
}

TEST(RepositoryName, RejectsDotDotPathComponents) {
  EXPECT_FALSE(is_valid_repository_name(".."));
  EXPECT_FALSE(is_valid_repository_name("../etc"));
  EXPECT_FALSE(is_valid_repository_name("acme/../etc"));
  EXPECT_FALSE(is_valid_repository_name("acme/./app"));
  EXPECT_FALSE(is_valid_repository_name("."));
}

TEST(RepositoryName, RejectsEncodedAndForeignCharacters) {
  EXPECT_FALSE(is_valid_repository_name("acme%2Fapp"));
  EXPECT_FALSE(is_valid_repository_name("acme%2fapp"));
  EXPECT_FALSE(is_valid_repository_name("acme app"));
  EXPECT_FALSE(is_valid_repository_name("acme\\app"));
  EXPECT_FALSE(is_valid_repository_name("acme:app"));
  EXPECT_FALSE(is_valid_repository_name("acme@app"));
  EXPECT_FALSE(is_valid_repository_name("caf\xc3\xa9"));
  EXPECT_FALSE(is_valid_repository_name(std::string("ab\0c", 4)));
}

TEST(RepositoryName, RejectsUppercase) {
  EXPECT_FALSE(is_valid_repository_name("Busybox"));
  EXPECT_FALSE(is_valid_repository_name("acme/App"));
  EXPECT_FALSE(is_valid_repository_name("ACME"));
}

TEST(RepositoryName, RejectsLeadingAndTrailingSeparators) {
  for (const char* name : {"-a", "a-", ".a", "a.", "_a", "a_", "__a", "a__", "/a", "a/", "a//b", "acme/-app",
                           "acme/app-", "acme/.app", "acme./app", "/"}) {
    EXPECT_FALSE(is_valid_repository_name(name)) << name;
  }
}

TEST(RepositoryName, RejectsEmpty) { EXPECT_FALSE(is_valid_repository_name("")); }

TEST(RepositoryName, Accepts255CharactersAndRejects256) {
  std::string name(kMaxRepositoryNameLength, 'a');
  EXPECT_TRUE(is_valid_repository_name(name));
  name.push_back('a');
  EXPECT_FALSE(is_valid_repository_name(name));
}

TEST(RepositoryName, LengthLimitCountsSlashes) {
  // 127 * "a/" + "a" = 255 characters.
  std::string name;
  for (int i = 0; i < 127; ++i) name += "a/";
  name += "a";
  ASSERT_EQ(name.size(), 255u);
  EXPECT_TRUE(is_valid_repository_name(name));
  EXPECT_FALSE(is_valid_repository_name(name + "b"));
}

TEST(Tag, AcceptsTypicalTags) {
  for (const char* tag : {"latest", "1.2.3", "v1", "_private", "A", "0", "sha256-abc.sig", "3.12-alpine",
                          "release_2024.01", "a..b", "x--y"}) {
    EXPECT_TRUE(is_valid_tag(tag)) << tag;
  }
}

TEST(Tag, Accepts128CharactersAndRejects129) {
  std::string tag(128, 'a');
  EXPECT_TRUE(is_valid_tag(tag));
  tag.push_back('a');
  EXPECT_FALSE(is_valid_tag(tag));
}

TEST(Tag, RejectsLeadingDotOrDash) {
  EXPECT_FALSE(is_valid_tag(".hidden"));
  EXPECT_FALSE(is_valid_tag("-v1"));
  EXPECT_FALSE(is_valid_tag("."));
  EXPECT_FALSE(is_valid_tag(".."));
}

TEST(Tag, RejectsEmptyAndForeignCharacters) {
  EXPECT_FALSE(is_valid_tag(""));
  EXPECT_FALSE(is_valid_tag("v1/2"));
  EXPECT_FALSE(is_valid_tag("v1:2"));
  EXPECT_FALSE(is_valid_tag("v 1"));
  EXPECT_FALSE(is_valid_tag("v1+build"));
  EXPECT_FALSE(is_valid_tag("v%2F1"));
  EXPECT_FALSE(is_valid_tag(std::string("v\0", 2)));
}

TEST(Reference, ParsesTag) {
  auto r = Reference::parse("latest");
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->is_tag());
  EXPECT_FALSE(r->is_digest());
  EXPECT_EQ(r->tag(), "latest");
  EXPECT_EQ(r->str(), "latest");
}

TEST(Reference, ParsesDigest) {
  std::string text = "sha256:" + std::string(64, 'f');
  auto r = Reference::parse(text);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->is_digest());
  EXPECT_EQ(r->digest().str(), text);
  EXPECT_EQ(r->str(), text);
}

TEST(Reference, StringWithColonMustBeValidDigest) {
  auto bad = Reference::parse("sha256:abc");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), Errc::digest_invalid);
  EXPECT_EQ(Reference::parse("v1:2").status().code(), Errc::digest_invalid);
  EXPECT_EQ(Reference::parse("sha256:" + std::string(64, 'F')).status().code(), Errc::digest_invalid);
}

TEST(Reference, InvalidTagIsInvalidArgument) {
  EXPECT_EQ(Reference::parse("").status().code(), Errc::invalid_argument);
  EXPECT_EQ(Reference::parse("-v1").status().code(), Errc::invalid_argument);
  EXPECT_EQ(Reference::parse(std::string(129, 'a')).status().code(), Errc::invalid_argument);
  EXPECT_EQ(Reference::parse("a/b").status().code(), Errc::invalid_argument);
}

TEST(Reference, FactoriesBuildTheRightKind) {
  EXPECT_TRUE(Reference::of_tag("v1").is_tag());
  Reference d = Reference::of_digest(Digest::of(""));
  EXPECT_TRUE(d.is_digest());
  EXPECT_EQ(d.digest(), Digest::of(""));
}

}  // namespace
TEST(TagSchema, NamesTheManifestOfCosignAndSigstoreAttachmentTags) {
  const std::string hex(64, 'a');
  for (const std::string& tag : std::vector<std::string>{"sha256-" + hex + ".sig", "sha256-" + hex + ".att",
                                                         "sha256-" + hex + ".sbom", "sha256-" + hex}) {
    auto subject = tag_schema_subject(tag);
    ASSERT_TRUE(subject.has_value()) << tag;
    EXPECT_EQ(subject->str(), "sha256:" + hex) << tag;
  }
  for (const std::string& tag : std::vector<std::string>{"latest", "sha256-" + hex.substr(1) + ".sig", "sha256-" + hex + ".SIG",
                                "sha256-" + hex + ".", "sha256-" + hex + "-sig", "sha512-" + hex + ".sig",
                                "sha256-" + std::string(64, 'g') + ".sig", "sha256-" + hex + ".s1g"}) {
    EXPECT_FALSE(tag_schema_subject(tag).has_value()) << tag;
  }
}

}  // namespace berth::oci
