// Percent-encoding (RFC 3986 §2.1): every byte but the unreserved characters (letters, digits, '-', '.',
// '_', '~') as %XX. For a path segment or a query value built from a name (packages API links, token
// requests to another registry).
#pragma once

#include <string>
#include <string_view>

namespace berth {

inline std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    const bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                            c == '.' || c == '_' || c == '~';
    if (unreserved) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

}  // namespace berth
