// Short-lived signed bearer tokens (the Docker token authentication spec's JWTs), ES256 (RFC 7518 §3.4),
// signed and verified with OpenSSL's EVP API (jwt.cc).
//
// Every node verifies with the public key alone, so a fleet needs no shared session store: nodes share
// the signing key file (or a node that only verifies could be given just the public key).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct evp_pkey_st;  // OpenSSL's EVP_PKEY

namespace berth::auth {

struct AccessEntry {
  std::string type;  // "repository" | "registry"
  std::string name;
  std::vector<std::string> actions;
};

struct TokenClaims {
  std::string subject;  // user name, empty for anonymous
  std::string kind;     // "user" | "ci" | "anonymous"
  std::string audience; // the service name
  int64_t issued_at = 0;
  int64_t expires_at = 0;
  std::vector<AccessEntry> access;
  // What the access token behind this JWT allowed, so decisions made with the JWT apply the same caps.
  std::vector<std::string> scopes;
  std::vector<std::string> packages;
  // The subject's revocation epoch when issued ("rev"; IdentityStore::revocation_epoch). Absent: 0.
  int64_t epoch = 0;
};

class TokenSigner {
 public:
  // Loads the PEM private key (P-256), creating it with mode 0600 if the file does not exist.
  // Errors: io_error (cannot read/write the file), invalid_argument (not a P-256 key).
  static Result<std::unique_ptr<TokenSigner>> load_or_create(const std::filesystem::path& key_file,
                                                             std::string issuer);
  ~TokenSigner();

  Result<std::string> sign(const TokenClaims& claims) const;
  // Checks the algorithm (ES256 only: no "none", no HMAC with the public key as secret), the
  // signature, the issuer, the audience and the validity period (with 30 s of leeway for clock skew).
  // Errors: unauthorized with a message saying what is wrong.
  Result<TokenClaims> verify(std::string_view token, const std::string& audience, int64_t now) const;

  const std::string& issuer() const { return issuer_; }

 private:
  struct KeyFree {
    void operator()(evp_pkey_st* key) const;
  };
  using KeyPtr = std::unique_ptr<evp_pkey_st, KeyFree>;
  TokenSigner(KeyPtr key, std::string issuer) : key_(std::move(key)), issuer_(std::move(issuer)) {}
  // The P-256 key pair, parsed once. Only read after construction, so signing and verifying may run
  // concurrently on any number of threads (each call uses its own EVP_MD_CTX).
  KeyPtr key_;
  std::string issuer_;
};

}  // namespace berth::auth
