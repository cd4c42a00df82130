// Incremental SHA-256 / SHA-512 whose state can be saved and restored.
//
// Blob uploads hash while they write. Saving the state after each chunk lets an upload continue after a
// restart, or on another node of a fleet, without reading back what was already written.
// The saved state is an opaque byte string, only meaningful to Hasher::restore on the same algorithm.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace berth {

enum class HashAlgorithm { sha256, sha512 };

class Hasher {
 public:
  explicit Hasher(HashAlgorithm algorithm);
  ~Hasher();
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;
  Hasher(const Hasher&) = delete;
  Hasher& operator=(const Hasher&) = delete;

  HashAlgorithm algorithm() const { return algorithm_; }
  void update(const void* data, size_t len);
  void update(std::string_view data) { update(data.data(), data.size()); }
  // Lowercase hex of the digest of everything fed so far. Does not disturb the running state.
  std::string hex_digest() const;

  // Opaque serialization of the running state; restore() returns nullptr on a malformed state.
  std::string save() const;
  static std::unique_ptr<Hasher> restore(HashAlgorithm algorithm, std::string_view state);

 private:
  struct State;
  HashAlgorithm algorithm_;
  std::unique_ptr<State> state_;
};

// One-shot helpers.
std::string sha256_hex(std::string_view data);
std::string sha512_hex(std::string_view data);
// The 32 raw bytes of HMAC-SHA256 of `data` under `key` (S3 request signing, webhook signatures).
std::string hmac_sha256(std::string_view key, std::string_view data);
// Lowercase hex of raw bytes.
std::string to_hex(std::string_view bytes);

}  // namespace berth
