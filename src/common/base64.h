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

// URL-safe alphabet ('-', '_'), no padding (RFC 4648 §5, as JWS/JWT use it: RFC 7515 §2).
std::string base64url_encode(std::string_view bytes);
// The inverse of base64url_encode, strictly: only the 64 URL-safe characters, no '=' padding, no
// whitespace, no length of 4n+1, and the unused low bits of the last character must be zero (so every
// byte string has exactly one accepted encoding). nullopt when malformed.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace berth
