// The HTTP layer's interface to handlers: requests, responses and streaming bodies, with no Beast or Asio
// types, so that handlers (api/) compile fast and do not depend on the networking library.
//
// A request is handled in up to two steps. The server reads the header and calls Handler::on_request,
// which answers with a Dispatch saying what to do with the body:
//   - respond now (the body, if any, is discarded or the connection closed);
//   - read a small body (at most `body_limit` bytes) into Request::body, then call `on_body`;
//   - stream the body into a BodySink chunk by chunk (blob uploads), then call BodySink::finish.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::http {

// ASCII case-insensitive equality, as header names and tokens compare.
bool iequals(std::string_view a, std::string_view b);

// Header fields in arrival order; lookups are case-insensitive.
class Headers {
 public:
  void add(std::string name, std::string value) { fields_.emplace_back(std::move(name), std::move(value)); }
  void set(std::string_view name, std::string value);
  // First value of the field, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

struct Request {
  std::string method;  // "GET", "HEAD", …
  std::string target;  // raw request target, as sent
  std::string path;    // target up to '?', NOT percent-decoded (names with %2F must stay invalid)
  std::string query;   // after '?', raw
  Headers headers;
  std::string remote_address;
  // Content-Length if the request declared one; chunked bodies have none.
  std::optional<uint64_t> content_length;
  bool has_body = false;  // Content-Length > 0 or chunked
  std::string body;       // filled only for Dispatch::read_body

  // Who the handler decided is calling, for the access log ("anonymous", "alice", "ci:alice").
  std::string principal;
  // What the handler routed this to, for metrics; must name static storage (a string literal).
  std::string_view route_label;

  // Percent-decoded value of a query parameter (first occurrence), or nullopt.
  std::optional<std::string> query_param(std::string_view name) const;
  // Every value of a repeated query parameter, percent-decoded.
  std::vector<std::string> query_params(std::string_view name) const;
};

// A body produced piece by piece (e.g. a blob streamed from object storage).
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Bytes read into buffer; 0 at the end; negative on error (the connection is then closed).
  virtual long read(char* buffer, size_t capacity) = 0;
};

struct Response {
  int status = 200;
  Headers headers;
  std::string body;  // used when neither file nor source is set

  // A file region sent with sendfile(2) on plain TCP (read and written on TLS). The fd is owned by the
  // response and closed after sending.
  int file_fd = -1;
  uint64_t file_offset = 0;
  uint64_t file_length = 0;
  std::unique_ptr<BodySource> source;  // a streamed body of file_length bytes

  // For HEAD: the Content-Length to announce without sending a body.
  std::optional<uint64_t> head_content_length;

  Response() = default;
  Response(Response&&) noexcept;
  Response& operator=(Response&&) noexcept;
  ~Response();

  static Response json(int status, std::string body);
};

// Receives a streamed request body.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // A chunk of the body. Returning false stops reading: finish() is still called with complete=false.
  virtual bool write(const char* data, size_t len) = 0;
  // The body ended (complete) or the client went away / write() refused (not complete). Returns the
  // response to send; it is ignored when the connection is gone.
  virtual Response finish(bool complete) = 0;
};

struct Dispatch {
  enum class Kind { respond, read_body, stream_body, offload };
  Kind kind = Kind::respond;
  Response response;                         // respond
  size_t body_limit = 0;                     // read_body: larger bodies get 413
  std::function<Response(Request&)> on_body; // read_body; offload: the whole answer
  std::unique_ptr<BodySink> sink;            // stream_body
  // The work after the body (on_body / finish) may block (fsync, database writes): run it on the
  // blocking thread pool rather than an I/O thread.
  bool blocking = false;

  static Dispatch respond(Response r) {
    Dispatch d;
    d.response = std::move(r);
    return d;
  }
  static Dispatch read_body(size_t limit, std::function<Response(Request&)> fn, bool blocking = true) {
    Dispatch d;
    d.kind = Kind::read_body;
    d.body_limit = limit;
    d.on_body = std::move(fn);
    d.blocking = blocking;
    return d;
  }
  // The answer takes work that may be long or wait on the network (a listing filtered row by row, a
  // remote database): made on the blocking pool, so that the I/O thread goes on serving others. A body
  // the request has is drained unread.
  static Dispatch offload(std::function<Response(Request&)> fn) {
    Dispatch d;
    d.kind = Kind::offload;
    d.on_body = std::move(fn);
    return d;
  }
  static Dispatch stream_body(std::unique_ptr<BodySink> sink) {
    Dispatch d;
    d.kind = Kind::stream_body;
    d.sink = std::move(sink);
    d.blocking = true;
    return d;
  }
};

class Handler {
 public:
  virtual ~Handler() = default;
  // Called on an I/O thread once the header has been read: keep it quick (metadata lookups only).
  virtual Dispatch on_request(Request& request) = 0;
  // The response for a body over Dispatch::body_limit (HTTP 413), in the handler's error format.
  virtual Response payload_too_large(const Request& request) {
    Response r;
    r.status = 413;
    return r;
  }
  // Called once per request after the response has been sent (or the connection lost): for access logs
  // and metrics. status 0 means no response was sent.
  virtual void on_complete(const Request& request, int status, uint64_t bytes_in, uint64_t bytes_out,
                           double seconds) {}
};

}  // namespace berth::http
