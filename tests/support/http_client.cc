#include <utility>  // before any Asio header: Boost 1.74's awaitable.hpp uses std::exchange without it

#include "support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace berth::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool has_field(const Headers& headers, std::string_view name) {
  return std::any_of(headers.begin(), headers.end(), [&](const auto& h) { return iequals(h.first, name); });
}

// Sync Asio operations ignore socket timeouts, so every operation runs asynchronously on a private
// io_context with a tcp_stream deadline: a hung server fails the test instead of hanging it.
class Connection {
 public:
  Connection(const std::string& host, std::uint16_t port, std::chrono::milliseconds timeout)
      : stream_(ioc_), timeout_(timeout) {
    tcp::resolver resolver(ioc_);
    auto endpoints = resolver.resolve(host, std::to_string(port));
    beast::error_code ec;
    stream_.expires_after(timeout_);
    stream_.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) { ec = e; });
    run();
    if (ec) throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + ": " + ec.message());
  }

  // Returns the error instead of throwing: a server may answer and close before reading the whole
  // request (413, 400 on a bad header), and the test still wants that answer.
  beast::error_code write(std::string_view bytes) {
    beast::error_code ec;
    stream_.expires_after(timeout_);
    asio::async_write(stream_, asio::buffer(bytes.data(), bytes.size()),
                      [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    return ec;
  }

  Response read(bool head_request) {
    http::response_parser<http::string_body> parser;
    // Not boost::none: Beast 1.74 compares the length against the optional, and nothing is "greater"
    // than a disengaged optional there, so some responses would fail with body_limit.
    parser.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser.header_limit(1024 * 1024);
    if (head_request) parser.skip(true);
    beast::error_code ec;
    stream_.expires_after(timeout_);
    http::async_read(stream_, buffer_, parser, [&](beast::error_code e, std::size_t) { ec = e; });
    run();
    Response response;
    if (ec) {
      response.body = "<no response: " + ec.message() + ">";
      return response;
    }
    auto& message = parser.get();
    response.status = static_cast<int>(message.result_int());
    for (const auto& field : message) {
      response.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    response.body = std::move(message.body());
    return response;
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().close(ignored);
  }

 private:
  void run() {
    ioc_.restart();
    ioc_.run();
  }

  asio::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::chrono::milliseconds timeout_;
};

// Request line and header block, serialized by hand so a test controls every byte (a wrong
// Content-Length, a chunked body, an unusual header) without fighting a message type's invariants.
std::string head_block(std::string_view method, std::string_view target, const std::string& host,
                       std::uint16_t port, const Headers& headers) {
  std::string out;
  out.append(method).append(" ").append(path_of(target)).append(" HTTP/1.1\r\n");
  if (!has_field(headers, "Host")) out.append("Host: ").append(host).append(":").append(std::to_string(port)).append("\r\n");
  if (!has_field(headers, "User-Agent")) out.append("User-Agent: berth-api-tests\r\n");
  for (const auto& [name, value] : headers) out.append(name).append(": ").append(value).append("\r\n");
  return out;
}

bool method_has_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH";
}

}  // namespace

std::string Response::header(std::string_view name) const {
  for (const auto& [field, value] : headers) {
    if (iequals(field, name)) return value;
  }
  return "";
}

bool Response::has_header(std::string_view name) const { return has_field(headers, name); }

nlohmann::json Response::json() const { return nlohmann::json::parse(body, nullptr, false); }

std::string Response::error_code() const {
  auto doc = json();
  if (!doc.is_object() || !doc.contains("errors") || !doc["errors"].is_array() || doc["errors"].empty()) return "";
  const auto& first = doc["errors"][0];
  if (!first.is_object() || !first.contains("code") || !first["code"].is_string()) return "";
  return first["code"].get<std::string>();
}

std::string Response::describe() const {
  std::ostringstream out;
  out << "HTTP " << status << "\n";
  for (const auto& [name, value] : headers) out << name << ": " << value << "\n";
  out << "\n" << (body.size() > 2000 ? body.substr(0, 2000) + "…" : body);
  return out.str();
}

HttpClient::HttpClient(std::string host, std::uint16_t port) : host_(std::move(host)), port_(port) {}

Response HttpClient::request(std::string_view method, std::string_view target, const Headers& headers,
                             std::string_view body) const {
  std::string bytes = head_block(method, target, host_, port_, headers);
  if (!has_field(headers, "Content-Length") && !has_field(headers, "Transfer-Encoding") &&
      (!body.empty() || method_has_body(method))) {
    bytes.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  }
  bytes.append("\r\n").append(body);
  return raw(bytes, method == "HEAD");
}

Response HttpClient::request_chunked(std::string_view method, std::string_view target, const Headers& headers,
                                     const std::vector<std::string>& chunks) const {
  std::string bytes = head_block(method, target, host_, port_, headers);
  bytes.append("Transfer-Encoding: chunked\r\n\r\n");
  for (const auto& chunk : chunks) {
    if (chunk.empty()) continue;  // an empty chunk would end the body early
    std::ostringstream size;
    size << std::hex << chunk.size();
    bytes.append(size.str()).append("\r\n").append(chunk).append("\r\n");
  }
  bytes.append("0\r\n\r\n");
  return raw(bytes, method == "HEAD");
}

Response HttpClient::request_paced(std::string_view method, std::string_view target, const Headers& headers,
                                   std::string_view body, std::size_t pieces, std::chrono::milliseconds pause) const {
  std::string head = head_block(method, target, host_, port_, headers);
  head.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n\r\n");
  Connection connection(host_, port_, timeout_);
  beast::error_code ec = connection.write(head);
  const std::size_t piece = (body.size() + pieces - 1) / std::max<std::size_t>(pieces, 1);
  for (std::size_t at = 0; !ec && at < body.size(); at += piece) {
    std::this_thread::sleep_for(pause);
    ec = connection.write(body.substr(at, piece));
  }
  return connection.read(method == "HEAD");  // on a write error, the server may still have answered
}

void HttpClient::send_partial_then_close(std::string_view method, std::string_view target, const Headers& headers,
                                         std::string_view sent, std::uint64_t declared_length,
                                         std::chrono::milliseconds linger) const {
  std::string bytes = head_block(method, target, host_, port_, headers);
  bytes.append("Content-Length: ").append(std::to_string(declared_length)).append("\r\n\r\n").append(sent);
  Connection connection(host_, port_, timeout_);
  if (auto ec = connection.write(bytes)) throw std::runtime_error("partial write failed: " + ec.message());
  std::this_thread::sleep_for(linger);
  connection.close();
}

Response HttpClient::raw(std::string_view bytes, bool head_request) const {
  Connection connection(host_, port_, timeout_);
  connection.write(bytes);  // on a write error, the server may still have answered: read it
  return connection.read(head_request);
}

std::vector<Response> HttpClient::raw_pipeline(std::string_view bytes, std::size_t count) const {
  Connection connection(host_, port_, timeout_);
  connection.write(bytes);
  std::vector<Response> responses;
  while (responses.size() < count) {
    responses.push_back(connection.read(false));
    if (responses.back().status == 0) break;
  }
  return responses;
}

int connect_loopback(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

std::string path_of(std::string_view location) {
  for (std::string_view scheme : {"http://", "https://"}) {
    if (location.substr(0, scheme.size()) == scheme) {
      auto slash = location.find('/', scheme.size());
      return slash == std::string_view::npos ? "/" : std::string(location.substr(slash));
    }
  }
  return std::string(location);
}

std::string url_encode(std::string_view value) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace berth::test
