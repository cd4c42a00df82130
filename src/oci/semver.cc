#include "oci/semver.h"

#include <algorithm>
#include <charconv>

namespace berth::oci {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool is_identifier_char(char c) {
  return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-';
}

bool is_numeric(std::string_view id) { return !id.empty() && std::all_of(id.begin(), id.end(), is_digit); }

// Consumes a MAJOR/MINOR/PATCH number at i: "0" or [1-9][0-9]*, fitting in 64 bits.
std::optional<uint64_t> scan_number(std::string_view s, size_t& i) {
  size_t start = i;
  while (i < s.size() && is_digit(s[i])) ++i;
  std::string_view digits = s.substr(start, i - start);
  if (digits.empty() || (digits.size() > 1 && digits[0] == '0')) return std::nullopt;
  uint64_t value = 0;
  // from_chars reports out-of-range instead of wrapping, so 2^64 is rejected rather than read as 0.
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return value;
}

// Splits dot-separated identifiers; false if one is empty or has a character outside [0-9A-Za-z-], or
// (for pre-release, where numbers are compared) is numeric with a leading zero.
bool split_identifiers(std::string_view s, bool numeric_leading_zero_ok, std::vector<std::string>& out) {
  for (;;) {
    size_t dot = s.find('.');
    std::string_view id = s.substr(0, dot);
    if (id.empty() || !std::all_of(id.begin(), id.end(), is_identifier_char)) return false;
    if (!numeric_leading_zero_ok && is_numeric(id) && id.size() > 1 && id[0] == '0') return false;
    out.emplace_back(id);
    if (dot == std::string_view::npos) return true;
    s.remove_prefix(dot + 1);
  }
}

// Numeric pre-release identifiers have no size limit in semver, so they are compared as decimal strings
// (length first, once leading zeros are gone) rather than converted and risking overflow.
std::weak_ordering compare_numeric(std::string_view a, std::string_view b) {
  a.remove_prefix(std::min(a.find_first_not_of('0'), a.size()));
  b.remove_prefix(std::min(b.find_first_not_of('0'), b.size()));
  if (a.size() != b.size()) return a.size() <=> b.size();
  return a.compare(b) <=> 0;
}

std::weak_ordering compare_identifier(std::string_view a, std::string_view b) {
  bool a_num = is_numeric(a);
  bool b_num = is_numeric(b);
  if (a_num && b_num) return compare_numeric(a, b);
  if (a_num != b_num) return a_num ? std::weak_ordering::less : std::weak_ordering::greater;
  return a.compare(b) <=> 0;
}

}  // namespace

std::optional<SemVer> parse_semver(std::string_view tag) {
  SemVer v;
  size_t i = 0;
  if (i < tag.size() && tag[i] == 'v') {
    v.v_prefix = true;
    ++i;
  }
  uint64_t* parts[] = {&v.major, &v.minor, &v.patch};
  for (size_t p = 0; p < 3; ++p) {
    if (p > 0) {
      if (i >= tag.size() || tag[i] != '.') return std::nullopt;
      ++i;
    }
    auto n = scan_number(tag, i);
    if (!n) return std::nullopt;
    *parts[p] = *n;
  }
  std::string_view rest = tag.substr(i);
  // Identifiers never contain '+' or '_', so the first of either ends the pre-release.
  size_t build_at = rest.find_first_of("+_");
  std::string_view pre = rest.substr(0, build_at);
  if (!pre.empty()) {
    if (pre[0] != '-') return std::nullopt;  // "1.2.3.4", "1.2.3rc1"
    if (!split_identifiers(pre.substr(1), /*numeric_leading_zero_ok=*/false, v.prerelease)) return std::nullopt;
  }
  if (build_at != std::string_view::npos) {
    std::string_view build = rest.substr(build_at + 1);
    // Build identifiers are never compared, so semver allows leading zeros there ("+001").
    std::vector<std::string> ids;
    if (!split_identifiers(build, /*numeric_leading_zero_ok=*/true, ids)) return std::nullopt;
    v.build = std::string(build);
  }
  return v;
}

std::weak_ordering compare(const SemVer& a, const SemVer& b) {
  if (auto c = a.major <=> b.major; c != 0) return c;
  if (auto c = a.minor <=> b.minor; c != 0) return c;
  if (auto c = a.patch <=> b.patch; c != 0) return c;
  // A release outranks every pre-release of its version, though it has the fewer identifiers.
  if (a.prerelease.empty() != b.prerelease.empty()) {
    return a.prerelease.empty() ? std::weak_ordering::greater : std::weak_ordering::less;
  }
  size_t n = std::min(a.prerelease.size(), b.prerelease.size());
  for (size_t k = 0; k < n; ++k) {
    if (auto c = compare_identifier(a.prerelease[k], b.prerelease[k]); c != 0) return c;
  }
  return a.prerelease.size() <=> b.prerelease.size();
}

bool is_release(const SemVer& v) { return v.prerelease.empty(); }

std::vector<std::string> floating_tags_of(const SemVer& v) {
  if (!is_release(v)) return {};
  std::string prefix = v.v_prefix ? "v" : "";
  std::string major = prefix + std::to_string(v.major);
  return {major + "." + std::to_string(v.minor), major};
}

bool is_floating_version_tag(std::string_view tag) {
  size_t i = 0;
  if (i < tag.size() && tag[i] == 'v') ++i;
  if (!scan_number(tag, i)) return false;
  if (i == tag.size()) return true;
  if (tag[i] != '.') return false;
  ++i;
  return scan_number(tag, i) && i == tag.size();
}

}  // namespace berth::oci
