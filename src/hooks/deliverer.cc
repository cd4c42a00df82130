#include "hooks/deliverer.h"

#include <spdlog/spdlog.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <chrono>
#include <ctime>

#include "hooks/payload.h"

namespace berth::hooks {

namespace beast = boost::beast;
namespace http = beast::http;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

struct Url {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string target;
};

std::optional<Url> parse_url(const std::string& url) {
  Url u;
  std::string rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    return std::nullopt;
  }
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (authority.find('@') != std::string::npos || authority.empty()) return std::nullopt;
  size_t colon = std::string::npos;
  if (authority.front() == '[') {
    const size_t close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      colon = close + 1;
    }
  } else {
    colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
  }
  u.port = colon == std::string::npos ? (u.tls ? "443" : "80") : authority.substr(colon + 1);
  if (u.host.empty() || u.port.empty()) return std::nullopt;
  return u;
}

template <class Stream>
PostResult exchange(Stream& stream, const Url& u, const std::vector<std::pair<std::string, std::string>>& headers,
                    const std::string& body) {
  http::request<http::string_body> req{http::verb::post, u.target, 11};
  req.set(http::field::host, u.host.find(':') != std::string::npos ? "[" + u.host + "]:" + u.port : u.host + ":" + u.port);
  for (const auto& [name, value] : headers) req.set(name, value);
  req.body() = body;
  req.prepare_payload();
  http::write(stream, req);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024);  // the answer's body is not kept; a receiver has no reason to send much
  http::read(stream, buffer, parser);
  return PostResult{static_cast<int>(parser.get().result_int()), {}};
}

}  // namespace

PostResult Deliverer::post(const std::string& url, const std::vector<std::pair<std::string, std::string>>& headers,
                           const std::string& body, int64_t timeout_seconds) {
  auto u = parse_url(url);
  if (!u) return PostResult{0, "not an http(s) URL"};
  try {
    asio::io_context io;
    tcp::resolver resolver(io);
    const auto endpoints = resolver.resolve(u->host, u->port);
    const auto deadline = std::chrono::seconds(timeout_seconds);
    if (!u->tls) {
      beast::tcp_stream stream(io);
      stream.expires_after(deadline);
      stream.connect(endpoints);
      PostResult r = exchange(stream, *u, headers, body);
      beast::error_code ignored;
      stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
      return r;
    }
    asio::ssl::context tls(asio::ssl::context::tls_client);
    tls.set_default_verify_paths();
    tls.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, tls);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), u->host.c_str())) return PostResult{0, "TLS: cannot set SNI"};
    stream.set_verify_callback(asio::ssl::host_name_verification(u->host));
    beast::get_lowest_layer(stream).expires_after(deadline);
    beast::get_lowest_layer(stream).connect(endpoints);
    stream.handshake(asio::ssl::stream_base::client);
    PostResult r = exchange(stream, *u, headers, body);
    beast::error_code ignored;
    stream.shutdown(ignored);
    return r;
  } catch (const std::exception& e) {
    return PostResult{0, e.what()};
  }
}

Deliverer::Deliverer(meta::WebhookStore& store, DelivererOptions options, Clock clock)
    : store_(store), options_(std::move(options)), clock_(std::move(clock)) {}

int64_t Deliverer::now() const { return clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr)); }

Result<size_t> Deliverer::run_once() {
  const int64_t start = now();
  if (start - last_prune_ > 3600) {
    if (Status s = store_.prune(start - options_.keep_seconds); !s.ok()) spdlog::warn("webhooks: prune: {}", s.message());
    last_prune_ = start;
  }
  // The claim outlasts every attempt of the batch.
  const int64_t claim = options_.timeout_seconds * 2 * static_cast<int64_t>(options_.batch) + 60;
  auto due = store_.claim_due(start, options_.batch, claim);
  if (!due.ok()) return due.status();
  for (const auto& d : *due) {
    const std::string body = payload(d.event, d.hook, options_.origin);
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"},
        {"User-Agent", "Berth-Hookshot/1"},
        {"X-GitHub-Event", std::string(kEventName)},
        {"X-GitHub-Delivery", d.delivery.guid},
        {"X-GitHub-Hook-ID", std::to_string(d.hook.id)},
        {"X-Hub-Signature-256", signature(d.hook.secret, body)}};
    PostResult r = post(d.hook.url, headers, body, options_.timeout_seconds);
    const bool delivered = r.status >= 200 && r.status < 300;
    std::optional<int64_t> next;
    const int64_t attempts = d.delivery.attempts + 1;
    if (!delivered && attempts < options_.max_attempts) {
      int64_t delay = options_.first_retry_seconds;
      for (int64_t i = 1; i < attempts && delay < options_.max_retry_seconds; ++i) delay *= 2;
      next = now() + std::min(delay, options_.max_retry_seconds);
    }
    std::string error = r.error;
    if (error.empty() && !delivered) error = "answered " + std::to_string(r.status);
    if (!delivered) {
      // The URL is the receiver's, not a secret; the body and the signature are never logged.
      spdlog::info("webhooks: delivery {} of hook {} to {}: {}{}", d.delivery.id, d.hook.id, d.hook.url, error,
                   next ? "; trying again later" : "; giving up");
    }
    if (Status s = store_.record_attempt(d.delivery.id, delivered, r.status, error, next, now()); !s.ok()) {
      return s;
    }
  }
  return due->size();
}

}  // namespace berth::hooks
