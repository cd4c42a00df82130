// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "http/server.h"

#include <sys/sendfile.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <chrono>
#include <limits>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace berth::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;
using boost::system::error_code;

namespace {

constexpr size_t kStreamChunk = 256 * 1024;          // request body chunk handed to a BodySink
constexpr size_t kSendfileChunk = 8 * 1024 * 1024;   // one sendfile call
constexpr size_t kCopyChunk = 256 * 1024;            // response body chunk on TLS / streamed sources
constexpr uint64_t kDiscardLimit = 1024 * 1024;      // unread bodies up to this are drained, not fatal

// What the shutdown code may do to a session: close it if it is idle between requests.
struct SessionControl {
  asio::any_io_executor executor;
  // Written on the session's own thread; read by the accept loop to choose a connection to close.
  std::atomic<bool> idle{true};
  std::atomic<bool> served{false};  // has answered a request (an idle one never has: likely an attack)
  bool alive = true;   // touched only on the session's own thread
  std::function<void()> close;
};

}  // namespace

struct Server::Impl {
  ServerOptions opt;
  Handler& handler;
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  asio::thread_pool blocking;
  std::unique_ptr<tcp::acceptor> acceptor;
  std::unique_ptr<asio::ssl::context> tls;
  std::unique_ptr<asio::signal_set> signals;
  std::unique_ptr<asio::steady_timer> watchdog;
  std::atomic<bool> stopping{false};
  std::atomic<int> sessions{0};
  std::mutex controls_mu;
  std::set<std::shared_ptr<SessionControl>> controls;
  uint16_t bound_port = 0;

  Impl(ServerOptions o, Handler& h) : opt(std::move(o)), handler(h), blocking(o.blocking_threads ? o.blocking_threads : 4) {
    unsigned n = opt.io_threads ? opt.io_threads : std::max(1u, std::thread::hardware_concurrency());
    for (unsigned i = 0; i < n; ++i) {
      contexts.push_back(std::make_unique<asio::io_context>(1));
      guards.emplace_back(contexts.back()->get_executor());
    }
  }

  // Runs *job on the blocking pool and resumes the coroutine on its own executor afterwards.
  // Takes a pointer to a caller-owned job: g++ 12 may destroy a non-trivial temporary inside a co_await
  // expression twice, so nothing with a destructor is created there.
  awaitable<void> run_blocking(const std::function<void()>* job) {
    co_await asio::async_initiate<decltype(use_awaitable), void()>(
        [this, job](auto handler) {
          asio::post(blocking, [handler = std::move(handler), job]() mutable {
            (*job)();
            auto ex = asio::get_associated_executor(handler);
            asio::post(ex, std::move(handler));
          });
        },
        use_awaitable);
  }

  Response call_safely(const std::function<Response()>& fn) {
    try {
      return fn();
    } catch (const std::exception& e) {
      Response r = Response::json(500, R"({"errors":[{"code":"UNKNOWN","message":"internal error"}]})");
      return r;
    }
  }

  // Waits until the socket is writable or the idle timeout passes. False on timeout or error.
  awaitable<bool> wait_writable(tcp::socket& socket) {
    asio::steady_timer timer(socket.get_executor());
    timer.expires_after(opt.idle_timeout);
    timer.async_wait([&socket](error_code ec) {
      if (!ec) socket.cancel();
    });
    error_code ec;
    co_await socket.async_wait(tcp::socket::wait_write, asio::redirect_error(use_awaitable, ec));
    timer.cancel();
    co_return !ec;
  }

  template <class Stream>
  awaitable<bool> write_response(Stream& stream, const Request& req, Response& r, bool keep_alive, bool plain,
                                 uint64_t& bytes_out) {
    error_code ec;
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(opt.idle_timeout);
    const bool head = req.method == "HEAD";
    const bool has_stream_body = r.file_fd >= 0 || r.source != nullptr;

    if (!head && !has_stream_body) {
      bhttp::response<bhttp::string_body> res{static_cast<bhttp::status>(r.status), 11};
      for (auto& [name, value] : r.headers.fields()) res.insert(name, value);
      res.keep_alive(keep_alive);
      res.body() = std::move(r.body);
      res.prepare_payload();
      bytes_out += res.body().size();
      co_await bhttp::async_write(stream, res, asio::redirect_error(use_awaitable, ec));
      co_return !ec;
    }

    bhttp::response<bhttp::empty_body> res{static_cast<bhttp::status>(r.status), 11};
    for (auto& [name, value] : r.headers.fields()) res.insert(name, value);
    res.keep_alive(keep_alive);
    uint64_t length = has_stream_body ? r.file_length : r.body.size();
    if (r.head_content_length) length = *r.head_content_length;
    if (r.status != 204 && r.status != 304) res.content_length(length);
    bhttp::response_serializer<bhttp::empty_body> sr{res};
    co_await bhttp::async_write_header(stream, sr, asio::redirect_error(use_awaitable, ec));
    if (ec) co_return false;
    if (head || !has_stream_body) co_return true;

    if (plain && r.file_fd >= 0) {
      // Zero copy: the kernel moves the file's pages to the socket.
      tcp::socket& socket = lowest.socket();
      socket.native_non_blocking(true, ec);
      if (ec) co_return false;
      off_t offset = static_cast<off_t>(r.file_offset);
      uint64_t left = r.file_length;
      while (left > 0) {
        ssize_t n = ::sendfile(socket.native_handle(), r.file_fd, &offset, std::min<uint64_t>(left, kSendfileChunk));
        if (n > 0) {
          left -= static_cast<uint64_t>(n);
          bytes_out += static_cast<uint64_t>(n);
          continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
          if (!co_await wait_writable(socket)) co_return false;
          continue;
        }
        co_return false;  // error, or the file is shorter than announced
      }
      co_return true;
    }

    // TLS, or a streamed source: copy through a bounded buffer.
    std::unique_ptr<char[]> buffer(new char[kCopyChunk]);
    uint64_t left = r.file_length;
    uint64_t offset = r.file_offset;
    while (left > 0) {
      long n;
      if (r.file_fd >= 0) {
        n = ::pread(r.file_fd, buffer.get(), std::min<uint64_t>(left, kCopyChunk), static_cast<off_t>(offset));
        if (n < 0 && errno == EINTR) continue;
      } else {
        n = r.source->read(buffer.get(), std::min<uint64_t>(left, kCopyChunk));
      }
      if (n <= 0) co_return false;
      offset += static_cast<uint64_t>(n);
      left -= static_cast<uint64_t>(n);
      lowest.expires_after(opt.idle_timeout);
      co_await asio::async_write(stream, asio::buffer(buffer.get(), static_cast<size_t>(n)),
                                 asio::redirect_error(use_awaitable, ec));
      if (ec) co_return false;
      bytes_out += static_cast<uint64_t>(n);
    }
    co_return true;
  }

  using HeaderParser = bhttp::request_parser<bhttp::empty_body>;

  // One request on a connection, as the body-handling steps below leave it.
  struct Exchange {
    Request req;
    Response response;
    uint64_t bytes_in = 0;
    bool keep_alive = true;
    bool connection_ok = true;  // false: the connection is unusable, close it without answering
    bool expect_continue = false;
  };

  static void fill_request(HeaderParser& hp, const std::string& remote, Request& req) {
    auto& h = hp.get();
    req.method = std::string(h.method_string());
    req.target = std::string(h.target());
    auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) req.query = req.target.substr(q + 1);
    for (auto& f : h) req.headers.add(std::string(f.name_string()), std::string(f.value()));
    req.remote_address = remote;
    if (auto cl = hp.content_length()) req.content_length = *cl;
    req.has_body = (req.content_length && *req.content_length > 0) || hp.chunked();
  }

  // A header that could not be read: 431 if too large, 400 if malformed, nothing if the peer left.
  template <class Stream>
  awaitable<void> reject_header(Stream& stream, const error_code& ec, bool plain) {
    int status = 0;
    const char* body = nullptr;
    if (ec == bhttp::error::header_limit) {
      status = 431;
      body = R"({"errors":[{"code":"UNKNOWN","message":"request header too large"}]})";
    } else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
               ec != bhttp::error::end_of_stream) {
      status = 400;
      body = R"({"errors":[{"code":"UNKNOWN","message":"malformed HTTP request"}]})";
    }
    if (status == 0) co_return;
    Request dummy;
    Response r = Response::json(status, body);
    uint64_t out = 0;
    co_await write_response(stream, dummy, r, false, plain, out);
  }

  template <class Stream>
  awaitable<bool> send_continue(Stream& stream, const Exchange& x) {
    if (!x.expect_continue) co_return true;
    bhttp::response<bhttp::empty_body> cont{bhttp::status::continue_, 11};
    error_code ec;
    co_await bhttp::async_write(stream, cont, asio::redirect_error(use_awaitable, ec));
    co_return !ec;
  }

  // Dispatch::respond with a request body nobody wants: a small one is drained so that the connection
  // stays usable; a large one (or one the client waits to send) closes the connection after the answer.
  template <class Stream>
  awaitable<void> drain_unwanted_body(Stream& stream, beast::flat_buffer& buffer, HeaderParser& hp, Exchange& x) {
    if (x.expect_continue || !x.req.content_length || *x.req.content_length > kDiscardLimit) {
      x.keep_alive = false;
      co_return;
    }
    // Through a small buffer, kept by no one, within the header timeout: a client that announces a body
    // and sends it slowly, or stops short, holds neither memory nor the connection for long.
    bhttp::request_parser<bhttp::buffer_body> p(std::move(hp));
    p.body_limit(kDiscardLimit);
    std::array<char, 16 * 1024> discard;
    beast::get_lowest_layer(stream).expires_after(opt.header_timeout);
    while (!p.is_done()) {
      p.get().body().data = discard.data();
      p.get().body().size = discard.size();
      error_code ec;
      co_await bhttp::async_read(stream, buffer, p, asio::redirect_error(use_awaitable, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
      x.bytes_in += discard.size() - p.get().body().size;
      if (ec) {
        x.keep_alive = false;
        break;
      }
    }
  }

  // Dispatch::read_body: the whole (size-limited) body in memory, then the handler's on_body.
  template <class Stream>
  awaitable<void> read_then_answer(Stream& stream, beast::flat_buffer& buffer, HeaderParser& hp, Dispatch& d,
                                   Exchange& x) {
    if (x.req.content_length && *x.req.content_length > d.body_limit) {
      x.response = handler.payload_too_large(x.req);
      x.keep_alive = false;
      co_return;
    }
    if (!co_await send_continue(stream, x)) {
      x.connection_ok = false;
      co_return;
    }
    bhttp::request_parser<bhttp::string_body> p(std::move(hp));
    p.body_limit(d.body_limit);
    beast::get_lowest_layer(stream).expires_after(opt.idle_timeout);
    error_code ec;
    co_await bhttp::async_read(stream, buffer, p, asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::body_limit) {
      x.response = handler.payload_too_large(x.req);
      x.keep_alive = false;
      co_return;
    }
    if (ec) {
      x.connection_ok = false;
      co_return;
    }
    x.req.body = std::move(p.get().body());
    x.bytes_in = x.req.body.size();
    auto fn = std::move(d.on_body);
    if (d.blocking) {
      const std::function<void()> job = [&] { x.response = call_safely([&] { return fn(x.req); }); };
      co_await run_blocking(&job);
    } else {
      x.response = call_safely([&] { return fn(x.req); });
    }
  }

  // A Content-Length body bypasses the parser: what arrived with the header goes first, then the socket
  // is read straight into `chunk`, kStreamChunk bytes at a time. (Through the parser, Beast sizes each
  // read to the spare room of the header buffer: ~2 KiB reads, a syscall storm.) False if the body was
  // cut short; `refused` when the sink wanted no more.
  template <class Stream>
  awaitable<bool> copy_sized_body(Stream& stream, beast::flat_buffer& buffer, BodySink& sink, Exchange& x,
                                  char* chunk, bool& refused) {
    uint64_t left = *x.req.content_length;
    size_t early = static_cast<size_t>(std::min<uint64_t>(buffer.size(), left));
    if (early > 0) {
      x.bytes_in += early;
      refused = !sink.write(static_cast<const char*>(buffer.data().data()), early);
      buffer.consume(early);
      left -= early;
    }
    auto& lowest = beast::get_lowest_layer(stream);
    while (left > 0 && !refused) {
      lowest.expires_after(opt.idle_timeout);
      size_t want = static_cast<size_t>(std::min<uint64_t>(left, kStreamChunk));
      error_code ec;
      size_t n = co_await stream.async_read_some(asio::buffer(chunk, want), asio::redirect_error(use_awaitable, ec));
      if (n > 0) {
        x.bytes_in += n;
        left -= n;
        refused = !sink.write(chunk, n);
      }
      if (ec) co_return false;
    }
    co_return true;
  }

  // Chunked transfer encoding: the parser decodes it, with room enough for large reads.
  template <class Stream>
  awaitable<bool> copy_chunked_body(Stream& stream, beast::flat_buffer& buffer, HeaderParser& hp, BodySink& sink,
                                    Exchange& x, char* chunk, bool& refused) {
    buffer.reserve(kStreamChunk);
    bhttp::request_parser<bhttp::buffer_body> p(std::move(hp));
    p.body_limit(std::numeric_limits<std::uint64_t>::max());
    auto& lowest = beast::get_lowest_layer(stream);
    while (!p.is_done()) {
      p.get().body().data = chunk;
      p.get().body().size = kStreamChunk;
      lowest.expires_after(opt.idle_timeout);
      error_code ec;
      co_await bhttp::async_read(stream, buffer, p, asio::redirect_error(use_awaitable, ec));
      if (ec == bhttp::error::need_buffer) ec = {};
      size_t n = kStreamChunk - p.get().body().size;
      if (n > 0) {
        x.bytes_in += n;
        if (!sink.write(chunk, n)) {
          refused = true;
          co_return true;
        }
      }
      if (ec) co_return false;
    }
    co_return true;
  }

  // Dispatch::stream_body: the body goes to the handler's sink as it arrives; the sink's finish() (on the
  // blocking pool) makes the answer.
  template <class Stream>
  awaitable<void> stream_then_answer(Stream& stream, beast::flat_buffer& buffer, HeaderParser& hp, Dispatch& d,
                                     Exchange& x) {
    bool complete = co_await send_continue(stream, x);
    bool refused = false;
    if (complete && x.req.has_body) {
      std::unique_ptr<char[]> chunk(new char[kStreamChunk]);
      if (!hp.chunked() && x.req.content_length) {
        complete = co_await copy_sized_body(stream, buffer, *d.sink, x, chunk.get(), refused);
      } else {
        complete = co_await copy_chunked_body(stream, buffer, hp, *d.sink, x, chunk.get(), refused);
      }
    }
    if (!complete) x.connection_ok = false;
    if (refused) x.keep_alive = false;  // the rest of the body was not read
    bool ok = complete && !refused;
    auto* sink = d.sink.get();
    const std::function<void()> job = [&] { x.response = call_safely([&] { return sink->finish(ok); }); };
    co_await run_blocking(&job);
  }

  template <class Stream>
  awaitable<void> serve(Stream& stream, bool plain, const std::string& remote, const std::shared_ptr<SessionControl>& ctl) {
    // References are safe: the session awaits serve() and owns both for its whole run.
    beast::flat_buffer buffer;
    auto& lowest = beast::get_lowest_layer(stream);
    for (;;) {
      ctl->idle = true;
      if (stopping) break;
      error_code ec;
      HeaderParser hp;
      hp.header_limit(static_cast<std::uint32_t>(opt.header_limit));
      hp.body_limit(std::numeric_limits<std::uint64_t>::max());
      // A new connection has header_timeout to send its first request; a kept-alive one may idle longer.
      lowest.expires_after(ctl->served ? opt.idle_timeout : opt.header_timeout);
      co_await bhttp::async_read_header(stream, buffer, hp, asio::redirect_error(use_awaitable, ec));
      ctl->idle = false;
      if (ec) {
        co_await reject_header(stream, ec, plain);
        break;
      }
      auto started = std::chrono::steady_clock::now();

      Exchange x;
      fill_request(hp, remote, x.req);
      // A Transfer-Encoding whose last coding is not chunked leaves the body's end unknowable: read as
      // no body, the body would run as a second request (smuggling behind a forwarding proxy). RFC 9112
      // §6.1: answer 400 and close.
      if (!hp.chunked() && x.req.headers.get("Transfer-Encoding")) {
        Response r = Response::json(400, R"({"errors":[{"code":"UNKNOWN","message":"Transfer-Encoding must end with chunked"}]})");
        uint64_t out = 0;
        co_await write_response(stream, x.req, r, false, plain, out);
        break;
      }
      x.keep_alive = hp.keep_alive();
      auto expect = x.req.headers.get("Expect");
      x.expect_continue = expect && iequals(*expect, "100-continue");

      Dispatch d;
      // Plain lambdas: a std::function is made only when the work goes to the pool (no allocation inline).
      auto answer = [&] { x.response = call_safely([&] { return d.on_body(x.req); }); };
      auto route = [&] {
        try {
          d = handler.on_request(x.req);
        } catch (const std::exception&) {
          d = Dispatch::respond(Response::json(500, R"({"errors":[{"code":"UNKNOWN","message":"internal error"}]})"));
        }
        // On the pool already: an offloaded answer is made here, and goes out as a plain response.
        if (opt.handle_on_pool && d.kind == Dispatch::Kind::offload) {
          answer();
          d = Dispatch::respond(std::move(x.response));
        }
      };
      if (opt.handle_on_pool) {
        const std::function<void()> job = route;
        co_await run_blocking(&job);
      } else {
        route();
      }
      switch (d.kind) {
        case Dispatch::Kind::respond:
          x.response = std::move(d.response);
          if (x.req.has_body) co_await drain_unwanted_body(stream, buffer, hp, x);
          break;
        case Dispatch::Kind::read_body: co_await read_then_answer(stream, buffer, hp, d, x); break;
        case Dispatch::Kind::stream_body: co_await stream_then_answer(stream, buffer, hp, d, x); break;
        case Dispatch::Kind::offload: {
          const std::function<void()> job = answer;
          co_await run_blocking(&job);
          if (x.req.has_body) co_await drain_unwanted_body(stream, buffer, hp, x);
          break;
        }
      }

      if (stopping) x.keep_alive = false;
      int status = 0;
      uint64_t bytes_out = 0;
      if (x.connection_ok) {
        x.connection_ok = co_await write_response(stream, x.req, x.response, x.keep_alive, plain, bytes_out);
        status = x.response.status;
      }
      double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
      handler.on_complete(x.req, x.connection_ok ? status : 0, x.bytes_in, bytes_out, seconds);
      ctl->served = true;
      if (!x.connection_ok || !x.keep_alive) break;
    }
  }

  awaitable<void> session(tcp::socket socket) {
    sessions++;
    auto ctl = std::make_shared<SessionControl>();
    ctl->executor = socket.get_executor();
    {
      std::lock_guard lock(controls_mu);
      controls.insert(ctl);
    }
    error_code ec;
    std::string remote;
    auto ep = socket.remote_endpoint(ec);
    if (!ec) remote = ep.address().to_string();
    socket.set_option(tcp::no_delay(true), ec);

    if (tls) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
      ctl->close = [&stream] {
        error_code ignored;
        beast::get_lowest_layer(stream).socket().close(ignored);
      };
      beast::get_lowest_layer(stream).expires_after(opt.header_timeout);
      co_await stream.async_handshake(asio::ssl::stream_base::server, asio::redirect_error(use_awaitable, ec));
      if (!ec) {
        co_await serve(stream, false, remote, ctl);
        beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(5));
        co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));
      }
      ctl->alive = false;
    } else {
      beast::tcp_stream stream(std::move(socket));
      ctl->close = [&stream] {
        error_code ignored;
        stream.socket().close(ignored);
      };
      co_await serve(stream, true, remote, ctl);
      stream.socket().shutdown(tcp::socket::shutdown_send, ec);
      ctl->alive = false;
    }
    {
      std::lock_guard lock(controls_mu);
      controls.erase(ctl);
    }
    sessions--;
  }

  awaitable<void> accept_loop() {
    size_t next = 0;
    for (;;) {
      auto& ctx = *contexts[next++ % contexts.size()];
      tcp::socket socket(ctx);
      error_code ec;
      co_await acceptor->async_accept(socket, asio::redirect_error(use_awaitable, ec));
      if (stopping || ec == asio::error::operation_aborted) break;
      if (ec) {
        // Out of file descriptors or similar: make room, and back off instead of spinning.
        make_room();
        asio::steady_timer t(acceptor->get_executor(), std::chrono::milliseconds(50));
        co_await t.async_wait(asio::redirect_error(use_awaitable, ec));
        continue;
      }
      if (opt.max_connections > 0 && sessions >= static_cast<int>(opt.max_connections) && !make_room()) {
        socket.close(ec);  // every connection is busy: a fast close, not a wait
        continue;
      }
      asio::co_spawn(ctx, session(std::move(socket)), asio::detached);
    }
  }

  // At the connection cap: closes an idle connection — one that never sent a request first (what
  // thousands of silent connections are), else any idle keep-alive one. False when none is idle.
  bool make_room() {
    std::shared_ptr<SessionControl> victim, idle_served;
    {
      std::lock_guard lock(controls_mu);
      for (const auto& c : controls) {
        if (!c->idle) continue;
        if (!c->served) {
          victim = c;
          break;
        }
        if (!idle_served) idle_served = c;
      }
    }
    if (!victim) victim = idle_served;
    if (!victim) return false;
    asio::post(victim->executor, [victim] {
      if (victim->alive && victim->idle && victim->close) victim->close();
    });
    return true;
  }

  void begin_shutdown() {
    if (stopping.exchange(true)) return;
    error_code ec;
    if (acceptor) acceptor->close(ec);
    if (signals) signals->cancel(ec);
    {
      std::lock_guard lock(controls_mu);
      for (auto& c : controls) {
        asio::post(c->executor, [c] {
          if (c->alive && c->idle && c->close) c->close();
        });
      }
    }
    for (auto& g : guards) g.reset();
    auto deadline = std::chrono::steady_clock::now() + opt.shutdown_grace;
    watchdog = std::make_unique<asio::steady_timer>(*contexts[0]);
    poll_shutdown(deadline);
  }

  void poll_shutdown(std::chrono::steady_clock::time_point deadline) {
    if (sessions == 0 || std::chrono::steady_clock::now() >= deadline) {
      for (auto& c : contexts) c->stop();
      return;
    }
    watchdog->expires_after(std::chrono::milliseconds(50));
    watchdog->async_wait([this, deadline](error_code ec) {
      if (!ec) poll_shutdown(deadline);
    });
  }
};

Server::Server(ServerOptions options, Handler& handler) : impl_(std::make_unique<Impl>(std::move(options), handler)) {}
Server::~Server() = default;

Status Server::start() {
  auto& im = *impl_;
  error_code ec;
  if (!im.opt.tls_cert_file.empty() || !im.opt.tls_key_file.empty()) {
    im.tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    im.tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                        asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    im.tls->use_certificate_chain_file(im.opt.tls_cert_file, ec);
    if (ec) return Status(Errc::unavailable, "cannot load TLS certificate " + im.opt.tls_cert_file + ": " + ec.message());
    im.tls->use_private_key_file(im.opt.tls_key_file, asio::ssl::context::pem, ec);
    if (ec) return Status(Errc::unavailable, "cannot load TLS key " + im.opt.tls_key_file + ": " + ec.message());
  }
  auto address = asio::ip::make_address(im.opt.host, ec);
  if (ec) return Status(Errc::invalid_argument, "invalid listen address '" + im.opt.host + "'");
  tcp::endpoint endpoint(address, im.opt.port);
  im.acceptor = std::make_unique<tcp::acceptor>(*im.contexts[0]);
  im.acceptor->open(endpoint.protocol(), ec);
  if (!ec) im.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) im.acceptor->bind(endpoint, ec);
  if (!ec) im.acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(Errc::unavailable, "cannot listen on " + im.opt.host + ":" + std::to_string(im.opt.port) + ": " +
                                         ec.message());
  }
  im.bound_port = im.acceptor->local_endpoint().port();
  return Status::Ok();
}

uint16_t Server::port() const { return impl_->bound_port; }

void Server::run() {
  auto& im = *impl_;
  im.signals = std::make_unique<asio::signal_set>(*im.contexts[0], SIGTERM, SIGINT);
  im.signals->async_wait([&im](error_code ec, int) {
    if (!ec) im.begin_shutdown();
  });
  asio::co_spawn(*im.contexts[0], im.accept_loop(), asio::detached);
  std::vector<std::thread> threads;
  for (size_t i = 1; i < im.contexts.size(); ++i) {
    threads.emplace_back([ctx = im.contexts[i].get()] { ctx->run(); });
  }
  im.contexts[0]->run();
  for (auto& t : threads) t.join();
  im.blocking.join();
}

void Server::stop() {
  asio::post(*impl_->contexts[0], [im = impl_.get()] { im->begin_shutdown(); });
}

}  // namespace berth::http
