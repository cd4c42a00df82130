#include "oci/tag_pattern.h"

#include <algorithm>
#include <cstddef>
#include <cstdio>

namespace berth::oci {

namespace {

bool is_pattern_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-' || c == '*' || c == '?';
}

// Patterns come from configuration and API requests, so the text echoed in a message is bounded and
// control or non-ASCII bytes are escaped: the message must stay one readable line.
std::string quote(std::string_view s) {
  constexpr size_t kMax = 160;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f || c == '"' || c == '\\') {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", u);
      out += buf;
    } else {
      out += c;
    }
  }
  if (s.size() > kMax) out += "...";
  return out + "\"";
}

Status invalid(std::string_view text, const std::string& why) {
  return Status(Errc::invalid_argument, "invalid tag pattern " + quote(text) + ": " + why);
}

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

}  // namespace

Result<TagPattern> TagPattern::parse(std::string_view text) {
  if (text.empty()) return invalid(text, "empty");
  if (text.size() > kMaxTagPatternLength) {
    return invalid(text, "longer than " + std::to_string(kMaxTagPatternLength) + " characters");
  }
  for (size_t i = 0; i < text.size(); ++i) {
    if (!is_pattern_char(text[i])) {
      return invalid(text, "character " + quote(text.substr(i, 1)) + " at position " + std::to_string(i) +
                               " is not allowed (tags use [a-zA-Z0-9._-]; patterns add * and ?)");
    }
  }
  if (text[0] == '.' || text[0] == '-') {
    return invalid(text, "no tag starts with '.' or '-', so it would never match");
  }
  return TagPattern(std::string(text));
}

// The classic two-pointer wildcard match: on a mismatch, only the most recent '*' is retried, one more
// character wider. Earlier stars never need revisiting (whatever the later star would have absorbed, it
// still can), so the work is bounded by pattern length times tag length instead of growing
// exponentially with the number of stars, as naive recursion does on "a*a*a*a*b" against "aaaa...".
bool TagPattern::matches(std::string_view tag) const {
  std::string_view p = text_;
  size_t pi = 0;
  size_t ti = 0;
  size_t star = std::string_view::npos;  // position of the last '*' seen in p
  size_t star_ti = 0;                    // where in tag that star's run currently ends
  while (ti < tag.size()) {
    if (pi < p.size() && (p[pi] == '?' || (p[pi] != '*' && p[pi] == tag[ti]))) {
      ++pi;
      ++ti;
    } else if (pi < p.size() && p[pi] == '*') {
      star = pi++;
      star_ti = ti;
    } else if (star != std::string_view::npos) {
      pi = star + 1;
      ti = ++star_ti;
    } else {
      return false;
    }
  }
  // The tag is used up: the rest of the pattern matches nothing only if it is all stars.
  return std::all_of(p.begin() + static_cast<std::ptrdiff_t>(pi), p.end(), [](char c) { return c == '*'; });
}

Result<std::vector<TagPattern>> parse_tag_patterns(std::string_view comma_list) {
  std::vector<TagPattern> out;
  if (trim(comma_list).empty()) return out;
  size_t item = 1;
  for (;;) {
    size_t comma = comma_list.find(',');
    std::string_view text = trim(comma_list.substr(0, comma));
    if (text.empty()) {
      return Status(Errc::invalid_argument,
                    "tag pattern list: item " + std::to_string(item) + " is empty (stray comma?)");
    }
    auto pattern = TagPattern::parse(text);
    if (!pattern.ok()) {
      return Status(Errc::invalid_argument,
                    "tag pattern list: item " + std::to_string(item) + ": " + pattern.status().message());
    }
    out.push_back(std::move(pattern).value());
    if (comma == std::string_view::npos) return out;
    comma_list.remove_prefix(comma + 1);
    ++item;
  }
}

bool matches_any(const std::vector<TagPattern>& patterns, std::string_view tag) {
  return std::any_of(patterns.begin(), patterns.end(), [&](const TagPattern& p) { return p.matches(tag); });
}

}  // namespace berth::oci
