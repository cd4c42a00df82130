#include "oci/range.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::oci {
namespace {

::testing::AssertionResult RangeIs(const Result<ByteRange>& r, uint64_t first, uint64_t last) {
  if (!r.ok()) return ::testing::AssertionFailure() << "error: " << r.status().message();
  if (r->first != first || r->last != last) {
    return ::testing::AssertionFailure() << "got [" << r->first << ", " << r->last << "]";
  }
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult IsRangeInvalid(const Result<ByteRange>& r) {
  if (r.ok()) return ::testing::AssertionFailure() << "accepted as [" << r->first << ", " << r->last << "]";
  if (r.status().code() != Errc::range_invalid) return ::testing::AssertionFailure() << "wrong code";
  return ::testing::AssertionSuccess();
}

TEST(RangeHeader, FirstToLast) {
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=0-99", 1000), 0, 99));
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=10-10", 1000), 10, 10));
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=0-999", 1000), 0, 999));
  EXPECT_EQ(parse_range_header("bytes=10-19", 1000)->length(), 10u);
}

TEST(RangeHeader, OpenEndedGoesToEnd) {
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=5-", 1000), 5, 999));
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=0-", 1), 0, 0));
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=999-", 1000), 999, 999));
}

TEST(RangeHeader, SuffixIsLastBytesClampedToSize) {
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=-100", 1000), 900, 999));
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=-1", 1000), 999, 999));
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=-1000", 1000), 0, 999));
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=-5000", 1000), 0, 999));
}

TEST(RangeHeader, ZeroSuffixIsUnsatisfiable) { EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=-0", 1000))); }

TEST(RangeHeader, LastIsClampedToSize) {
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=500-5000", 1000), 500, 999));
  EXPECT_TRUE(RangeIs(parse_range_header("bytes=0-18446744073709551615", 10), 0, 9));
}

TEST(RangeHeader, FirstAtOrBeyondSizeIsUnsatisfiable) {
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=1000-", 1000)));
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=1000-1001", 1000)));
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=5000-6000", 1000)));
}

TEST(RangeHeader, EmptyBlobIsUnsatisfiable) {
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=0-", 0)));
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=0-0", 0)));
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=-10", 0)));
}

TEST(RangeHeader, FirstAfterLastIsInvalid) { EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=10-5", 1000))); }

TEST(RangeHeader, MultipleRangesAreRejected) {
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=0-1,5-6", 1000)));
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=0-1, 5-6", 1000)));
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=0-1,", 1000)));
}

TEST(RangeHeader, RejectsSignsAndSpacesInsideNumbers) {
  for (const char* h : {"bytes=+5-10", "bytes=5-+10", "bytes=-+10", "bytes=--10", "bytes=1 0-20", "bytes=10-2 0",
                        "bytes=10 -20", "bytes=10- 20", "bytes=0x10-20", "bytes=1e2-200", "bytes=1.5-2"}) {
    EXPECT_TRUE(IsRangeInvalid(parse_range_header(h, 1000))) << h;
  }
}

TEST(RangeHeader, RejectsOverflowingNumbers) {
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=18446744073709551616-", 1000)));
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=0-18446744073709551616", 1000)));
  EXPECT_TRUE(IsRangeInvalid(parse_range_header("bytes=-99999999999999999999999", 1000)));
}

TEST(RangeHeader, RejectsMalformedHeaders) {
  for (const char* h : {"", "bytes", "bytes=", "bytes=-", "bytes=5", "bytes=a-b", "items=0-1", "0-1", "bytes:0-1",
                        "bytes=0-1-2"}) {
    EXPECT_TRUE(IsRangeInvalid(parse_range_header(h, 1000))) << '"' << h << '"';
  }
}

TEST(RangeHeader, UnitIsCaseInsensitiveAndOuterWhitespaceIsIgnored) {
  EXPECT_TRUE(RangeIs(parse_range_header("Bytes=0-1", 10), 0, 1));
  EXPECT_TRUE(RangeIs(parse_range_header(" bytes=0-1 ", 10), 0, 1));
}

TEST(RangeHeader, LeadingZerosAreDecimal) { EXPECT_TRUE(RangeIs(parse_range_header("bytes=010-020", 100), 10, 20)); }

TEST(ContentRange, SpecFormFirstDashLast) {
  EXPECT_TRUE(RangeIs(parse_content_range("0-1023"), 0, 1023));
  EXPECT_TRUE(RangeIs(parse_content_range("1024-2047"), 1024, 2047));
  EXPECT_TRUE(RangeIs(parse_content_range("7-7"), 7, 7));
}

TEST(ContentRange, AcceptsLeadingBytesUnit) {
  EXPECT_TRUE(RangeIs(parse_content_range("bytes 0-1023"), 0, 1023));
}

TEST(ContentRange, LastBeforeFirstIsInvalid) { EXPECT_TRUE(IsRangeInvalid(parse_content_range("10-9"))); }

TEST(ContentRange, RejectsMalformed) {
  for (const char* h : {"", "-", "5", "5-", "-5", "a-b", "+1-2", "1-+2", "1 -2", "1- 2", "bytes=0-1", "0-1,2-3",
                        "18446744073709551616-18446744073709551617", "0-1-2"}) {
    EXPECT_TRUE(IsRangeInvalid(parse_content_range(h))) << '"' << h << '"';
  }
}

TEST(ContentRange, AcceptsTheLargestPositionWhoseLengthFits) {
  EXPECT_TRUE(RangeIs(parse_content_range("0-18446744073709551614"), 0, UINT64_MAX - 1));
}

TEST(ContentRange, RejectsALastPositionWhoseLengthOverflows) {
  // 0-18446744073709551615 is 2^64 bytes: its length wraps to 0 (security review, finding 12).
  EXPECT_FALSE(parse_content_range("0-18446744073709551615").ok());
}

}  // namespace
}  // namespace berth::oci
