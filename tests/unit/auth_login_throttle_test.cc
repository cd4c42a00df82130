// LoginThrottle: failures count per (client network, user name); an IPv6 client counts as its /64; the
// table is bounded and forgets the entry updated longest ago first.
#include "auth/login_throttle.h"

#include <gtest/gtest.h>

#include <string>

namespace berth::auth {
namespace {

ThrottleOptions small(size_t max_entries = 100) {
  return ThrottleOptions{.max_failures = 3, .window_seconds = 60, .first_backoff_seconds = 5,
                         .max_backoff_seconds = 300, .max_entries = max_entries};
}

void fail(LoginThrottle& t, const std::string& key, int n, int64_t now) {
  for (int i = 0; i < n; ++i) t.record_failure(key, now);
}

TEST(LoginThrottle, AFloodAgainstOneNameBlocksThatNameOnlyFromThatAddress) {
  LoginThrottle t(small());
  fail(t, LoginThrottle::key("192.0.2.1", "mallory"), 3, 1000);
  int64_t retry = 0;
  EXPECT_TRUE(t.blocked(LoginThrottle::key("192.0.2.1", "mallory"), 1001, &retry));
  EXPECT_EQ(retry, 4);
  EXPECT_FALSE(t.blocked(LoginThrottle::key("192.0.2.1", "alice"), 1001)) << "another user, same address";
  EXPECT_FALSE(t.blocked(LoginThrottle::key("192.0.2.2", "mallory"), 1001)) << "same user, another address";
  EXPECT_FALSE(t.blocked(LoginThrottle::key("192.0.2.1", "mallory"), 1005)) << "the block ends";
}

TEST(LoginThrottle, BlocksGrowWithEachStrikeAndASuccessClearsTheCount) {
  LoginThrottle t(small());
  const std::string k = LoginThrottle::key("192.0.2.1", "alice");
  fail(t, k, 3, 1000);
  fail(t, k, 3, 1010);
  int64_t retry = 0;
  EXPECT_TRUE(t.blocked(k, 1010, &retry));
  EXPECT_EQ(retry, 10) << "the second block doubles";
  t.record_success(k);
  EXPECT_FALSE(t.blocked(k, 1010));
  fail(t, k, 2, 1011);
  EXPECT_FALSE(t.blocked(k, 1011)) << "the count started again";
}

TEST(LoginThrottle, AnIPv6ClientCountsAsItsSlash64) {
  EXPECT_EQ(LoginThrottle::network_of("2001:db8:1:2:aaaa:bbbb:cccc:dddd"), "2001:db8:1:2::/64");
  EXPECT_EQ(LoginThrottle::network_of("2001:db8:1:2::1"), LoginThrottle::network_of("2001:db8:1:2:ffff::9"));
  EXPECT_NE(LoginThrottle::network_of("2001:db8:1:2::1"), LoginThrottle::network_of("2001:db8:1:3::1"));
  EXPECT_EQ(LoginThrottle::network_of("::ffff:192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(LoginThrottle::network_of("192.0.2.7"), "192.0.2.7");
  EXPECT_EQ(LoginThrottle::network_of("local"), "local");

  LoginThrottle t(small());
  // Three addresses of one /64, one failure each: blocked as one client.
  for (const char* a : {"2001:db8:1:2::1", "2001:db8:1:2::2", "2001:db8:1:2:abcd::3"}) {
    t.record_failure(LoginThrottle::key(a, "alice"), 1000);
  }
  EXPECT_TRUE(t.blocked(LoginThrottle::key("2001:db8:1:2::99", "alice"), 1000));
  EXPECT_FALSE(t.blocked(LoginThrottle::key("2001:db8:1:3::1", "alice"), 1000));
}

TEST(LoginThrottle, TheTableIsBoundedAndForgetsTheOldestEntryFirst) {
  LoginThrottle t(small(4));
  const std::string blocked = LoginThrottle::key("192.0.2.1", "alice");
  fail(t, blocked, 3, 1000);
  for (int i = 0; i < 3; ++i) t.record_failure(LoginThrottle::key("198.51.100." + std::to_string(i), "x"), 1001);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_TRUE(t.blocked(blocked, 1002)) << "a full table evicts nothing yet";
  // Touching the blocked entry again makes it the newest: the next new key evicts 198.51.100.0 instead.
  t.record_failure(blocked, 1002);
  t.record_failure(LoginThrottle::key("203.0.113.1", "y"), 1002);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_TRUE(t.blocked(blocked, 1002));
  // Four newer keys push it out: the table never grows past its bound, whatever the flood.
  for (int i = 0; i < 4; ++i) t.record_failure(LoginThrottle::key("203.0.113." + std::to_string(10 + i), "y"), 1003);
  EXPECT_EQ(t.size(), 4u);
  EXPECT_FALSE(t.blocked(blocked, 1003));
}

}  // namespace
}  // namespace berth::auth
