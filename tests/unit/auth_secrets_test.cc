#include <gtest/gtest.h>

#include <set>

#include "auth/secrets.h"
#include "common/hasher.h"

namespace berth::auth {
namespace {

TEST(Secrets, PatHasPrefixAnd43Base62Characters) {
  std::string t = new_token(kPatPrefix);
  ASSERT_EQ(t.substr(0, kPatPrefix.size()), kPatPrefix);
  std::string body = t.substr(kPatPrefix.size());
  EXPECT_EQ(body.size(), 43u);
  for (char c : body) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c))) << c;
}

TEST(Secrets, TokensAreUniqueAcrossManyDraws) {
  std::set<std::string> seen;
  for (int i = 0; i < 2000; ++i) seen.insert(new_token(kCiPrefix));
  EXPECT_EQ(seen.size(), 2000u);
}

TEST(Secrets, LooksLikeTokenChecksPrefixAndLength) {
  EXPECT_TRUE(looks_like_token(new_token(kPatPrefix)));
  EXPECT_TRUE(looks_like_token(new_token(kCiPrefix)));
  EXPECT_FALSE(looks_like_token("berth_pat_short"));
  EXPECT_FALSE(looks_like_token("password123"));
  std::string t = new_token(kPatPrefix);
  EXPECT_FALSE(looks_like_token("ghp_" + t.substr(kPatPrefix.size())));
}

TEST(Secrets, StoredHashIsSha256OfTheWholeToken) {
  std::string t = new_token(kPatPrefix);
  EXPECT_EQ(token_hash(t), sha256_hex(t));
  EXPECT_NE(token_hash(t), token_hash(new_token(kPatPrefix)));
}

TEST(Secrets, HintRevealsOnlyPrefixAndFourCharacters) {
  std::string t = new_token(kPatPrefix);
  std::string hint = token_hint(t);
  EXPECT_EQ(hint, t.substr(0, kPatPrefix.size() + 4) + "...");
}

TEST(Secrets, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(constant_time_equals("abc", "abc"));
  EXPECT_FALSE(constant_time_equals("abc", "abd"));
  EXPECT_FALSE(constant_time_equals("abc", "abcd"));
  EXPECT_TRUE(constant_time_equals("", ""));
}

TEST(Secrets, PasswordHashIsArgon2idAndVerifies) {
  std::string hash = hash_password("correct horse battery staple");
  ASSERT_FALSE(hash.empty());
  EXPECT_EQ(hash.rfind("$argon2id$", 0), 0u);
  EXPECT_TRUE(verify_password("correct horse battery staple", hash));
  EXPECT_FALSE(verify_password("correct horse battery stapler", hash));
  EXPECT_FALSE(verify_password("anything", ""));
}

}  // namespace
}  // namespace berth::auth
