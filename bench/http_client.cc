#include "http_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace bench {

namespace {
constexpr size_t kBufSize = 256 * 1024;

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = char(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = char(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

const char* find_crlf(const char* p, size_t n) {
  for (size_t i = 0; i + 1 < n; ++i) {
    const char* c = static_cast<const char*>(memchr(p + i, '\r', n - 1 - i));
    if (!c) return nullptr;
    if (c[1] == '\n') return c;
    i = size_t(c - p);
  }
  return nullptr;
}
}  // namespace

uint64_t now_ns() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000000000ull + uint64_t(ts.tv_nsec);
}

std::string hex32(const unsigned char* d) {
  static const char* k = "0123456789abcdef";
  std::string s(64, '0');
  for (int i = 0; i < 32; ++i) {
    s[2 * i] = k[d[i] >> 4];
    s[2 * i + 1] = k[d[i] & 15];
  }
  return s;
}

// ---------------------------------------------------------------------------------------------- Loop

Loop::Loop() {
  ep_ = epoll_create1(EPOLL_CLOEXEC);
  if (ep_ < 0) throw std::runtime_error("epoll_create1 failed");
}

Loop::~Loop() { ::close(ep_); }

void Loop::attach(int fd, Conn* c) {
  if (size_t(fd) >= by_fd_.size()) by_fd_.resize(size_t(fd) + 64, nullptr);
  by_fd_[size_t(fd)] = c;
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  ev.data.fd = fd;
  epoll_ctl(ep_, EPOLL_CTL_ADD, fd, &ev);
}

void Loop::detach(int fd) {
  epoll_ctl(ep_, EPOLL_CTL_DEL, fd, nullptr);
  if (size_t(fd) < by_fd_.size()) by_fd_[size_t(fd)] = nullptr;
}

void Loop::run() {
  epoll_event evs[256];
  uint64_t last_scan = now_ns();
  while (workers_ > 0) {
    int n = epoll_wait(ep_, evs, 256, 50);
    for (int i = 0; i < n; ++i) {
      int fd = evs[i].data.fd;
      // A connection closed while handling an earlier event of this batch has been detached: skip it.
      // If its fd number was reused meanwhile, the new connection gets a harmless spurious wake-up.
      if (size_t(fd) < by_fd_.size() && by_fd_[size_t(fd)]) by_fd_[size_t(fd)]->on_event();
    }
    uint64_t now = now_ns();
    if (now - last_scan > 100000000ull) {
      last_scan = now;
      for (size_t fd = 0; fd < by_fd_.size(); ++fd) {
        if (by_fd_[fd]) by_fd_[fd]->check_timeout(now);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------- Conn

Conn::Conn(Loop& loop, std::string host, uint16_t port, uint64_t timeout_ns)
    : loop_(loop), host_(std::move(host)), port_(port), timeout_ns_(timeout_ns), buf_(kBufSize) {
  md_ = EVP_MD_CTX_new();
}

Conn::~Conn() {
  close_fd();
  EVP_MD_CTX_free(md_);
}

void Conn::close_fd() {
  if (fd_ >= 0) {
    loop_.detach(fd_);
    ::close(fd_);
    fd_ = -1;
  }
}

bool Conn::connect_now(std::string& err) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    err = std::string("socket: ") + strerror(errno);
    return false;
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port_);
  if (inet_pton(AF_INET, host_.c_str(), &addr.sin_addr) != 1) {
    ::close(fd);
    err = "bad IPv4 address " + host_;
    return false;
  }
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    err = std::string("connect: ") + strerror(errno);
    ::close(fd);
    return false;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  fd_ = fd;
  reused_ = false;
  loop_.attach(fd_, this);
  return true;
}

void Conn::reset_parser() {
  buf_len_ = 0;
  head_done_ = false;
  mode_ = BodyMode::none;
  remaining_ = 0;
  chunk_state_ = ChunkState::size;
  close_after_ = false;
  got_bytes_ = false;
  write_broken_ = false;
  sent_ = 0;
}

bool Conn::start(const Request& req, Response* res, std::coroutine_handle<> h) {
  req_ = &req;
  res_ = res;
  waiter_ = h;
  retried_ = false;
  deadline_ = now_ns() + timeout_ns_;
  *res_ = Response{};
  reset_parser();
  if (req.hash_body) EVP_DigestInit_ex(md_, EVP_sha256(), nullptr);
  if (fd_ < 0) {
    std::string err;
    if (!connect_now(err)) {
      res_->error = err;
      phase_ = Phase::idle;
      return true;
    }
  }
  phase_ = Phase::writing;
  return progress();
}

void Conn::on_event() {
  if (phase_ == Phase::idle) return;
  if (progress()) {
    auto h = waiter_;
    waiter_ = {};
    h.resume();  // may destroy *this
  }
}

void Conn::check_timeout(uint64_t now) {
  if (phase_ == Phase::idle || now < deadline_) return;
  retried_ = true;  // no retry after a timeout
  fail("timeout");
  auto h = waiter_;
  waiter_ = {};
  h.resume();
}

bool Conn::fail(const std::string& err) {
  close_fd();
  if (reused_ && !got_bytes_ && !retried_) {
    // The server closed an idle keep-alive connection under us: send again on a fresh one.
    retried_ = true;
    *res_ = Response{};
    reset_parser();
    if (req_->hash_body) EVP_DigestInit_ex(md_, EVP_sha256(), nullptr);
    std::string cerr;
    if (connect_now(cerr)) {
      phase_ = Phase::writing;
      return progress();
    }
    res_->error = cerr;
    phase_ = Phase::idle;
    return true;
  }
  res_->ok = false;
  res_->error = err;
  phase_ = Phase::idle;
  return true;
}

bool Conn::progress() {
  if (phase_ == Phase::writing) {
    if (!do_write()) return fail(std::string("write: ") + strerror(errno));
    if (phase_ == Phase::writing) return false;
    // The request is out and the answer cannot be there yet: wait for EPOLLIN (edge-triggered, so the
    // arrival of the response raises it) instead of a recv() that would almost always say EAGAIN.
    if (!write_broken_) return false;
  }
  if (phase_ == Phase::reading) {
    int r = do_read();
    if (r < 0) return fail(read_error_);
    if (r == 0) return false;
    return true;
  }
  return phase_ == Phase::idle;
}

bool Conn::do_write() {
  const Request& r = *req_;
  const size_t total = r.head.size() + r.body1_len + r.body2_len;
  while (sent_ < total) {
    iovec iov[3];
    int cnt = 0;
    size_t off = sent_;
    auto add = [&](const char* p, size_t n) {
      if (off >= n) {
        off -= n;
        return;
      }
      iov[cnt].iov_base = const_cast<char*>(p + off);
      iov[cnt].iov_len = n - off;
      ++cnt;
      off = 0;
    };
    add(r.head.data(), r.head.size());
    if (r.body1_len) add(r.body1, r.body1_len);
    if (r.body2_len) add(r.body2, r.body2_len);
    ssize_t n = ::writev(fd_, iov, cnt);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
      if (errno == EINTR) continue;
      // The server may have answered early (e.g. an error before reading the body): read what it said.
      if (errno == EPIPE || errno == ECONNRESET) {
        write_broken_ = true;
        phase_ = Phase::reading;
        return true;
      }
      return false;
    }
    sent_ += size_t(n);
  }
  phase_ = Phase::reading;
  return true;
}

void Conn::body_bytes(const char* p, size_t n) {
  res_->body_bytes += n;
  if (req_->hash_body) EVP_DigestUpdate(md_, p, n);
  if (req_->keep_body) res_->body.append(p, n);
}

void Conn::finish_ok() {
  res_->ok = true;
  if (req_->hash_body) EVP_DigestFinal_ex(md_, res_->sha256, nullptr);
  phase_ = Phase::idle;
  reused_ = true;
  if (close_after_) close_fd();
}

bool Conn::parse_head(size_t& consumed) {
  const char* b = buf_.data();
  std::string_view all(b, buf_len_);
  size_t end = all.find("\r\n\r\n");
  if (end == std::string_view::npos) return false;
  consumed = end + 4;
  std::string_view head = all.substr(0, end + 2);
  size_t eol = head.find("\r\n");
  std::string_view status_line = head.substr(0, eol);
  if (status_line.size() < 12 || status_line.substr(0, 5) != "HTTP/") {
    res_->status = -1;
    return true;
  }
  res_->status = (status_line[9] - '0') * 100 + (status_line[10] - '0') * 10 + (status_line[11] - '0');
  if (status_line.substr(5, 3) == "1.0") close_after_ = true;
  bool chunked = false;
  size_t pos = eol + 2;
  while (pos < head.size()) {
    size_t e = head.find("\r\n", pos);
    std::string_view line = head.substr(pos, e - pos);
    pos = e + 2;
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    std::string_view value = trim(line.substr(colon + 1));
    switch (name.size()) {
      case 14:
        if (iequals(name, "content-length")) {
          int64_t v = 0;
          for (char c : value) v = v * 10 + (c - '0');
          res_->content_length = v;
        }
        break;
      case 17:
        if (iequals(name, "transfer-encoding")) chunked = value.find("chunked") != std::string_view::npos;
        break;
      case 10:
        if (iequals(name, "connection") && iequals(value, "close")) close_after_ = true;
        break;
      case 8:
        if (iequals(name, "location")) res_->location = std::string(value);
        break;
      case 4:
        if (iequals(name, "link") && res_->link.empty()) res_->link = std::string(value);
        break;
      case 21:
        if (iequals(name, "docker-content-digest")) res_->docker_content_digest = std::string(value);
        break;
      case 12:
        if (iequals(name, "content-type")) res_->content_type = std::string(value);
        break;
      default:
        break;
    }
  }
  const int st = res_->status;
  if (req_->is_head || (st >= 100 && st < 200) || st == 204 || st == 304) {
    mode_ = BodyMode::none;
  } else if (chunked) {
    mode_ = BodyMode::chunked;
    chunk_state_ = ChunkState::size;
  } else if (res_->content_length >= 0) {
    mode_ = res_->content_length == 0 ? BodyMode::none : BodyMode::length;
    remaining_ = uint64_t(res_->content_length);
  } else {
    mode_ = BodyMode::until_close;
    close_after_ = true;
  }
  return true;
}

// Consumes body bytes; `used` says how many. Returns true when the body is complete.
bool Conn::feed_body(const char* p, size_t n, size_t& used) {
  used = 0;
  switch (mode_) {
    case BodyMode::none:
      return true;
    case BodyMode::until_close:
      body_bytes(p, n);
      used = n;
      return false;
    case BodyMode::length: {
      size_t take = size_t(std::min<uint64_t>(remaining_, n));
      body_bytes(p, take);
      used = take;
      remaining_ -= take;
      return remaining_ == 0;
    }
    case BodyMode::chunked:
      while (used < n) {
        const char* q = p + used;
        size_t avail = n - used;
        switch (chunk_state_) {
          case ChunkState::size: {
            const char* e = find_crlf(q, avail);
            if (!e) return false;
            uint64_t v = 0;
            for (const char* c = q; c < e; ++c) {
              char ch = *c;
              int d = ch >= '0' && ch <= '9' ? ch - '0' : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                                                         : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10 : -1;
              if (d < 0) break;
              v = v * 16 + uint64_t(d);
            }
            used += size_t(e - q) + 2;
            if (v == 0) {
              chunk_state_ = ChunkState::trailer;
            } else {
              remaining_ = v;
              chunk_state_ = ChunkState::data;
            }
            break;
          }
          case ChunkState::data: {
            size_t take = size_t(std::min<uint64_t>(remaining_, avail));
            body_bytes(q, take);
            used += take;
            remaining_ -= take;
            if (remaining_ == 0) chunk_state_ = ChunkState::data_crlf;
            break;
          }
          case ChunkState::data_crlf:
            if (avail < 2) return false;
            used += 2;
            chunk_state_ = ChunkState::size;
            break;
          case ChunkState::trailer: {
            const char* e = find_crlf(q, avail);
            if (!e) return false;
            used += size_t(e - q) + 2;
            if (e == q) return true;
            break;
          }
        }
      }
      return false;
  }
  return false;
}

int Conn::do_read() {
  for (;;) {
    if (buf_len_ == buf_.size()) {
      read_error_ = "response header too large";
      retried_ = true;
      return -1;
    }
    ssize_t n = ::recv(fd_, buf_.data() + buf_len_, buf_.size() - buf_len_, 0);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) return 0;
      if (errno == EINTR) continue;
      read_error_ = std::string("recv: ") + strerror(errno);
      return -1;
    }
    if (n == 0) {
      if (head_done_ && mode_ == BodyMode::until_close) {
        close_after_ = true;
        finish_ok();
        return 1;
      }
      read_error_ = got_bytes_ ? "connection closed mid-response" : "connection closed before a response";
      return -1;
    }
    got_bytes_ = true;
    buf_len_ += size_t(n);
    size_t start = 0;
    if (!head_done_) {
      size_t consumed = 0;
      if (!parse_head(consumed)) continue;  // need more header bytes
      if (res_->status < 0) {
        read_error_ = "malformed status line";
        retried_ = true;
        return -1;
      }
      head_done_ = true;
      start = consumed;
    }
    size_t used = 0;
    bool done = feed_body(buf_.data() + start, buf_len_ - start, used);
    size_t left = buf_len_ - start - used;
    if (left && !done) memmove(buf_.data(), buf_.data() + start + used, left);
    buf_len_ = done ? 0 : left;
    if (done) {
      finish_ok();
      return 1;
    }
  }
}

}  // namespace bench
