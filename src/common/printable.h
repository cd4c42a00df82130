// Text from the network made safe for one-line records (the audit log, the access log): control
// characters and bytes that are not printable ASCII are written as escapes (\n, \t, \xNN), so a value
// can neither forge a line nor carry terminal escapes into `berth admin audit`.
#pragma once

#include <string>
#include <string_view>

namespace berth {

inline std::string printable(std::string_view text) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c >= 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace berth
