#include "oci/name.h"

namespace berth::oci {

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

bool is_tag_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
}

// Consumes [a-z0-9]+ at i; false if there is not at least one such character.
bool scan_alnum_run(std::string_view s, size_t& i) {
  size_t start = i;
  while (i < s.size() && is_lower_alnum(s[i])) ++i;
  return i > start;
}

// Consumes one separator (\.|_|__|-+) at i; false (i unchanged) if none starts there.
bool scan_separator(std::string_view s, size_t& i) {
  if (i >= s.size()) return false;
  switch (s[i]) {
    case '.':
      ++i;
      return true;
    case '_':
      ++i;
      if (i < s.size() && s[i] == '_') ++i;
      return true;
    case '-':
      while (i < s.size() && s[i] == '-') ++i;
      return true;
    default:
      return false;
  }
}

// One path component: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*
bool scan_component(std::string_view s, size_t& i) {
  if (!scan_alnum_run(s, i)) return false;
  // A separator must be followed by alphanumerics, so "a___b" fails here: "__" then "_" is not [a-z0-9].
  while (scan_separator(s, i)) {
    if (!scan_alnum_run(s, i)) return false;
  }
  return true;
}

}  // namespace

// A hand-written scanner rather than std::regex: every /v2 request validates a name, and the grammar is
// a plain sequence that never needs backtracking (each separator kind is decided by its first character).
bool is_valid_repository_name(std::string_view name) {
  if (name.empty() || name.size() > kMaxRepositoryNameLength) return false;
  size_t i = 0;
  for (;;) {
    if (!scan_component(name, i)) return false;
    if (i == name.size()) return true;
    if (name[i] != '/') return false;
    ++i;
  }
}

bool is_valid_tag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  if (tag[0] == '.' || tag[0] == '-') return false;
  for (char c : tag) {
    if (!is_tag_char(c)) return false;
  }
  return true;
}

std::optional<Digest> tag_schema_subject(std::string_view tag) {
  constexpr std::string_view kPrefix = "sha256-";
  constexpr size_t kHex = 64;
  if (!tag.starts_with(kPrefix) || tag.size() < kPrefix.size() + kHex) return std::nullopt;
  std::string_view suffix = tag.substr(kPrefix.size() + kHex);
  if (!suffix.empty()) {
    if (suffix.front() != '.' || suffix.size() < 2 || suffix.size() > 17) return std::nullopt;
    for (char c : suffix.substr(1)) {
      if (c < 'a' || c > 'z') return std::nullopt;
    }
  }
  auto digest = Digest::parse("sha256:" + std::string(tag.substr(kPrefix.size(), kHex)));
  if (!digest.ok()) return std::nullopt;
  return std::move(digest).value();
}

Result<Reference> Reference::parse(std::string_view text) {
  // Tags cannot contain ':', so a colon is an unambiguous sign the client meant a digest.
  if (text.find(':') != std::string_view::npos) {
    auto digest = Digest::parse(text);
    if (!digest.ok()) return digest.status();
    return Reference(std::move(digest).value());
  }
  if (!is_valid_tag(text)) {
    return Status(Errc::invalid_argument,
                  "invalid tag: must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}");
  }
  return Reference(std::string(text));
}

}  // namespace berth::oci
