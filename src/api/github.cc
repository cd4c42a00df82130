#include "api/github.h"

#include <cctype>
#include <charconv>

#include <nlohmann/json.hpp>

#include "common/percent_encoding.h"

namespace berth::api::github {

http::Response json(int status, std::string body) {
  http::Response r = http::Response::json(status, std::move(body));
  r.headers.set("Content-Type", "application/json; charset=utf-8");
  r.headers.set("X-GitHub-Media-Type", "github.v3; format=json");
  return r;
}

http::Response not_found() { return error(404, "Not Found"); }
http::Response package_not_found() { return error(404, "Package not found."); }

http::Response error(int status, std::string message, std::string_view documentation_url) {
  nlohmann::json body = {{"message", std::move(message)}, {"documentation_url", std::string(documentation_url)}};
  return json(status, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));  // may echo input
}

namespace {

// A decimal integer of at most 9 digits (no sign, no spaces), or nullopt.
std::optional<uint64_t> small_number(const std::string& text) {
  if (text.empty() || text.size() > 9) return std::nullopt;
  uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) return std::nullopt;
  return v;
}

}  // namespace

Result<Page> parse_page(const http::Request& request) {
  Page page;
  if (auto text = request.query_param("per_page")) {
    auto n = small_number(*text);
    if (!n || *n < 1 || *n > 100) return Status(Errc::invalid_argument, "per_page must be an integer from 1 to 100");
    page.per_page = *n;
  }
  if (auto text = request.query_param("page")) {
    auto n = small_number(*text);
    if (!n || *n < 1) return Status(Errc::invalid_argument, "page must be a positive integer");
    page.number = *n;
  }
  return page;
}

std::string link_header(const std::string& url_without_query,
                        const std::vector<std::pair<std::string, std::string>>& params, const Page& page,
                        uint64_t total) {
  const uint64_t last = total == 0 ? 1 : (total + page.per_page - 1) / page.per_page;
  auto url = [&](uint64_t number) {
    std::string u = url_without_query + "?";
    for (const auto& [k, v] : params) u += k + "=" + encode_component(v) + "&";
    u += "page=" + std::to_string(number) + "&per_page=" + std::to_string(page.per_page);
    return u;
  };
  std::vector<std::string> parts;
  if (page.number > 1) parts.push_back("<" + url(std::min(page.number - 1, last)) + ">; rel=\"prev\"");
  if (page.number < last) {
    parts.push_back("<" + url(page.number + 1) + ">; rel=\"next\"");
    parts.push_back("<" + url(last) + ">; rel=\"last\"");
  }
  if (page.number > 1) parts.push_back("<" + url(1) + ">; rel=\"first\"");
  std::string out;
  for (const auto& p : parts) {
    if (!out.empty()) out += ", ";
    out += p;
  }
  return out;
}

std::string encode_component(std::string_view text) { return percent_encode(text); }

std::optional<std::string> decode_component(std::string_view text) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out += text[i];
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;  // fewer than two characters follow
    int hi = hex(text[i + 1]), lo = hex(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out += static_cast<char>(hi * 16 + lo);
    i += 2;
  }
  return out;
}

}  // namespace berth::api::github
