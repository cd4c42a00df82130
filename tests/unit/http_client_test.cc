// http/client.h against servers made of raw sockets on loopback: a body kept or streamed, a peer that
// accepts and never answers stopped by the deadline, and URLs it refuses.
#include "http/client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <thread>

namespace berth::http {
namespace {

// One connection: reads the request head, then sends `answer` (nothing when empty) and holds the
// connection for `hold` before closing.
class OneShotServer {
 public:
  OneShotServer(std::string answer, std::chrono::milliseconds hold) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    ::listen(fd_, 1);
    socklen_t len = sizeof addr;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this, answer = std::move(answer), hold] {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      std::string head;
      char buf[4096];
      while (head.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        head.append(buf, static_cast<size_t>(n));
      }
      request_ = head;
      if (!answer.empty()) (void)::write(c, answer.data(), answer.size());
      std::this_thread::sleep_for(hold);
      ::close(c);
    });
  }
  ~OneShotServer() {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
  }
  std::string url(const std::string& path) const { return "http://127.0.0.1:" + std::to_string(port_) + path; }
  const std::string& request() const { return request_; }

 private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string request_;
};

TEST(HttpClient, KeepsABodyAndSendsTheHeadersGiven) {
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-Thing: yes\r\n\r\nhello", std::chrono::milliseconds(0));
  auto r = fetch(ClientRequest{"GET", server.url("/a?b=c"), {{"Accept", "text/plain"}}, {}, 5, {}});
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, "hello");
  EXPECT_EQ(r->header("x-thing").value_or(""), "yes");
  EXPECT_NE(server.request().find("GET /a?b=c HTTP/1.1"), std::string::npos) << server.request();
  EXPECT_NE(server.request().find("Accept: text/plain"), std::string::npos) << server.request();
}

TEST(HttpClient, StreamsA2xxBodyToTheSinkInPieces) {
  const std::string body(1 << 20, 'x');
  OneShotServer server("HTTP/1.1 200 OK\r\nContent-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body,
                       std::chrono::milliseconds(0));
  std::string received;
  auto r = fetch(ClientRequest{"GET", server.url("/blob"), {}, {}, 5, {}}, [&](const char* data, size_t size) {
    received.append(data, size);
    return Status::Ok();
  });
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->body.empty());
  EXPECT_EQ(received.size(), body.size());
  EXPECT_TRUE(received == body);
}

TEST(HttpClient, APeerThatNeverAnswersIsGivenUpOnAtTheDeadline) {
  OneShotServer server("", std::chrono::milliseconds(4000));
  const auto start = std::chrono::steady_clock::now();
  auto r = fetch(ClientRequest{"POST", server.url("/hook"), {}, "{}", 1, {}});
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_FALSE(r.ok());
  EXPECT_LT(took, std::chrono::milliseconds(3000)) << "the deadline did not hold";
}

TEST(HttpClient, RefusesWhatIsNoHttpUrl) {
  for (const char* url : {"ftp://example.com/", "http://", "http://user@example.com/", "example.com/x"}) {
    auto r = fetch(ClientRequest{"GET", url, {}, {}, 1, {}});
    EXPECT_FALSE(r.ok()) << url;
  }
}

}  // namespace
}  // namespace berth::http
