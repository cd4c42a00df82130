// The conventions of GitHub's REST API that the packages API follows (docs/packages.md): its error
// bodies, timestamps, page parameters and Link headers, and the URL encoding of names in paths.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"
#include "http/message.h"

namespace berth::api::github {

inline constexpr std::string_view kDocs = "https://docs.github.com/rest/packages/packages";

// {"message": …, "documentation_url": …} with this status, as GitHub answers errors.
http::Response error(int status, std::string message, std::string_view documentation_url = kDocs);
// A JSON body with GitHub's content type.
http::Response json(int status, std::string body);

// GitHub's 404 body.
http::Response not_found();
// 404 for a package the caller may not see or that does not exist: GitHub's wording.
http::Response package_not_found();

struct Page {
  uint64_t number = 1;    // from 1
  uint64_t per_page = 30;  // 1..100
  uint64_t offset() const { return (number - 1) * per_page; }
};
// ?page= and ?per_page=; invalid_argument naming the parameter for anything but the ranges above.
Result<Page> parse_page(const http::Request& request);

// GitHub's Link header for page `page` of `total` items: rel="prev", "next", "last", "first" (those that
// apply), each `url_without_query` with `params` and page/per_page; empty when everything fits one page
// and it is the first.
std::string link_header(const std::string& url_without_query,
                        const std::vector<std::pair<std::string, std::string>>& params, const Page& page,
                        uint64_t total);

// Percent-encodes everything but RFC 3986's unreserved characters ('/' becomes %2F).
std::string encode_component(std::string_view text);
// Decodes %XX escapes; nullopt for a malformed escape (a '%' not followed by two hex digits).
std::optional<std::string> decode_component(std::string_view text);

}  // namespace berth::api::github
