#include "http/message.h"

#include <strings.h>
#include <unistd.h>

namespace berth::http {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && ::strncasecmp(a.data(), b.data(), a.size()) == 0;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string percent_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size() && hex_value(s[i + 1]) >= 0 &&
        hex_value(s[i + 2]) >= 0) {
      out.push_back(static_cast<char>(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2])));
      i += 2;
    } else if (s[i] == '+') {
      out.push_back(' ');
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}
}  // namespace

void Headers::set(std::string_view name, std::string value) {
  for (auto& [n, v] : fields_) {
    if (iequals(n, name)) {
      v = std::move(value);
      return;
    }
  }
  fields_.emplace_back(std::string(name), std::move(value));
}

std::optional<std::string_view> Headers::get(std::string_view name) const {
  for (const auto& [n, v] : fields_) {
    if (iequals(n, name)) return std::string_view(v);
  }
  return std::nullopt;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  auto all = query_params(name);
  if (all.empty()) return std::nullopt;
  return std::move(all.front());
}

std::vector<std::string> Request::query_params(std::string_view name) const {
  std::vector<std::string> out;
  std::string_view q = query;
  while (!q.empty()) {
    auto amp = q.find('&');
    std::string_view pair = q.substr(0, amp);
    auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      out.push_back(eq == std::string_view::npos ? std::string() : percent_decode(pair.substr(eq + 1)));
    }
    if (amp == std::string_view::npos) break;
    q.remove_prefix(amp + 1);
  }
  return out;
}

Response::Response(Response&& o) noexcept
    : status(o.status),
      headers(std::move(o.headers)),
      body(std::move(o.body)),
      file_fd(o.file_fd),
      file_offset(o.file_offset),
      file_length(o.file_length),
      source(std::move(o.source)),
      head_content_length(o.head_content_length) {
  o.file_fd = -1;
}

Response& Response::operator=(Response&& o) noexcept {
  if (this != &o) {
    if (file_fd >= 0) ::close(file_fd);
    status = o.status;
    headers = std::move(o.headers);
    body = std::move(o.body);
    file_fd = o.file_fd;
    o.file_fd = -1;
    file_offset = o.file_offset;
    file_length = o.file_length;
    source = std::move(o.source);
    head_content_length = o.head_content_length;
  }
  return *this;
}

Response::~Response() {
  if (file_fd >= 0) ::close(file_fd);
}

Response Response::json(int status, std::string body) {
  Response r;
  r.status = status;
  r.headers.set("Content-Type", "application/json");
  r.body = std::move(body);
  return r;
}

}  // namespace berth::http
