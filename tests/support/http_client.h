// A small blocking HTTP/1.1 client for the API tests. One TCP connection per call, so a test never
// depends on keep-alive behaviour unless it asks for it, and a misbehaving call cannot poison the next.
// Beast and Asio stay inside http_client.cc: test files only see this header.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace berth::test {

// Header fields in the order given; names compare case-insensitively on lookup.
using Headers = std::vector<std::pair<std::string, std::string>>;

struct Response {
  int status = 0;  // 0: the server closed the connection without a (parseable) response
  Headers headers;
  std::string body;

  // The first value of the named field, or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  // The body parsed as JSON; a discarded value (is_discarded()) when it is not JSON.
  nlohmann::json json() const;
  // The first error code of an OCI error body ({"errors":[{"code":…}]}), or "" when there is none.
  std::string error_code() const;
  // Status line, headers and body for failure messages.
  std::string describe() const;
};

class HttpClient {
 public:
  HttpClient(std::string host, std::uint16_t port);

  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }

  // Any method with a string body; Content-Length is set from the body unless the caller sets it
  // (so a test can send a deliberately wrong Content-Length). `target` may be an absolute URL
  // (a Location header followed as given): the scheme and authority are dropped.
  Response request(std::string_view method, std::string_view target, const Headers& headers = {},
                   std::string_view body = {}) const;
  Response get(std::string_view target, const Headers& headers = {}) const { return request("GET", target, headers); }
  Response head(std::string_view target, const Headers& headers = {}) const { return request("HEAD", target, headers); }
  Response del(std::string_view target, const Headers& headers = {}) const { return request("DELETE", target, headers); }

  // The body sent with Transfer-Encoding: chunked, one HTTP chunk per element (a streamed PATCH).
  Response request_chunked(std::string_view method, std::string_view target, const Headers& headers,
                           const std::vector<std::string>& chunks) const;

  // A slow client: sends the header block, then the body (with its Content-Length) in `pieces` equal
  // parts, each after a pause of `pause`, so the one request lasts about pieces * pause. Then reads the
  // response.
  Response request_paced(std::string_view method, std::string_view target, const Headers& headers,
                         std::string_view body, std::size_t pieces, std::chrono::milliseconds pause) const;

  // Announces Content-Length: declared_length, sends only `sent` bytes, waits `linger` so the server
  // can read them, then closes the connection without reading a response (a client that dies mid-upload).
  void send_partial_then_close(std::string_view method, std::string_view target, const Headers& headers,
                               std::string_view sent, std::uint64_t declared_length,
                               std::chrono::milliseconds linger = std::chrono::milliseconds(300)) const;

  // Writes `bytes` verbatim and reads one response (status 0 when the server just closes).
  // `head_request` tells the parser the response carries no body.
  Response raw(std::string_view bytes, bool head_request = false) const;

  // Writes `bytes` (several requests back to back) on one connection and reads `count` responses:
  // keep-alive and pipelining as real clients use them. Stops early if the connection ends.
  std::vector<Response> raw_pipeline(std::string_view bytes, std::size_t count) const;

  // Waits this long for any single read or write before failing the call.
  void set_timeout(std::chrono::milliseconds timeout) { timeout_ = timeout; }

 private:
  std::string host_;
  std::uint16_t port_;
  std::chrono::milliseconds timeout_{30000};
};

// "/v2/x?y" from "http://host:port/v2/x?y"; a path is returned unchanged.
std::string path_of(std::string_view location);

// Percent-encodes a query value (digests contain ':').
std::string url_encode(std::string_view value);

// A plain blocking TCP socket connected to 127.0.0.1:port, for tests that speak raw bytes or hold
// connections open; -1 when the connection fails. The caller closes it.
int connect_loopback(std::uint16_t port);

}  // namespace berth::test
