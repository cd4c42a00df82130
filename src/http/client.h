// A small HTTP/1.1 client for what Berth asks of other servers: webhook deliveries (hooks/) and reading
// another registry (importer/). One request per connection; http:// and https:// (certificates verified
// against the system's roots, or `ca_file`); a deadline on connecting and on every read and write, so a
// peer that stops answering cannot hold a thread; a body either kept (up to a limit) or streamed to a sink.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace berth::http {

struct ClientRequest {
  std::string method = "GET";
  std::string url;  // http(s)://host[:port]/target; no user info
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  int64_t timeout_seconds = 30;  // to connect, and for each read or write
  std::string ca_file;           // PEM roots to trust instead of the system's
};

struct ClientResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;  // empty when streamed to a sink
  // The first header of this name (case-insensitive).
  std::optional<std::string> header(std::string_view name) const;
};

// Receives a 2xx answer's body piece by piece; an error stops the transfer and is returned.
using ResponseSink = std::function<Status(const char* data, size_t size)>;

// The URL's parts; nullopt unless http:// or https:// with a host.
struct Url {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string target;  // path and query, at least "/"
};
std::optional<Url> parse_url(std::string_view url);

// Errors: invalid_argument (bad URL), unavailable (cannot connect, or the deadline passed), io_error
// (TLS, protocol), too_large (a kept body over max_body), and what the sink returned.
Result<ClientResponse> fetch(const ClientRequest& request, const ResponseSink& sink = {},
                             size_t max_body = 4 * 1024 * 1024);

}  // namespace berth::http
