// Tags read as semantic versions (semver.org 2.0.0), for retention and "newest release" rules.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::oci {

// MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], as a tag may spell it.
struct SemVer {
  uint64_t major = 0;
  uint64_t minor = 0;
  uint64_t patch = 0;
  std::vector<std::string> prerelease;  // the dot-separated identifiers after '-'; empty for a release
  std::string build;                    // the text after '+' (or '_'), without the separator; "" if none
  bool v_prefix = false;                // the tag was written "v1.2.3"

  // Same parsed fields (so "1.2.3+b" == "1.2.3_b"); this is identity, not precedence: see compare().
  friend bool operator==(const SemVer&, const SemVer&) = default;
};

// Parses a whole tag as a semantic version, or nullopt. Accepted beyond semver.org's grammar:
//  - one optional leading lowercase 'v' ("v1.2.3-rc.1"), remembered in v_prefix;
//  - '_' in place of '+' before build metadata ("1.2.3_build.5"), because the OCI tag grammar
//    [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127} has no '+' and Docker/Helm users write '_' instead. Semver
//    identifiers cannot contain '_', so the first '_' always means '+'. A literal '+' is accepted too.
// Rejected: anything not a full MAJOR.MINOR.PATCH (so the floating tags "1", "1.2" and names such as
// "latest" are not versions), four or more numbers, leading zeros in numeric identifiers ("01.2.3",
// "1.2.3-rc.01"), empty identifiers ("1.2.3-", "1.2.3-a..b", "1.2.3_"), characters outside
// [0-9A-Za-z-] in identifiers, and MAJOR/MINOR/PATCH that do not fit in 64 bits.
std::optional<SemVer> parse_semver(std::string_view tag);

// semver.org precedence: MAJOR, MINOR, PATCH numerically; then a pre-release is lower than its release;
// then pre-release identifiers left to right (numeric ones numerically and lower than alphanumeric ones,
// alphanumeric ones in ASCII order; when all shared ones are equal the shorter list is lower). Build
// metadata and the 'v' prefix take no part, so "1.2.3+a", "1.2.3_b" and "v1.2.3" are equivalent without
// being equal: the ordering is weak, not strong.
std::weak_ordering compare(const SemVer& a, const SemVer& b);

// A release has no pre-release identifiers (build metadata does not matter).
bool is_release(const SemVer& v);

// The floating tags a release moves when it is the newest of its line, in the release's own spelling:
// 1.2.3 -> {"1.2", "1"}, v1.2.3 -> {"v1.2", "v1"}, also 0.x (0.4.1 -> {"0.4", "0"}). None for
// pre-releases, which must never move a tag users pull as "the latest 1.x".
std::vector<std::string> floating_tags_of(const SemVer& v);

// Whether a tag is a floating version tag: MAJOR or MAJOR.MINOR with an optional leading 'v' ("1",
// "1.2", "v1", "v1.2"), under the same number rules as parse_semver (no leading zeros, fits 64 bits).
bool is_floating_version_tag(std::string_view tag);

}  // namespace berth::oci
