// Content digests ("sha256:<64 hex>", "sha512:<128 hex>"), validated before anything builds a path from one.
#pragma once

#include <compare>
#include <functional>
#include <string>
#include <string_view>

#include "common/hasher.h"
#include "common/status.h"

namespace berth::oci {

class Digest {
 public:
  // Accepts only the registered algorithms sha256 and sha512 with lowercase hex of the right length.
  // Errors: digest_invalid for anything else (including uppercase hex and unknown algorithms).
  static Result<Digest> parse(std::string_view text);
  // The digest of the given bytes.
  static Digest of(std::string_view bytes, HashAlgorithm algorithm = HashAlgorithm::sha256);
  // From a finished hasher.
  static Digest from_hasher(const Hasher& hasher);

  HashAlgorithm algorithm() const { return algorithm_; }
  std::string_view algorithm_name() const;  // "sha256" | "sha512"
  std::string_view hex() const;             // the encoded part, without "alg:"
  const std::string& str() const { return text_; }

  friend bool operator==(const Digest& a, const Digest& b) { return a.text_ == b.text_; }
  friend auto operator<=>(const Digest& a, const Digest& b) { return a.text_ <=> b.text_; }

 private:
  Digest(HashAlgorithm algorithm, std::string text) : algorithm_(algorithm), text_(std::move(text)) {}
  HashAlgorithm algorithm_ = HashAlgorithm::sha256;
  std::string text_;
};

}  // namespace berth::oci

template <>
struct std::hash<berth::oci::Digest> {
  size_t operator()(const berth::oci::Digest& d) const noexcept { return std::hash<std::string>()(d.str()); }
};
