#include "oci/range.h"

#include <limits>
#include <string>

namespace berth::oci {

namespace {

bool is_ows(char c) { return c == ' ' || c == '\t'; }

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && is_ows(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_ows(s.back())) s.remove_suffix(1);
  return s;
}

bool starts_with_ignore_case(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != prefix[i]) return false;
  }
  return true;
}

// Digits only: no sign, no whitespace, no empty string, no overflow. std::stoull would accept " 1",
// "+1" and "-1" (wrapping it to 2^64-1) and throws on the rest.
bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (v > (std::numeric_limits<uint64_t>::max() - d) / 10) return false;
    v = v * 10 + d;
  }
  out = v;
  return true;
}

Status invalid(std::string message) { return Status(Errc::range_invalid, std::move(message)); }

}  // namespace

Result<ByteRange> parse_range_header(std::string_view header, uint64_t size) {
  std::string_view s = trim_ows(header);
  // Range units are case-insensitive (RFC 9110 14.1).
  if (!starts_with_ignore_case(s, "bytes=")) return invalid("Range must be of the form bytes=first-last");
  s = trim_ows(s.substr(6));
  if (s.find(',') != std::string_view::npos) return invalid("multiple ranges are not supported");
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) return invalid("Range must be of the form bytes=first-last");
  std::string_view first_text = s.substr(0, dash);
  std::string_view last_text = s.substr(dash + 1);

  // Syntax first, so a malformed header gets the more useful message even against an empty blob.
  if (first_text.empty()) {
    // bytes=-N: the last N bytes.
    uint64_t suffix = 0;
    if (!parse_u64(last_text, suffix)) return invalid("malformed suffix length in Range");
    if (suffix == 0) return invalid("range not satisfiable: zero-length suffix");
    if (size == 0) return invalid("range not satisfiable: the blob is empty");
    if (suffix > size) suffix = size;
    return ByteRange{size - suffix, size - 1};
  }

  uint64_t first = 0;
  if (!parse_u64(first_text, first)) return invalid("malformed first byte position in Range");
  uint64_t last = std::numeric_limits<uint64_t>::max();
  if (!last_text.empty()) {
    if (!parse_u64(last_text, last)) return invalid("malformed last byte position in Range");
    if (last < first) return invalid("Range last byte position is before the first");
  }
  if (size == 0) return invalid("range not satisfiable: the blob is empty");
  if (first >= size) {
    return invalid("range not satisfiable: first byte " + std::to_string(first) + " is beyond the blob size " +
                   std::to_string(size));
  }
  if (last >= size) last = size - 1;
  return ByteRange{first, last};
}

Result<ByteRange> parse_content_range(std::string_view header) {
  std::string_view s = trim_ows(header);
  if (starts_with_ignore_case(s, "bytes ")) s = trim_ows(s.substr(6));
  size_t dash = s.find('-');
  if (dash == std::string_view::npos) return invalid("Content-Range must be of the form first-last");
  uint64_t first = 0;
  uint64_t last = 0;
  if (!parse_u64(s.substr(0, dash), first) || !parse_u64(s.substr(dash + 1), last)) {
    return invalid("Content-Range must be of the form first-last with decimal byte positions");
  }
  if (last < first) return invalid("Content-Range last byte position is before the first");
  // Its length, last - first + 1, must fit: 0-18446744073709551615 would make a chunk of 0 bytes.
  if (last == std::numeric_limits<uint64_t>::max()) return invalid("Content-Range last byte position is out of range");
  return ByteRange{first, last};
}

}  // namespace berth::oci
