// Repository names, tags and references (oci/name.h), and what else reads a tag: semantic versions
// (oci/semver.h) and the tag patterns of retention and immutability rules (oci/tag_pattern.h).
//
// Input: the whole input is tried as a repository name, a tag, a reference and a version. For the
// patterns, the text up to the first newline is a comma-separated pattern list and the rest a tag.
#include <compare>
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz/fuzz_support.h"
#include "oci/name.h"
#include "oci/semver.h"
#include "oci/tag_pattern.h"

using namespace berth;

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text = fuzz::as_text(data, size);

  if (oci::is_valid_repository_name(text)) {
    BERTH_FUZZ_CHECK(!text.empty() && text.size() <= oci::kMaxRepositoryNameLength);
    BERTH_FUZZ_CHECK(is_lower_alnum(text.front()) && is_lower_alnum(text.back()));
    BERTH_FUZZ_CHECK(text.find("//") == std::string_view::npos);
    BERTH_FUZZ_CHECK(text.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789._-/") == std::string_view::npos);
  }

  const bool tag = oci::is_valid_tag(text);
  if (tag) BERTH_FUZZ_CHECK(text.size() <= 128 && text.find(':') == std::string_view::npos);

  if (auto subject = oci::tag_schema_subject(text)) {
    BERTH_FUZZ_CHECK(tag);  // what the tag schema names is a tag in the first place
    BERTH_FUZZ_CHECK(text.substr(7, 64) == subject->hex());
  }

  auto reference = oci::Reference::parse(text);
  if (reference.ok()) {
    BERTH_FUZZ_CHECK(reference->str() == text);
    BERTH_FUZZ_CHECK(reference->is_digest() != tag);
  } else {
    BERTH_FUZZ_CHECK(!tag);
    BERTH_FUZZ_CHECK(reference.status().code() == Errc::digest_invalid ||
                     reference.status().code() == Errc::invalid_argument);
  }

  if (auto version = oci::parse_semver(text)) {
    BERTH_FUZZ_CHECK(oci::compare(*version, *version) == std::weak_ordering::equivalent);
    for (const auto& floating : oci::floating_tags_of(*version)) {
      BERTH_FUZZ_CHECK(oci::is_release(*version));
      BERTH_FUZZ_CHECK(oci::is_floating_version_tag(floating));
    }
  }
  (void)oci::is_floating_version_tag(text);

  auto newline = text.find('\n');
  std::string_view list = text.substr(0, newline);
  std::string_view candidate = newline == std::string_view::npos ? std::string_view() : text.substr(newline + 1);
  auto patterns = oci::parse_tag_patterns(list);
  if (patterns.ok()) {
    bool any = oci::matches_any(*patterns, candidate);
    bool each = false;
    for (const auto& p : *patterns) {
      BERTH_FUZZ_CHECK(!p.text().empty() && p.text().size() <= oci::kMaxTagPatternLength);
      bool m = p.matches(candidate);
      each = each || m;
      // Without wildcards a pattern is the tag itself.
      if (p.text().find_first_of("*?") == std::string::npos) BERTH_FUZZ_CHECK(m == (candidate == p.text()));
      if (p.text() == "*") BERTH_FUZZ_CHECK(m);
    }
    BERTH_FUZZ_CHECK(any == each);
  } else {
    BERTH_FUZZ_CHECK(patterns.status().code() == Errc::invalid_argument);
  }
  return 0;
}
