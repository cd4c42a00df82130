// Secrets: access tokens, their stored hashes, and user passwords.
//
// Tokens carry 256 random bits after a recognisable prefix (`berth_pat_`, `berth_ci_`) so that secret
// scanners can find leaked ones. Only SHA-256(token) is stored: a token has full entropy, so a fast hash
// is safe, and it lets a lookup find the token by its hash. Passwords (low entropy) use argon2id.
#pragma once

#include <string>
#include <string_view>

namespace berth::auth {

inline constexpr std::string_view kPatPrefix = "berth_pat_";
inline constexpr std::string_view kCiPrefix = "berth_ci_";

// A new secret: prefix + 43 base62 characters (256 bits).
std::string new_token(std::string_view prefix);
// Whether the text looks like one of our tokens (prefix and length); says nothing about validity.
bool looks_like_token(std::string_view text);
// Lowercase hex SHA-256 of the token: what the store keeps.
std::string token_hash(std::string_view token);
// The first characters shown in listings ("berth_pat_Ab3d…").
std::string token_hint(std::string_view token);

// Compares in time independent of where the inputs differ.
bool constant_time_equals(std::string_view a, std::string_view b);

// argon2id (libsodium's interactive limits). Empty string if hashing failed (out of memory).
std::string hash_password(std::string_view password);
bool verify_password(std::string_view password, const std::string& hash);

}  // namespace berth::auth
