// Glob patterns over tags, for retention and immutability rules ("latest,v*,release-?").
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/status.h"

namespace berth::oci {

inline constexpr size_t kMaxTagPatternLength = 128;

// '*' matches any run of characters (including none), '?' exactly one, anything else itself (so '.' is a
// literal dot). A pattern matches the whole tag, not a prefix: "v1" does not match "v1.2".
class TagPattern {
 public:
  // Errors (Errc::invalid_argument): empty, longer than 128 characters, a character other than
  // [a-zA-Z0-9._-*?], or a leading '.' or '-' (no tag starts with one, so the rule could never apply).
  static Result<TagPattern> parse(std::string_view text);

  // Linear in practice and O(pattern * tag) at worst: no exponential backtracking, however many '*'.
  bool matches(std::string_view tag) const;
  const std::string& text() const { return text_; }

 private:
  explicit TagPattern(std::string text) : text_(std::move(text)) {}
  std::string text_;
};

// A comma-separated list ("latest, v*, release-?"); whitespace around items is ignored. An empty or
// all-blank list is no patterns; an empty item ("a,,b", "a,") is an error, as is any invalid pattern,
// and the message names the item.
Result<std::vector<TagPattern>> parse_tag_patterns(std::string_view comma_list);

bool matches_any(const std::vector<TagPattern>& patterns, std::string_view tag);

}  // namespace berth::oci
