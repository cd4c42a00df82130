#include "auth/secrets.h"

#include <openssl/crypto.h>
#include <sodium.h>

#include <cstdlib>

#include "common/hasher.h"
#include "common/random.h"

namespace berth::auth {

namespace {
constexpr char kBase62[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
constexpr size_t kTokenChars = 43;  // 62^43 > 2^256
}  // namespace

std::string new_token(std::string_view prefix) {
  std::string out(prefix);
  // Rejection sampling keeps every character uniform: bytes >= 248 (= 4 * 62) are drawn again.
  while (out.size() < prefix.size() + kTokenChars) {
    unsigned char buf[64];
    random_bytes(buf, sizeof buf);
    for (unsigned char b : buf) {
      if (b < 248 && out.size() < prefix.size() + kTokenChars) out.push_back(kBase62[b % 62]);
    }
  }
  return out;
}

bool looks_like_token(std::string_view text) {
  for (auto prefix : {kPatPrefix, kCiPrefix}) {
    if (text.size() == prefix.size() + kTokenChars && text.substr(0, prefix.size()) == prefix) return true;
  }
  return false;
}

std::string token_hash(std::string_view token) { return sha256_hex(token); }

std::string token_hint(std::string_view token) {
  auto underscore = token.rfind('_');
  size_t keep = underscore == std::string_view::npos ? 4 : underscore + 1 + 4;
  return std::string(token.substr(0, std::min(keep, token.size()))) + "...";
}

bool constant_time_equals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string hash_password(std::string_view password) {
  if (sodium_init() < 0) return {};
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str(out, password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                        crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0) {
    return {};
  }
  return out;
}

bool verify_password(std::string_view password, const std::string& hash) {
  if (hash.empty() || sodium_init() < 0) return false;
  return crypto_pwhash_str_verify(hash.c_str(), password.data(), password.size()) == 0;
}

}  // namespace berth::auth
