#include "common/hasher.h"

#include <gtest/gtest.h>

#include <string>

namespace berth {
namespace {

constexpr char kSha256Abc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
constexpr char kSha512Abc[] =
    "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
    "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";
constexpr char kSha256Empty[] = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
// FIPS 180-2 two-block message.
constexpr char kTwoBlockMessage[] = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
constexpr char kSha256TwoBlock[] = "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1";

std::string pattern(size_t n) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 131 + 7) & 0xff);
  return s;
}

TEST(Hasher, Sha256OfAbcMatchesKnownVector) {
  EXPECT_EQ(sha256_hex("abc"), kSha256Abc);
  Hasher h(HashAlgorithm::sha256);
  h.update("abc");
  EXPECT_EQ(h.hex_digest(), kSha256Abc);
}

TEST(Hasher, Sha512OfAbcMatchesKnownVector) {
  EXPECT_EQ(sha512_hex("abc"), kSha512Abc);
  Hasher h(HashAlgorithm::sha512);
  h.update("abc");
  EXPECT_EQ(h.hex_digest(), kSha512Abc);
}

TEST(Hasher, EmptyInputHashesToWellKnownValue) {
  EXPECT_EQ(Hasher(HashAlgorithm::sha256).hex_digest(), kSha256Empty);
}

TEST(Hasher, TwoBlockMessageMatchesKnownVector) { EXPECT_EQ(sha256_hex(kTwoBlockMessage), kSha256TwoBlock); }

TEST(Hasher, IncrementalUpdatesEqualOneShot) {
  std::string data = pattern(10'000);
  Hasher h(HashAlgorithm::sha256);
  for (size_t i = 0; i < data.size(); i += 37) h.update(std::string_view(data).substr(i, 37));
  EXPECT_EQ(h.hex_digest(), sha256_hex(data));
}

TEST(Hasher, HexDigestDoesNotDisturbRunningState) {
  Hasher h(HashAlgorithm::sha256);
  h.update("ab");
  (void)h.hex_digest();
  h.update("c");
  EXPECT_EQ(h.hex_digest(), kSha256Abc);
}

TEST(Hasher, ReportsItsAlgorithm) {
  EXPECT_EQ(Hasher(HashAlgorithm::sha256).algorithm(), HashAlgorithm::sha256);
  EXPECT_EQ(Hasher(HashAlgorithm::sha512).algorithm(), HashAlgorithm::sha512);
}

TEST(Hasher, MovedHasherKeepsState) {
  Hasher a(HashAlgorithm::sha256);
  a.update("ab");
  Hasher b = std::move(a);
  b.update("c");
  EXPECT_EQ(b.hex_digest(), kSha256Abc);
}

class HasherSaveRestore : public ::testing::TestWithParam<std::tuple<HashAlgorithm, size_t>> {};

// Splits at block boundaries and inside blocks, since the saved state carries a partial block buffer.
TEST_P(HasherSaveRestore, RestoredMidStreamGivesSameDigestAsUninterrupted) {
  auto [algorithm, split] = GetParam();
  std::string data = pattern(1000);
  Hasher whole(algorithm);
  whole.update(data);

  Hasher first(algorithm);
  first.update(std::string_view(data).substr(0, split));
  std::string saved = first.save();
  auto resumed = Hasher::restore(algorithm, saved);
  ASSERT_NE(resumed, nullptr);
  EXPECT_EQ(resumed->algorithm(), algorithm);
  resumed->update(std::string_view(data).substr(split));
  EXPECT_EQ(resumed->hex_digest(), whole.hex_digest());
}

INSTANTIATE_TEST_SUITE_P(Splits, HasherSaveRestore,
                         ::testing::Combine(::testing::Values(HashAlgorithm::sha256, HashAlgorithm::sha512),
                                            ::testing::Values(0, 1, 63, 64, 65, 127, 128, 129, 500, 1000)));

TEST(Hasher, RestoreSurvivesSeveralSaveCycles) {
  std::string data = pattern(5000);
  std::unique_ptr<Hasher> h = std::make_unique<Hasher>(HashAlgorithm::sha256);
  for (size_t i = 0; i < data.size(); i += 333) {
    h->update(std::string_view(data).substr(i, 333));
    h = Hasher::restore(HashAlgorithm::sha256, h->save());
    ASSERT_NE(h, nullptr);
  }
  EXPECT_EQ(h->hex_digest(), sha256_hex(data));
}

TEST(Hasher, RestoreOfGarbageReturnsNull) {
  EXPECT_EQ(Hasher::restore(HashAlgorithm::sha256, ""), nullptr);
  EXPECT_EQ(Hasher::restore(HashAlgorithm::sha256, "not a hash state"), nullptr);
  EXPECT_EQ(Hasher::restore(HashAlgorithm::sha512, std::string(300, 'x')), nullptr);
}

TEST(Hasher, RestoreOfTruncatedOrExtendedStateReturnsNull) {
  Hasher h(HashAlgorithm::sha256);
  h.update("abc");
  std::string saved = h.save();
  EXPECT_EQ(Hasher::restore(HashAlgorithm::sha256, saved.substr(0, saved.size() - 1)), nullptr);
  EXPECT_EQ(Hasher::restore(HashAlgorithm::sha256, saved + "x"), nullptr);
}

TEST(Hasher, RestoreWithWrongAlgorithmReturnsNull) {
  Hasher h256(HashAlgorithm::sha256);
  h256.update("abc");
  Hasher h512(HashAlgorithm::sha512);
  h512.update("abc");
  EXPECT_EQ(Hasher::restore(HashAlgorithm::sha512, h256.save()), nullptr);
  EXPECT_EQ(Hasher::restore(HashAlgorithm::sha256, h512.save()), nullptr);
}

// A state of the right length and header whose body was corrupted must be refused, not handed to OpenSSL,
// which would use the corrupted buffer offset to write out of bounds on the next update.
TEST(Hasher, RestoreOfCorruptedStateBodyReturnsNull) {
  for (HashAlgorithm algorithm : {HashAlgorithm::sha256, HashAlgorithm::sha512}) {
    Hasher h(algorithm);
    h.update("abc");
    std::string saved = h.save();
    std::string corrupted = saved;
    for (size_t i = 2; i < corrupted.size(); ++i) corrupted[i] = static_cast<char>(0xff);
    EXPECT_EQ(Hasher::restore(algorithm, corrupted), nullptr);
    // Only the trailing num/md_len words changed: still refused.
    std::string tail = saved;
    for (size_t i = tail.size() - 8; i < tail.size(); ++i) tail[i] = static_cast<char>(0x7f);
    EXPECT_EQ(Hasher::restore(algorithm, tail), nullptr);
  }
}

}  // namespace
}  // namespace berth
