// Failed-login throttling (docs/security.md). Failures are counted per (client network, user name): a
// flood against one account from an address blocks that account from that address only, so behind a
// load balancer without trusted_proxies one attacker does not lock every user out. An IPv6 client counts
// as its /64 (one host usually holds a whole /64, and would otherwise reset its count with every
// address). The table is bounded: the entry updated longest ago goes first.
#pragma once

#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace berth::auth {

struct ThrottleOptions {
  int max_failures = 5;           // within window_seconds, per key
  int64_t window_seconds = 60;
  int64_t first_backoff_seconds = 5;  // then doubling with each further block
  int64_t max_backoff_seconds = 300;
  size_t max_entries = 100'000;
};

class LoginThrottle {
 public:
  explicit LoginThrottle(ThrottleOptions options) : options_(options) {}

  // The key failures of `user` (empty: a token given alone) from `remote` count under.
  static std::string key(const std::string& remote, const std::string& user);
  // The network a client address counts as: an IPv4 address itself, an IPv6 address its /64 (an
  // IPv4-mapped IPv6 address its IPv4 address). Text that is no address is kept as it is.
  static std::string network_of(const std::string& remote);

  // Whether the key is blocked at `now`; if so, *retry_after (if given) is the seconds left.
  bool blocked(const std::string& key, int64_t now, int64_t* retry_after = nullptr);
  void record_failure(const std::string& key, int64_t now);
  void record_success(const std::string& key);
  size_t size();

 private:
  struct Entry {
    std::string key;
    std::vector<int64_t> times;  // failures within the window
    int64_t blocked_until = 0;
    int strikes = 0;             // consecutive blocks: the backoff doubles
  };
  ThrottleOptions options_;
  std::mutex mu_;
  std::list<Entry> by_age_;  // most recently updated first
  std::unordered_map<std::string, std::list<Entry>::iterator> index_;
};

}  // namespace berth::auth
