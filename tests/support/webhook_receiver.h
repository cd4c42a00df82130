// A webhook receiver for the tests: a plain HTTP/1.1 server on 127.0.0.1 (its own thread) that records
// every request it gets and answers each with the next status of a script (then 200), so a test can make
// the first deliveries fail.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace berth::test {

struct ReceivedRequest {
  std::string method;
  std::string target;
  std::map<std::string, std::string> headers;  // names lowercased
  std::string body;
  int answered = 0;
};

class WebhookReceiver {
 public:
  WebhookReceiver();  // listens on an ephemeral loopback port
  ~WebhookReceiver();
  WebhookReceiver(const WebhookReceiver&) = delete;
  WebhookReceiver& operator=(const WebhookReceiver&) = delete;

  std::string url(const std::string& path = "/hook") const;
  // The statuses to answer the next requests with, in order; afterwards 200.
  void script(std::vector<int> statuses);
  std::vector<ReceivedRequest> received() const;
  // Waits until at least `count` requests arrived (false on timeout).
  bool wait_for(size_t count, std::chrono::milliseconds timeout) const;

 private:
  void serve();
  void handle(int fd);

  int listener_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  mutable std::mutex mu_;
  std::deque<int> script_;
  std::vector<ReceivedRequest> received_;
  std::thread thread_;
};

// "sha256=<hex>" HMAC-SHA256 of `body` under `secret` (OpenSSL, independent of the server's code).
std::string hub_signature(const std::string& secret, const std::string& body);

}  // namespace berth::test
