// A deliberately small HTTP/1.1 client for the load generator: one epoll thread, non-blocking keep-alive
// connections, requests as pre-built header bytes plus up to two body pieces taken from caller-owned
// memory (never copied), and a minimal response parser (status, Content-Length, chunked, the few headers
// the registry API needs). Scenario code is written as C++20 coroutines: `co_await conn.roundtrip(req)`.
//
// Not a general client: no TLS, no redirects, no pipelining, no 1xx handling (we never send Expect).
#pragma once

#include <openssl/evp.h>

#include <coroutine>
#include <cstdint>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

namespace bench {

uint64_t now_ns();  // CLOCK_MONOTONIC

// Fire-and-forget coroutine: starts at once, frees itself when it ends. Liveness is tracked by the Loop.
struct Task {
  struct promise_type {
    Task get_return_object() { return {}; }
    std::suspend_never initial_suspend() noexcept { return {}; }
    std::suspend_never final_suspend() noexcept { return {}; }
    void return_void() {}
    void unhandled_exception() { std::terminate(); }
  };
};

struct Request {
  std::string head;                 // request line + headers + CRLF CRLF
  const char* body1 = nullptr;      // body pieces, sent in order right after the head
  size_t body1_len = 0;
  const char* body2 = nullptr;
  size_t body2_len = 0;
  bool is_head = false;             // HEAD: the response has no body whatever its Content-Length
  bool hash_body = false;           // sha256 of the response body into Response::sha256
  bool keep_body = true;            // keep the response body in Response::body
};

struct Response {
  bool ok = false;                  // a whole response was received
  std::string error;                // transport error when !ok
  int status = 0;
  uint64_t body_bytes = 0;
  std::string body;                 // when Request::keep_body
  unsigned char sha256[32] = {};    // when Request::hash_body
  std::string location, link, docker_content_digest, content_type;
  int64_t content_length = -1;
};

class Conn;

class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;

  // Runs until every worker registered with worker_started() has called worker_done().
  void run();
  void worker_started() { ++workers_; }
  void worker_done() { --workers_; }

 private:
  friend class Conn;
  void attach(int fd, Conn* c);
  void detach(int fd);
  int ep_ = -1;
  int workers_ = 0;
  std::vector<Conn*> by_fd_;
};

class Conn {
 public:
  Conn(Loop& loop, std::string host, uint16_t port, uint64_t timeout_ns = 300ull * 1000000000ull);
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  struct RoundTrip {
    Conn& c;
    const Request& req;
    Response res;
    bool await_ready() { return false; }
    bool await_suspend(std::coroutine_handle<> h) { return !c.start(req, &res, h); }
    Response await_resume() { return std::move(res); }
  };
  // Sends the request (reconnecting if needed, retrying once if a reused connection turns out closed)
  // and completes with the whole response.
  RoundTrip roundtrip(const Request& req) { return RoundTrip{*this, req, {}}; }

  // Called by the loop.
  void on_event();
  void check_timeout(uint64_t now);

 private:
  enum class Phase { idle, writing, reading };
  enum class BodyMode { none, length, chunked, until_close };
  enum class ChunkState { size, data, data_crlf, trailer };

  bool start(const Request& req, Response* res, std::coroutine_handle<> h);  // true: completed synchronously
  bool connect_now(std::string& err);
  void close_fd();
  bool progress();            // advance writing/reading; true when the response completed (or failed)
  bool do_write();            // false on error
  int do_read();              // 1 complete, 0 need more, -1 error
  bool parse_head(size_t& consumed);
  bool feed_body(const char* p, size_t n, size_t& used);
  void body_bytes(const char* p, size_t n);
  void finish_ok();
  bool fail(const std::string& err);  // may retry; true if the op ended (failed)
  void reset_parser();

  Loop& loop_;
  std::string host_;
  uint16_t port_;
  uint64_t timeout_ns_;
  int fd_ = -1;
  bool reused_ = false;
  bool retried_ = false;
  bool got_bytes_ = false;
  bool write_broken_ = false;
  std::string read_error_;

  Phase phase_ = Phase::idle;
  const Request* req_ = nullptr;
  Response* res_ = nullptr;
  std::coroutine_handle<> waiter_;
  uint64_t deadline_ = 0;

  size_t sent_ = 0;           // bytes of head+body1+body2 sent
  std::vector<char> buf_;
  size_t buf_len_ = 0;
  bool head_done_ = false;
  BodyMode mode_ = BodyMode::none;
  uint64_t remaining_ = 0;
  ChunkState chunk_state_ = ChunkState::size;
  bool close_after_ = false;
  EVP_MD_CTX* md_ = nullptr;
};

// Hex of a 32-byte digest.
std::string hex32(const unsigned char* d);

}  // namespace bench
