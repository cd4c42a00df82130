#include "common/hasher.h"

// The low-level SHA256_CTX / SHA512_CTX API is deprecated in OpenSSL 3 but is the only one whose state is
// a plain struct we can save and restore; it runs the same assembly (SHA-NI, AVX2) as EVP.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstring>

namespace berth {

struct Hasher::State {
  SHA256_CTX sha256;
  SHA512_CTX sha512;
};

namespace {
// Saved states start with a tag and the struct size, so a state from another build or algorithm is refused.
constexpr char kTag256 = '2';
constexpr char kTag512 = '5';
}  // namespace

Hasher::Hasher(HashAlgorithm algorithm) : algorithm_(algorithm), state_(std::make_unique<State>()) {
  if (algorithm_ == HashAlgorithm::sha256) {
    SHA256_Init(&state_->sha256);
  } else {
    SHA512_Init(&state_->sha512);
  }
}

Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(const void* data, size_t len) {
  if (algorithm_ == HashAlgorithm::sha256) {
    SHA256_Update(&state_->sha256, data, len);
  } else {
    SHA512_Update(&state_->sha512, data, len);
  }
}

std::string Hasher::hex_digest() const {
  if (algorithm_ == HashAlgorithm::sha256) {
    SHA256_CTX copy = state_->sha256;
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256_Final(md, &copy);
    return to_hex(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
  }
  SHA512_CTX copy = state_->sha512;
  unsigned char md[SHA512_DIGEST_LENGTH];
  SHA512_Final(md, &copy);
  return to_hex(std::string_view(reinterpret_cast<const char*>(md), sizeof md));
}

std::string Hasher::save() const {
  std::string out;
  if (algorithm_ == HashAlgorithm::sha256) {
    out.push_back(kTag256);
    out.push_back(static_cast<char>(sizeof(SHA256_CTX)));
    out.append(reinterpret_cast<const char*>(&state_->sha256), sizeof(SHA256_CTX));
  } else {
    out.push_back(kTag512);
    out.push_back(static_cast<char>(sizeof(SHA512_CTX)));
    out.append(reinterpret_cast<const char*>(&state_->sha512), sizeof(SHA512_CTX));
  }
  return out;
}

std::unique_ptr<Hasher> Hasher::restore(HashAlgorithm algorithm, std::string_view state) {
  auto h = std::make_unique<Hasher>(algorithm);
  if (algorithm == HashAlgorithm::sha256) {
    if (state.size() != 2 + sizeof(SHA256_CTX) || state[0] != kTag256 ||
        static_cast<unsigned char>(state[1]) != sizeof(SHA256_CTX)) {
      return nullptr;
    }
    SHA256_CTX ctx;
    std::memcpy(&ctx, state.data() + 2, sizeof ctx);
    // OpenSSL trusts num as an offset into its block buffer and md_len to size the output: a corrupted
    // state would write out of bounds on update() or leave the digest unset, so check both.
    if (ctx.md_len != SHA256_DIGEST_LENGTH || ctx.num >= SHA256_CBLOCK || ctx.num != ((ctx.Nl >> 3) & 63)) {
      return nullptr;
    }
    h->state_->sha256 = ctx;
  } else {
    if (state.size() != 2 + sizeof(SHA512_CTX) || state[0] != kTag512 ||
        static_cast<unsigned char>(state[1]) != sizeof(SHA512_CTX)) {
      return nullptr;
    }
    SHA512_CTX ctx;
    std::memcpy(&ctx, state.data() + 2, sizeof ctx);
    if (ctx.md_len != SHA512_DIGEST_LENGTH || ctx.num >= SHA512_CBLOCK || ctx.num != ((ctx.Nl >> 3) & 127)) {
      return nullptr;
    }
    h->state_->sha512 = ctx;
  }
  return h;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out(bytes.size() * 2, '\0');
  for (size_t i = 0; i < bytes.size(); ++i) {
    const auto b = static_cast<unsigned char>(bytes[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 0xf];
  }
  return out;
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // HMAC-SHA256 cannot fail for in-memory inputs short of memory exhaustion; an empty result then makes
  // the signature wrong, which the peer reports, rather than crashing here.
  if (!HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &len)) {
    return std::string();
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string sha256_hex(std::string_view data) {
  Hasher h(HashAlgorithm::sha256);
  h.update(data);
  return h.hex_digest();
}

std::string sha512_hex(std::string_view data) {
  Hasher h(HashAlgorithm::sha512);
  h.update(data);
  return h.hex_digest();
}

}  // namespace berth
