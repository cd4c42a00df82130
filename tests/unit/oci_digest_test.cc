#include "oci/digest.h"

#include <gtest/gtest.h>

#include <string>
#include <unordered_set>

namespace berth::oci {
namespace {

constexpr char kEmptySha256[] = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
constexpr char kEmptySha512[] =
    "sha512:cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce"
    "47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";

std::string sha256_of_hex(char c) { return "sha256:" + std::string(64, c); }

TEST(Digest, OfEmptyIsWellKnownSha256) {
  Digest d = Digest::of("");
  EXPECT_EQ(d.str(), kEmptySha256);
  EXPECT_EQ(d.algorithm(), HashAlgorithm::sha256);
  EXPECT_EQ(d.algorithm_name(), "sha256");
  EXPECT_EQ(d.hex(), std::string_view(kEmptySha256).substr(7));
}

TEST(Digest, OfEmptyWithSha512IsWellKnownSha512) {
  Digest d = Digest::of("", HashAlgorithm::sha512);
  EXPECT_EQ(d.str(), kEmptySha512);
  EXPECT_EQ(d.algorithm_name(), "sha512");
  EXPECT_EQ(d.hex().size(), 128u);
}

TEST(Digest, FromHasherEqualsOf) {
  Hasher h(HashAlgorithm::sha256);
  h.update("hello ");
  h.update("world");
  EXPECT_EQ(Digest::from_hasher(h), Digest::of("hello world"));
}

TEST(Digest, ParseAcceptsLowercaseSha256) {
  auto d = Digest::parse(kEmptySha256);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(*d, Digest::of(""));
  EXPECT_EQ(d->algorithm(), HashAlgorithm::sha256);
}

TEST(Digest, ParseAcceptsSha512) {
  auto d = Digest::parse(kEmptySha512);
  ASSERT_TRUE(d.ok()) << d.status().message();
  EXPECT_EQ(d->algorithm(), HashAlgorithm::sha512);
  EXPECT_EQ(d->str(), kEmptySha512);
}

TEST(Digest, ParseRejectsUppercaseHex) {
  auto d = Digest::parse(sha256_of_hex('A'));
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.status().code(), Errc::digest_invalid);
  std::string mixed = kEmptySha256;
  mixed[10] = 'C';
  EXPECT_FALSE(Digest::parse(mixed).ok());
}

TEST(Digest, ParseRejectsUppercaseAlgorithm) {
  EXPECT_FALSE(Digest::parse("SHA256:" + std::string(64, 'a')).ok());
}

TEST(Digest, ParseRejectsWrongLength) {
  EXPECT_EQ(Digest::parse("sha256:" + std::string(63, 'a')).status().code(), Errc::digest_invalid);
  EXPECT_EQ(Digest::parse("sha256:" + std::string(65, 'a')).status().code(), Errc::digest_invalid);
  EXPECT_EQ(Digest::parse("sha256:").status().code(), Errc::digest_invalid);
  // A sha512-length hex under sha256 and vice versa.
  EXPECT_FALSE(Digest::parse("sha256:" + std::string(128, 'a')).ok());
  EXPECT_FALSE(Digest::parse("sha512:" + std::string(64, 'a')).ok());
}

TEST(Digest, ParseRejectsUnknownAlgorithm) {
  EXPECT_EQ(Digest::parse("md5:d41d8cd98f00b204e9800998ecf8427e").status().code(), Errc::digest_invalid);
  EXPECT_EQ(Digest::parse("sha384:" + std::string(96, 'a')).status().code(), Errc::digest_invalid);
  EXPECT_EQ(Digest::parse("blake3:" + std::string(64, 'a')).status().code(), Errc::digest_invalid);
  EXPECT_EQ(Digest::parse(":" + std::string(64, 'a')).status().code(), Errc::digest_invalid);
}

TEST(Digest, ParseRejectsMissingColonAndNonHex) {
  EXPECT_FALSE(Digest::parse("").ok());
  EXPECT_FALSE(Digest::parse(std::string(64, 'a')).ok());
  EXPECT_FALSE(Digest::parse(sha256_of_hex('g')).ok());
  // Path traversal must never get past parse, since storage builds paths from digests.
  EXPECT_FALSE(Digest::parse("sha256:../../../../etc/passwd" + std::string(42, 'a')).ok());
  EXPECT_FALSE(Digest::parse("sha256:" + std::string(63, 'a') + "/").ok());
  EXPECT_FALSE(Digest::parse(" " + std::string(kEmptySha256)).ok());
  EXPECT_FALSE(Digest::parse(std::string(kEmptySha256) + "\n").ok());
  EXPECT_FALSE(Digest::parse("sha256:" + std::string(32, 'a') + ":" + std::string(31, 'a')).ok());
}

TEST(Digest, ParseRejectsEmbeddedNul) {
  std::string s = sha256_of_hex('a');
  s[20] = '\0';
  EXPECT_FALSE(Digest::parse(s).ok());
}

TEST(Digest, EqualityOrderingAndHashFollowText) {
  Digest a = *Digest::parse(sha256_of_hex('a'));
  Digest b = *Digest::parse(sha256_of_hex('b'));
  Digest a2 = *Digest::parse(sha256_of_hex('a'));
  EXPECT_EQ(a, a2);
  EXPECT_NE(a, b);
  EXPECT_LT(a, b);
  std::unordered_set<Digest> set{a, b, a2};
  EXPECT_EQ(set.size(), 2u);
}

}  // namespace
}  // namespace berth::oci
