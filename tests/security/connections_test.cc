// Connection exhaustion (security review, finding 2): silent connections — TCP opened, nothing sent —
// must not lock everyone out. A new connection has the header timeout to send its first request; at the
// connection cap a silent one is closed to make room, so /healthz and established keep-alive traffic go
// on; the open-file soft limit is raised to the hard limit at start.
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/http_client.h"
#include "support/registry_process.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

// Sends a keep-alive GET /healthz and reads its answer (within `timeout`): the status, 0 if none.
int healthz_on(int fd, std::chrono::milliseconds timeout) {
  const std::string req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  if (::write(fd, req.data(), req.size()) != static_cast<ssize_t>(req.size())) return 0;
  std::string got;
  char buf[1024];
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0) continue;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n <= 0) return 0;
    got.append(buf, static_cast<size_t>(n));
    if (got.find("\r\n\r\n") != std::string::npos && got.find("\"ok\"") != std::string::npos) break;
  }
  return got.starts_with("HTTP/1.1 ") ? std::stoi(got.substr(9, 3)) : 0;
}

// True when the server closed the connection within `timeout` (a read returns 0 or fails).
bool closed_within(int fd, std::chrono::milliseconds timeout) {
  pollfd p{fd, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
  char c;
  return ::read(fd, &c, 1) <= 0;
}

// A server started with an open-file soft limit of `soft`, as a service manager might start it (it
// inherits ours while it starts); nullptr when the hard limit is too low to lower the soft one to that.
std::unique_ptr<RegistryProcess> start_with_soft_limit(rlim_t soft, std::map<std::string, std::string> env = {}) {
  rlimit saved{};
  if (::getrlimit(RLIMIT_NOFILE, &saved) != 0) return nullptr;
  if (saved.rlim_max != RLIM_INFINITY && saved.rlim_max <= soft) return nullptr;
  rlimit lowered = saved;
  lowered.rlim_cur = soft;
  if (::setrlimit(RLIMIT_NOFILE, &lowered) != 0) return nullptr;
  std::unique_ptr<RegistryProcess> server;
  try {
    server = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = std::move(env)});
  } catch (...) {
    ::setrlimit(RLIMIT_NOFILE, &saved);
    throw;
  }
  ::setrlimit(RLIMIT_NOFILE, &saved);
  return server;
}

TEST(Connections, SilentConnectionsNeitherLockOutNewClientsNorEstablishedOnes) {
  // More silent connections than the soft limit has descriptors: the limit is raised, and the cap
  // closes silent connections to make room.
  auto started = start_with_soft_limit(256, {{"BERTH_HTTP_MAX_CONNECTIONS", "40"}});
  if (!started) GTEST_SKIP() << "the open-file hard limit is too low to tell";
  RegistryProcess& server = *started;
  if (server.external()) GTEST_SKIP() << "needs a server started by the test";
  int established = connect_loopback(server.port());
  ASSERT_GE(established, 0);
  ASSERT_EQ(healthz_on(established, 2s), 200);

  std::vector<int> silent;
  for (int i = 0; i < 300; ++i) {
    int fd = connect_loopback(server.port());
    if (fd >= 0) silent.push_back(fd);
  }
  ASSERT_GT(silent.size(), 260u);
  int fresh = connect_loopback(server.port());
  ASSERT_GE(fresh, 0);
  EXPECT_EQ(healthz_on(fresh, 2s), 200) << "a new client was locked out by silent connections";
  EXPECT_EQ(healthz_on(established, 2s), 200) << "an established keep-alive connection was dropped";
  ::close(fresh);
  ::close(established);
  for (int fd : silent) ::close(fd);
}

TEST(Connections, ANewConnectionHasTheHeaderTimeoutToSendItsFirstRequest) {
  RegistryProcess server(RegistryProcess::Options{.env = {{"BERTH_HTTP_HEADER_TIMEOUT_SECONDS", "1"}}});
  if (server.external()) GTEST_SKIP() << "needs a server started by the test";
  int fd = connect_loopback(server.port());
  ASSERT_GE(fd, 0);
  EXPECT_TRUE(closed_within(fd, 4s)) << "a silent connection outlived the 1 s header timeout";
  ::close(fd);
  // A served connection idles on the (longer) idle timeout.
  int served = connect_loopback(server.port());
  ASSERT_EQ(healthz_on(served, 2s), 200);
  EXPECT_FALSE(closed_within(served, 2s)) << "a kept-alive connection was closed by the header timeout";
  ::close(served);
}

TEST(Connections, TheOpenFileSoftLimitIsRaisedToTheHardLimit) {
  auto started = start_with_soft_limit(512);
  if (!started) GTEST_SKIP() << "the open-file hard limit is too low to tell";
  RegistryProcess& server = *started;
  if (server.external()) GTEST_SKIP() << "needs a server started by the test";
  std::ifstream limits("/proc/" + std::to_string(server.pid()) + "/limits");
  std::string line;
  bool found = false;
  while (std::getline(limits, line)) {
    if (!line.starts_with("Max open files")) continue;
    std::istringstream fields(line.substr(std::string("Max open files").size()));
    std::string soft, hard;
    fields >> soft >> hard;
    EXPECT_EQ(soft, hard) << line;
    found = true;
  }
  EXPECT_TRUE(found);
}

// The server's resident memory now (VmRSS), in KiB.
long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.starts_with("VmRSS:")) return std::stol(line.substr(6));
  }
  return -1;
}

TEST(Connections, UnwantedBodiesAreDrainedNotBuffered) {
  // Finding 3: anonymous POST /v2/ (answered 401 without reading the body) announcing 1 MiB and
  // stopping a byte short, on 150 connections: the old server kept each body in memory.
  RegistryProcess server(RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}});
  if (server.external()) GTEST_SKIP() << "needs a server started by the test";
  constexpr size_t kBody = 1024 * 1024;
  const long before = rss_kib(server.pid());
  const std::string head = "POST /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: " + std::to_string(kBody) + "\r\n\r\n";
  const std::string body(kBody - 1, 'x');
  std::vector<int> held;
  for (int i = 0; i < 150; ++i) {
    int fd = connect_loopback(server.port());
    ASSERT_GE(fd, 0);
    ASSERT_EQ(::write(fd, head.data(), head.size()), static_cast<ssize_t>(head.size()));
    size_t sent = 0;
    while (sent < body.size()) {
      ssize_t n = ::write(fd, body.data() + sent, body.size() - sent);
      if (n <= 0) break;
      sent += static_cast<size_t>(n);
    }
    held.push_back(fd);
  }
  std::this_thread::sleep_for(500ms);  // let the server read what was sent
  const long after = rss_kib(server.pid());
  RecordProperty("rss_growth_kib", static_cast<int>(after - before));
  EXPECT_LT(after - before, 40 * 1024) << "RSS grew from " << before << " to " << after
                                       << " KiB: the unwanted bodies were buffered";
  int fresh = connect_loopback(server.port());
  EXPECT_EQ(healthz_on(fresh, 2s), 200);
  ::close(fresh);
  for (int fd : held) ::close(fd);
}

}  // namespace
}  // namespace berth::test
