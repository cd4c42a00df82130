#include "auth/login_throttle.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

namespace berth::auth {

std::string LoginThrottle::network_of(const std::string& remote) {
  in6_addr v6{};
  if (remote.find(':') == std::string::npos || inet_pton(AF_INET6, remote.c_str(), &v6) != 1) return remote;
  static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  char text[INET6_ADDRSTRLEN] = {};
  if (std::memcmp(v6.s6_addr, kMapped, sizeof kMapped) == 0) {
    in_addr v4{};
    std::memcpy(&v4, v6.s6_addr + 12, 4);
    return inet_ntop(AF_INET, &v4, text, sizeof text) ? std::string(text) : remote;
  }
  std::memset(v6.s6_addr + 8, 0, 8);
  return inet_ntop(AF_INET6, &v6, text, sizeof text) ? std::string(text) + "/64" : remote;
}

std::string LoginThrottle::key(const std::string& remote, const std::string& user) {
  // A NUL cannot be in either part (addresses are text, user names are validated), so keys are unambiguous.
  return network_of(remote) + '\0' + user;
}

bool LoginThrottle::blocked(const std::string& key, int64_t now, int64_t* retry_after) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end() || it->second->blocked_until <= now) return false;
  if (retry_after) *retry_after = it->second->blocked_until - now;
  return true;
}

void LoginThrottle::record_failure(const std::string& key, int64_t now) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) {
    if (index_.size() >= std::max<size_t>(options_.max_entries, 1)) {
      index_.erase(by_age_.back().key);
      by_age_.pop_back();
    }
    by_age_.push_front(Entry{key, {}, 0, 0});
    it = index_.emplace(key, by_age_.begin()).first;
  } else {
    by_age_.splice(by_age_.begin(), by_age_, it->second);  // now the most recently updated
  }
  Entry& e = *it->second;
  std::erase_if(e.times, [&](int64_t t) { return t <= now - options_.window_seconds; });
  e.times.push_back(now);
  if (static_cast<int>(e.times.size()) >= options_.max_failures) {
    const int64_t backoff =
        std::min<int64_t>(options_.max_backoff_seconds, options_.first_backoff_seconds << std::min(e.strikes, 20));
    e.blocked_until = now + std::max<int64_t>(backoff, 1);
    ++e.strikes;
    e.times.clear();
  }
}

void LoginThrottle::record_success(const std::string& key) {
  std::lock_guard lock(mu_);
  auto it = index_.find(key);
  if (it == index_.end()) return;
  by_age_.erase(it->second);
  index_.erase(it);
}

size_t LoginThrottle::size() {
  std::lock_guard lock(mu_);
  return index_.size();
}

}  // namespace berth::auth
