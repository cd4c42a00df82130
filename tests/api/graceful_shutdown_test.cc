// SIGTERM: the listener closes at once, a request in flight still finishes (here an upload whose body
// is half sent when the signal arrives), then the process exits 0, and the bytes are kept.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "support/api_helpers.h"
#include "support/registry_process.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

std::string read_until_close(int fd) {
  std::string out;
  char buf[4096];
  timeval tv{10, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

TEST(GracefulShutdown, RequestInFlightFinishesAndNewConnectionsAreRefused) {
  RegistryProcess server;
  if (server.external()) GTEST_SKIP() << "needs a server started by the test";
  auto http = server.client();
  auto started = http.request("POST", "/v2/" + unique_repo("sigterm") + "/blobs/uploads/");
  ASSERT_EQ(started.status, 202) << started.describe();
  const std::string location = started.header("Location");
  const std::string body = random_bytes(2'000'000);

  int fd = connect_loopback(server.port());
  ASSERT_GE(fd, 0);
  std::string head = "PATCH " + location + " HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     "Content-Type: application/octet-stream\r\nContent-Length: " + std::to_string(body.size()) +
                     "\r\n\r\n";
  ASSERT_TRUE(send_all(fd, head + body.substr(0, body.size() / 2)));
  // In flight: the server is appending to the upload for this PATCH.
  ASSERT_TRUE(eventually([&] { return uploads_in_progress(http) == 1; }))
      << "the PATCH never started\n" << server.log();

  ASSERT_EQ(::kill(server.pid(), SIGTERM), 0);
  // The listener closes: from then on new connections are refused.
  EXPECT_TRUE(eventually([&] {
    int late = connect_loopback(server.port());
    if (late < 0) return true;
    ::close(late);
    return false;
  })) << "new connections were still accepted 10 s after SIGTERM";

  ASSERT_TRUE(send_all(fd, std::string_view(body).substr(body.size() / 2)));
  std::string response = read_until_close(fd);
  ::close(fd);
  EXPECT_EQ(response.rfind("HTTP/1.1 202", 0), 0u) << response;
  EXPECT_NE(response.find("Range: 0-1999999"), std::string::npos) << response;
  EXPECT_NE(response.find("Connection: close"), std::string::npos) << response;

  int status = server.stop();
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status << "\n" << server.log();
  EXPECT_EQ(WEXITSTATUS(status), 0) << server.log();

  // The bytes received before and after the signal were kept.
  server.start();
  auto after = server.client().get(location);
  EXPECT_EQ(after.status, 204) << after.describe();
  EXPECT_EQ(after.header("Range"), "0-1999999");
}

}  // namespace
}  // namespace berth::test
