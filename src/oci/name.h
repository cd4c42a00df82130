// Repository names, tags and manifest references, per the distribution-spec grammar.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "common/status.h"
#include "oci/digest.h"

namespace berth::oci {

inline constexpr size_t kMaxRepositoryNameLength = 255;

// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*, at most 255 characters.
bool is_valid_repository_name(std::string_view name);
// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool is_valid_tag(std::string_view tag);

// The manifest a tag of the tag schema names: `sha256-<64 hex>` (the referrers tag schema's index) or
// with a suffix of lowercase letters (cosign's `.sig`, `.att`, `.sbom`, containers/image's sigstore
// attachments). nullopt for any other tag.
std::optional<Digest> tag_schema_subject(std::string_view tag);

// The <reference> of /v2/<name>/manifests/<reference>: a tag or a digest.
class Reference {
 public:
  // A string containing ':' must be a valid digest (Errc::digest_invalid otherwise); anything else must
  // be a valid tag (Errc::invalid_argument otherwise: the spec has no tag code, so api/ chooses one that
  // fits the request, MANIFEST_INVALID on push and MANIFEST_UNKNOWN on pull).
  static Result<Reference> parse(std::string_view text);
  static Reference of_tag(std::string tag) { return Reference(std::move(tag)); }
  static Reference of_digest(Digest digest) { return Reference(std::move(digest)); }

  bool is_digest() const { return std::holds_alternative<Digest>(v_); }
  bool is_tag() const { return !is_digest(); }
  const Digest& digest() const { return std::get<Digest>(v_); }
  const std::string& tag() const { return std::get<std::string>(v_); }
  std::string str() const { return is_digest() ? digest().str() : tag(); }

 private:
  explicit Reference(std::string tag) : v_(std::move(tag)) {}
  explicit Reference(Digest digest) : v_(std::move(digest)) {}
  std::variant<std::string, Digest> v_;
};

}  // namespace berth::oci
