#include "oci/digest.h"

namespace berth::oci {

namespace {
bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}
}  // namespace

Result<Digest> Digest::parse(std::string_view text) {
  auto colon = text.find(':');
  if (colon == std::string_view::npos) {
    return Status(Errc::digest_invalid, "digest must be <algorithm>:<hex>");
  }
  std::string_view alg = text.substr(0, colon);
  std::string_view hex = text.substr(colon + 1);
  HashAlgorithm algorithm;
  size_t want;
  if (alg == "sha256") {
    algorithm = HashAlgorithm::sha256;
    want = 64;
  } else if (alg == "sha512") {
    algorithm = HashAlgorithm::sha512;
    want = 128;
  } else {
    return Status(Errc::digest_invalid, "unsupported digest algorithm");
  }
  if (hex.size() != want || !is_lower_hex(hex)) {
    return Status(Errc::digest_invalid, "digest hex must be " + std::to_string(want) + " lowercase hex characters");
  }
  return Digest(algorithm, std::string(text));
}

Digest Digest::of(std::string_view bytes, HashAlgorithm algorithm) {
  Hasher h(algorithm);
  h.update(bytes);
  return from_hasher(h);
}

Digest Digest::from_hasher(const Hasher& hasher) {
  std::string text = hasher.algorithm() == HashAlgorithm::sha256 ? "sha256:" : "sha512:";
  text += hasher.hex_digest();
  return Digest(hasher.algorithm(), std::move(text));
}

std::string_view Digest::algorithm_name() const {
  return algorithm_ == HashAlgorithm::sha256 ? "sha256" : "sha512";
}

std::string_view Digest::hex() const { return std::string_view(text_).substr(algorithm_name().size() + 1); }

}  // namespace berth::oci
