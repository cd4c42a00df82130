// Which tags of a package its rules protect (docs/lifecycle.md, "Immutable tags and the semver policy"):
// the immutable patterns of the package and of its owner, and the package's semver policy. The store
// enforces them inside the transactions that move or delete tags (tag_rules_impl.h); retention reads the
// same answer (PackageStore::tag_protection) so that it never plans to delete what would be refused.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "oci/semver.h"
#include "oci/tag_pattern.h"

namespace berth::meta {

struct TagProtection {
  struct Rule {
    oci::TagPattern pattern;
    bool package_only = false;  // a rule of this package, not of its owner
  };
  std::string owner;
  std::vector<Rule> immutable;
  int64_t semver_policy = 0;  // SemverPolicy: 0 off, 1 on, 2 on and floating tags move

  bool none() const { return immutable.empty() && semver_policy == 0; }

  // Why `tag` may not move or go (a message for DENIED), or nullopt when nothing protects it.
  std::optional<std::string> why(std::string_view tag) const {
    for (const Rule& r : immutable) {
      if (r.pattern.matches(tag)) {
        return "tag '" + std::string(tag) + "' is immutable (rule '" + r.pattern.text() + "' of " +
               (r.package_only ? std::string("this package") : "owner " + owner) + ")";
      }
    }
    if (semver_policy > 0 && oci::parse_semver(tag)) {
      return "tag '" + std::string(tag) + "' is a semantic version: immutable under this package's semver policy";
    }
    return std::nullopt;
  }
};

}  // namespace berth::meta
