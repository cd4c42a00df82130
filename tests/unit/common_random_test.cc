#include "common/random.h"

#include <gtest/gtest.h>

#include <array>
#include <set>

namespace berth {
namespace {

TEST(RandomHex, HasTwoLowercaseHexDigitsPerByte) {
  for (size_t bytes : {0u, 1u, 16u, 33u}) {
    std::string hex = random_hex(bytes);
    ASSERT_EQ(hex.size(), 2 * bytes);
    EXPECT_EQ(hex.find_first_not_of("0123456789abcdef"), std::string::npos) << hex;
  }
}

TEST(RandomHex, TenThousandIdsAreDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 10000; ++i) seen.insert(random_hex(16));
  EXPECT_EQ(seen.size(), 10000u);
}

TEST(RandomBytes, FillsLargeBuffersWithEveryByteValue) {
  // 64 KiB drawn in one call (getrandom may return short reads above 256 bytes for some flags); each of
  // the 256 byte values appears: the chance that one is missing from uniform bytes is ~256 * e^-256.
  std::string buf(64 * 1024, '\0');
  random_bytes(buf.data(), buf.size());
  std::array<int, 256> counts{};
  for (unsigned char c : buf) ++counts[c];
  for (int v = 0; v < 256; ++v) EXPECT_GT(counts[v], 0) << "byte value " << v << " never drawn";
}

}  // namespace
}  // namespace berth
