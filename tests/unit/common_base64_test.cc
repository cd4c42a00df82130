#include <gtest/gtest.h>

#include "common/base64.h"

namespace berth {
namespace {

TEST(Base64, EncodesTheRfc4648Vectors) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
}

TEST(Base64, DecodingDropsPaddingAndKeepsZeroBytes) {
  EXPECT_EQ(base64_decode("Zg=="), "f");
  EXPECT_EQ(base64_decode("Zm8="), "fo");
  EXPECT_EQ(base64_decode("Zm9vYmFy"), "foobar");
  EXPECT_EQ(base64_decode(base64_encode(std::string("a\0b\0", 4))), std::string("a\0b\0", 4));
}

TEST(Base64, MalformedInputIsRejected) {
  EXPECT_FALSE(base64_decode("Zm9"));
  EXPECT_FALSE(base64_decode("Zm9v!"));
  EXPECT_FALSE(base64url_decode("Zm9v+A"));
}

TEST(Base64, UrlSafeDecodingAcceptsMissingPadding) {
  EXPECT_EQ(base64url_decode("Zg"), "f");
  EXPECT_EQ(base64url_decode("Zm8"), "fo");
  EXPECT_EQ(base64url_decode(R"(eyJhbGciOiJFUzI1NiJ9)"), R"({"alg":"ES256"})");
  EXPECT_EQ(base64url_decode("_-8"), "\xff\xef");
}

}  // namespace
}  // namespace berth
