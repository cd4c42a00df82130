// Boost 1.74's asio/awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include "http/client.h"

#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <limits>
#include <optional>

#include "http/message.h"

namespace berth::http {

namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using asio::use_awaitable;

std::optional<std::string> ClientResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

std::optional<Url> parse_url(std::string_view url) {
  Url u;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    return std::nullopt;
  }
  const size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  u.target = slash == std::string_view::npos ? "/" : std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  size_t colon = std::string_view::npos;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    u.host = std::string(authority.substr(1, close - 1));
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      colon = close + 1;
    }
  } else {
    colon = authority.rfind(':');
    u.host = std::string(authority.substr(0, colon));
  }
  u.port = colon == std::string_view::npos ? (u.tls ? "443" : "80") : std::string(authority.substr(colon + 1));
  if (u.host.empty() || u.port.empty()) return std::nullopt;
  return u;
}

namespace {

// Every step runs asynchronously under a deadline (Beast's tcp_stream timeouts apply to async
// operations only; a blocking read would wait for ever on a peer that never answers).
struct Deadline {
  int64_t seconds;
  template <class Stream>
  void arm(Stream& stream) const {
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(seconds));
  }
};

std::string describe(const beast::error_code& ec) {
  return ec == beast::error::timeout ? std::string("timed out") : ec.message();
}

awaitable<Status> connect(beast::tcp_stream& stream, const Url& u, Deadline deadline) {
  tcp::resolver resolver(co_await asio::this_coro::executor);
  beast::error_code ec;
  auto endpoints = co_await resolver.async_resolve(u.host, u.port, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return Status(Errc::unavailable, "cannot resolve " + u.host + ": " + ec.message());
  deadline.arm(stream);
  co_await stream.async_connect(endpoints, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return Status(Errc::unavailable, "cannot connect to " + u.host + ":" + u.port + ": " + describe(ec));
  co_return Status::Ok();
}

template <class Stream>
awaitable<Result<ClientResponse>> exchange(Stream& stream, const Url& u, const ClientRequest& request,
                                           const ResponseSink& sink, size_t max_body, Deadline deadline) {
  bhttp::request<bhttp::string_body> req;
  req.method_string(request.method);
  req.target(u.target);
  req.version(11);
  const bool default_port = u.port == (u.tls ? "443" : "80");
  const std::string host = u.host.find(':') != std::string::npos ? "[" + u.host + "]" : u.host;
  req.set(bhttp::field::host, default_port ? host : host + ":" + u.port);
  req.set(bhttp::field::connection, "close");
  for (const auto& [name, value] : request.headers) req.set(name, value);
  req.body() = request.body;
  if (!request.body.empty() || request.method == "POST" || request.method == "PUT") req.prepare_payload();
  beast::error_code ec;
  deadline.arm(stream);
  co_await bhttp::async_write(stream, req, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return Status(Errc::io_error, "sending to " + u.host + ": " + describe(ec));

  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  if (request.method == "HEAD") parser.skip(true);
  deadline.arm(stream);
  co_await bhttp::async_read_header(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return Status(Errc::io_error, "reading the answer of " + u.host + ": " + describe(ec));
  ClientResponse out;
  out.status = static_cast<int>(parser.get().result_int());
  for (const auto& field : parser.get()) out.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
  const bool streamed = sink && out.status >= 200 && out.status < 300;
  std::vector<char> chunk(256 * 1024);
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    deadline.arm(stream);
    co_await bhttp::async_read(stream, buffer, parser, asio::redirect_error(use_awaitable, ec));
    if (ec == bhttp::error::need_buffer) ec = {};
    if (ec) co_return Status(Errc::io_error, "reading the body from " + u.host + ": " + describe(ec));
    const size_t n = chunk.size() - parser.get().body().size;
    if (n == 0) continue;
    if (streamed) {
      if (Status s = sink(chunk.data(), n); !s.ok()) co_return s;
    } else {
      if (out.body.size() + n > max_body) co_return Status(Errc::too_large, "the answer of " + u.host + " is too large");
      out.body.append(chunk.data(), n);
    }
  }
  co_return out;
}

awaitable<Result<ClientResponse>> run(asio::io_context& io, const Url& u, const ClientRequest& request,
                                      const ResponseSink& sink, size_t max_body) {
  const Deadline deadline{request.timeout_seconds};
  if (!u.tls) {
    beast::tcp_stream stream(io);
    if (Status s = co_await connect(stream, u, deadline); !s.ok()) co_return s;
    co_return co_await exchange(stream, u, request, sink, max_body, deadline);
  }
  asio::ssl::context tls(asio::ssl::context::tls_client);
  if (request.ca_file.empty()) {
    tls.set_default_verify_paths();
  } else {
    tls.load_verify_file(request.ca_file);
  }
  tls.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(io, tls);
  if (!SSL_set_tlsext_host_name(stream.native_handle(), u.host.c_str())) {
    co_return Status(Errc::io_error, "TLS: cannot set the server name");
  }
  stream.set_verify_callback(asio::ssl::host_name_verification(u.host));
  if (Status s = co_await connect(beast::get_lowest_layer(stream), u, deadline); !s.ok()) co_return s;
  beast::error_code ec;
  deadline.arm(stream);
  co_await stream.async_handshake(asio::ssl::stream_base::client, asio::redirect_error(use_awaitable, ec));
  if (ec) co_return Status(Errc::io_error, "TLS with " + u.host + ": " + describe(ec));
  auto out = co_await exchange(stream, u, request, sink, max_body, deadline);
  deadline.arm(stream);
  co_await stream.async_shutdown(asio::redirect_error(use_awaitable, ec));  // a peer may skip close_notify
  co_return out;
}

}  // namespace

Result<ClientResponse> fetch(const ClientRequest& request, const ResponseSink& sink, size_t max_body) {
  auto u = parse_url(request.url);
  if (!u) return Status(Errc::invalid_argument, "not an http(s) URL");
  try {
    asio::io_context io;
    std::optional<Result<ClientResponse>> result;
    // co_spawn's completion needs a default-constructible value: the result comes back through `result`.
    auto body = [&]() -> awaitable<void> { result.emplace(co_await run(io, *u, request, sink, max_body)); };
    asio::co_spawn(io, body(), [&](std::exception_ptr error) {
      if (!error) return;
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        result.emplace(Status(Errc::io_error, std::string("HTTP client: ") + e.what()));
      }
    });
    io.run();
    if (!result) return Status(Errc::internal, "HTTP client: the request did not finish");
    return std::move(*result);
  } catch (const std::exception& e) {
    return Status(Errc::io_error, std::string("HTTP client: ") + e.what());
  }
}

}  // namespace berth::http
