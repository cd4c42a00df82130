// ES256 (RFC 7518 §3.4) on OpenSSL's EVP API: what TokenSigner signs and verifies with, exposed for tests
// (RFC 7515's published example, malformed signatures). Not part of auth/'s interface.
#pragma once

#include <openssl/types.h>

#include <string>
#include <string_view>

#include "common/status.h"

namespace berth::auth::detail {

// JWS carries an ES256 signature as the raw pair R||S, each left-padded to 32 bytes (not DER).
inline constexpr size_t kEs256SignatureSize = 64;

// ECDSA P-256 with SHA-256 over signing_input ("b64url(header).b64url(payload)"), as R||S.
// Errors: internal (OpenSSL failed, or the key is not an EC P-256 private key).
Result<std::string> sign_es256(std::string_view signing_input, EVP_PKEY* private_key);

// True iff raw_sig is exactly 64 bytes R||S and a valid ECDSA/SHA-256 signature of signing_input by
// public_key (which must be P-256). Out-of-range components (0, or ≥ the group order) are refused.
bool verify_es256(std::string_view signing_input, std::string_view raw_sig, EVP_PKEY* public_key);

}  // namespace berth::auth::detail
