#include "auth/jwt.h"

#include <fcntl.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <nlohmann/json.hpp>

#include "auth/jwt_es256.h"
#include "common/base64.h"
#include "common/random.h"

namespace berth::auth {

namespace {

constexpr int64_t kLeewaySeconds = 30;
constexpr size_t kMaxTokenSize = 16 * 1024;
// A PEM P-256 key is a few hundred bytes; refuse to slurp anything absurd.
constexpr size_t kMaxKeyFileSize = 64 * 1024;
// base64url({"alg":"ES256","typ":"JWT"}): the header every token gets, byte for byte what libjwt wrote
// before, so tokens issued by older nodes of a fleet and by newer ones look the same.
constexpr std::string_view kHeader = "eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9";
constexpr size_t kCoordinateSize = detail::kEs256SignatureSize / 2;

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* p) const { EVP_MD_CTX_free(p); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* p) const { ECDSA_SIG_free(p); }
};
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
struct OpensslFree {
  void operator()(unsigned char* p) const { OPENSSL_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
using BioPtr = std::unique_ptr<BIO, BioFree>;
using MdCtxPtr = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, EcdsaSigFree>;
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

// Wipes a string that held key material before its memory is released.
struct Cleansed {
  std::string& s;
  ~Cleansed() { OPENSSL_cleanse(s.data(), s.size()); }
};

// An encrypted key file must fail to load, not make OpenSSL prompt for a pass phrase on a terminal.
int no_pass_phrase(char*, int, int, void*) { return -1; }

// EC on the NIST P-256 curve (prime256v1), by name: EVP_PKEY_get_bits() alone would also let through
// other 256-bit curves (secp256k1, brainpoolP256r1), which ES256 verifiers elsewhere would not accept.
bool is_p256(EVP_PKEY* key) {
  if (!EVP_PKEY_is_a(key, "EC")) return false;
  char group[80];
  size_t len = 0;
  if (EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &len) != 1) return false;
  int nid = OBJ_sn2nid(group);
  if (nid == NID_undef) nid = EC_curve_nist2nid(group);
  return nid == NID_X9_62_prime256v1;
}

Result<PkeyPtr> parse_private_key(const std::string& pem) {
  BioPtr in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  PkeyPtr key(in ? PEM_read_bio_PrivateKey(in.get(), nullptr, no_pass_phrase, nullptr) : nullptr);
  ERR_clear_error();
  if (!key) return Status(Errc::invalid_argument, "the token signing key is not a PEM private key");
  if (!is_p256(key.get())) return Status(Errc::invalid_argument, "the token signing key must be an EC P-256 key (ES256)");
  return key;
}

Result<std::string> read_key_file(const std::filesystem::path& key_file) {
  int fd = ::open(key_file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status(Errc::io_error, "cannot read token signing key " + key_file.string());
  std::string pem;
  Cleansed wipe{pem};  // on the error paths; on success the key moves out
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 || pem.size() + static_cast<size_t>(n) > kMaxKeyFileSize) {
      OPENSSL_cleanse(buf, sizeof buf);
      ::close(fd);
      return Status(Errc::io_error, "cannot read token signing key " + key_file.string());
    }
    if (n == 0) break;
    // Reserve up front: a reallocation would leave a copy of the key in freed memory.
    if (pem.capacity() < kMaxKeyFileSize) pem.reserve(kMaxKeyFileSize);
    pem.append(buf, static_cast<size_t>(n));
  }
  OPENSSL_cleanse(buf, sizeof buf);
  ::close(fd);
  return Result<std::string>(std::move(pem));  // the caller wipes it
}

std::string to_pem(EVP_PKEY* key) {
  BioPtr out(BIO_new(BIO_s_mem()));
  if (!out || PEM_write_bio_PrivateKey(out.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return "";
  char* data = nullptr;
  long len = BIO_get_mem_data(out.get(), &data);
  return std::string(data, static_cast<size_t>(len));  // the memory BIO wipes its buffer when freed
}

}  // namespace

namespace detail {

Result<std::string> sign_es256(std::string_view signing_input, EVP_PKEY* private_key) {
  auto fail = [](const char* what) {
    ERR_clear_error();
    return Status(Errc::internal, std::string("ES256 signing failed: ") + what);
  };
  if (!private_key || !is_p256(private_key)) return fail("not a P-256 key");
  // OpenSSL signs in DER (SEQUENCE { INTEGER r, INTEGER s }); JWS wants the two integers side by side.
  MdCtxPtr ctx(EVP_MD_CTX_new());
  std::string der(static_cast<size_t>(EVP_PKEY_get_size(private_key)), '\0');
  size_t der_len = der.size();
  if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, private_key, nullptr) != 1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len,
                     reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) != 1) {
    return fail("EVP_DigestSign");
  }
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  if (!sig || p != reinterpret_cast<const unsigned char*>(der.data()) + der_len) return fail("d2i_ECDSA_SIG");
  const BIGNUM* r = nullptr;
  const BIGNUM* s = nullptr;
  ECDSA_SIG_get0(sig.get(), &r, &s);
  std::string raw(kEs256SignatureSize, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  if (BN_bn2binpad(r, out, kCoordinateSize) != static_cast<int>(kCoordinateSize) ||
      BN_bn2binpad(s, out + kCoordinateSize, kCoordinateSize) != static_cast<int>(kCoordinateSize)) {
    return fail("BN_bn2binpad");
  }
  return raw;
}

bool verify_es256(std::string_view signing_input, std::string_view raw_sig, EVP_PKEY* public_key) {
  if (raw_sig.size() != kEs256SignatureSize || !public_key) return false;
  const auto* raw = reinterpret_cast<const unsigned char*>(raw_sig.data());
  BnPtr r(BN_bin2bn(raw, kCoordinateSize, nullptr));
  BnPtr s(BN_bin2bn(raw + kCoordinateSize, kCoordinateSize, nullptr));
  EcdsaSigPtr sig(ECDSA_SIG_new());
  bool ok = false;
  if (r && s && sig && ECDSA_SIG_set0(sig.get(), r.get(), s.get()) == 1) {
    r.release();  // owned by sig now
    s.release();
    unsigned char* der = nullptr;
    int der_len = i2d_ECDSA_SIG(sig.get(), &der);
    std::unique_ptr<unsigned char, OpensslFree> der_owner(der);
    MdCtxPtr ctx(EVP_MD_CTX_new());
    // OpenSSL itself refuses r or s equal to 0 or not below the group order.
    ok = der_len > 0 && ctx &&
         EVP_DigestVerifyInit_ex(ctx.get(), nullptr, "SHA256", nullptr, nullptr, public_key, nullptr) == 1 &&
         EVP_DigestVerify(ctx.get(), der, static_cast<size_t>(der_len),
                          reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size()) == 1;
  }
  // A refused signature leaves errors on this thread's queue; do not let them reach unrelated OpenSSL users.
  ERR_clear_error();
  return ok;
}

}  // namespace detail

void TokenSigner::KeyFree::operator()(evp_pkey_st* key) const {
  // EC private keys are freed with BN_clear_free: the key does not stay in freed memory.
  EVP_PKEY_free(key);
}

TokenSigner::~TokenSigner() = default;

Result<std::unique_ptr<TokenSigner>> TokenSigner::load_or_create(const std::filesystem::path& key_file,
                                                                  std::string issuer) {
  std::error_code ec;
  PkeyPtr key;
  if (std::filesystem::exists(key_file, ec)) {
    auto pem = read_key_file(key_file);
    if (!pem.ok()) return pem.status();
    Cleansed wipe{*pem};
    auto parsed = parse_private_key(*pem);
    if (!parsed.ok()) return parsed.status();
    key = std::move(*parsed);
  } else {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    if (!key) {
      ERR_clear_error();
      return Status(Errc::internal, "cannot generate an EC P-256 key");
    }
    std::string pem = to_pem(key.get());
    Cleansed wipe{pem};
    if (pem.empty()) return Status(Errc::internal, "cannot encode the token signing key");
    std::filesystem::create_directories(key_file.parent_path(), ec);
    // O_EXCL: two processes starting at once must not overwrite each other's key.
    int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) return load_or_create(key_file, std::move(issuer));
    if (fd < 0) return Status(Errc::io_error, "cannot create token signing key " + key_file.string());
    bool ok = ::write(fd, pem.data(), pem.size()) == static_cast<ssize_t>(pem.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return Status(Errc::io_error, "cannot write token signing key " + key_file.string());
  }
  return std::unique_ptr<TokenSigner>(new TokenSigner(KeyPtr(key.release()), std::move(issuer)));
}

Result<std::string> TokenSigner::sign(const TokenClaims& claims) const {
  nlohmann::json access = nlohmann::json::array();
  for (const auto& a : claims.access) access.push_back({{"type", a.type}, {"name", a.name}, {"actions", a.actions}});
  nlohmann::json grants = {{"iss", issuer_},          {"sub", claims.subject},      {"aud", claims.audience},
                           {"iat", claims.issued_at}, {"nbf", claims.issued_at},    {"exp", claims.expires_at},
                           {"jti", random_hex(16)},   {"kind", claims.kind},        {"access", access},
                           {"scopes", claims.scopes}, {"packages", claims.packages}, {"rev", claims.epoch}};
  std::string payload;
  try {
    payload = grants.dump();
  } catch (const nlohmann::json::exception&) {  // a string that is not UTF-8
    return Status(Errc::invalid_argument, "token claims are not valid UTF-8");
  }
  std::string token;
  token.reserve(kHeader.size() + 1 + (payload.size() * 4 + 2) / 3 + 1 + 86);
  token.append(kHeader).append(".").append(base64url_encode(payload));
  auto signature = detail::sign_es256(token, key_.get());
  if (!signature.ok()) return signature.status();
  token.append(".").append(base64url_encode(*signature));
  return token;
}

Result<TokenClaims> TokenSigner::verify(std::string_view token, const std::string& audience, int64_t now) const {
  // Compact serialization: exactly three base64url parts. The header must say ES256 (RFC 8725 §3.1: the
  // token does not get to choose the algorithm; nothing but ES256 is ever tried, and refusing others
  // early gives a clearer error), and the claims are only looked at once the signature checked out.
  if (token.size() > kMaxTokenSize) return Status(Errc::unauthorized, "malformed token");
  auto first = token.find('.');
  auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos || token.find('.', second + 1) != std::string_view::npos) {
    return Status(Errc::unauthorized, "malformed token");
  }
  std::string_view header_b64 = token.substr(0, first);
  std::string_view payload_b64 = token.substr(first + 1, second - first - 1);
  std::string_view signature_b64 = token.substr(second + 1);

  auto header_text = base64url_decode(header_b64);
  if (!header_text) return Status(Errc::unauthorized, "malformed token");
  auto header = nlohmann::json::parse(*header_text, nullptr, false);
  if (!header.is_object()) return Status(Errc::unauthorized, "malformed token");
  auto alg = header.find("alg");
  if (alg == header.end() || !alg->is_string() || alg->get_ref<const std::string&>() != "ES256") {
    return Status(Errc::unauthorized, "token algorithm must be ES256");
  }
  // RFC 7515 §4.1.11: extensions the recipient must understand. We understand none.
  if (header.contains("crit")) return Status(Errc::unauthorized, "token has critical header extensions");

  auto signature = base64url_decode(signature_b64);
  if (!signature || signature->size() != detail::kEs256SignatureSize ||
      !detail::verify_es256(token.substr(0, second), *signature, key_.get())) {
    return Status(Errc::unauthorized, "invalid token signature");
  }

  auto payload = base64url_decode(payload_b64);
  if (!payload) return Status(Errc::unauthorized, "malformed token");
  auto grants = nlohmann::json::parse(*payload, nullptr, false);
  if (!grants.is_object()) return Status(Errc::unauthorized, "token claims are not an object");

  TokenClaims claims;
  try {
    if (grants.value("iss", "") != issuer_) return Status(Errc::unauthorized, "token issuer mismatch");
    claims.audience = grants.value("aud", "");
    if (claims.audience != audience) return Status(Errc::unauthorized, "token audience mismatch");
    claims.subject = grants.value("sub", "");
    claims.kind = grants.value("kind", "");
    // NumericDate claims (RFC 7519 §2 allows fractions). A fraction beyond int64's range has no
    // conversion (undefined behaviour): such a claim is refused, like one that is not a number.
    auto date = [&](const char* key, int64_t& out) {
      auto it = grants.find(key);
      if (it == grants.end()) return true;
      if (it->is_number_float() && !(std::fabs(it->get<double>()) < 9.2e18)) return false;
      out = it->get<int64_t>();  // throws for what is not a number: caught below
      return true;
    };
    int64_t not_before = 0;
    if (!date("iat", claims.issued_at) || !date("exp", claims.expires_at) || !date("nbf", not_before)) {
      return Status(Errc::unauthorized, "token claims have the wrong types");
    }
    // Written so that no claim value can overflow the comparison.
    if (now - kLeewaySeconds > claims.expires_at) return Status(Errc::unauthorized, "token expired");
    if (now + kLeewaySeconds < not_before) return Status(Errc::unauthorized, "token not yet valid");
    auto strings = [&](const char* key, std::vector<std::string>& out) {
      if (!grants.contains(key) || !grants[key].is_array()) return;
      for (const auto& v : grants[key]) {
        if (v.is_string()) out.push_back(v.get<std::string>());
      }
    };
    strings("scopes", claims.scopes);
    strings("packages", claims.packages);
    if (auto rev = grants.find("rev"); rev != grants.end()) {
      if (!rev->is_number_integer()) return Status(Errc::unauthorized, "token claims have the wrong types");
      claims.epoch = rev->get<int64_t>();
    }
    if (grants.contains("access") && grants["access"].is_array()) {
      for (const auto& a : grants["access"]) {
        AccessEntry e;
        e.type = a.value("type", "");
        e.name = a.value("name", "");
        if (a.contains("actions") && a["actions"].is_array()) {
          for (const auto& act : a["actions"]) {
            if (act.is_string()) e.actions.push_back(act.get<std::string>());
          }
        }
        claims.access.push_back(std::move(e));
      }
    }
  } catch (const nlohmann::json::exception&) {
    return Status(Errc::unauthorized, "token claims have the wrong types");
  }
  return claims;
}

}  // namespace berth::auth
