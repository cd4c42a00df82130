// Base64 (RFC 4648): the standard alphabet for HTTP Basic credentials and Kubernetes secrets, and the
// URL-safe one without padding for JWTs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace berth {

std::string base64_encode(std::string_view bytes);
// Standard alphabet, padded to a multiple of 4; nullopt when malformed.
std::optional<std::string> base64_decode(std::string_view text);
// URL-safe alphabet ('-', '_'), padding optional; nullopt when malformed.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace berth
