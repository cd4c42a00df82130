#include "auth/jwt.h"

#include <fcntl.h>
#include <cstdlib>
#include <jwt.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/base64.h"
#include "common/random.h"

namespace berth::auth {

namespace {

constexpr int64_t kLeewaySeconds = 30;

std::string bio_to_string(BIO* bio) {
  char* data = nullptr;
  long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

// Reads a PEM private key and derives the PEM public key.
Status load_pem(const std::string& private_pem, std::string& public_pem) {
  BIO* in = BIO_new_mem_buf(private_pem.data(), static_cast<int>(private_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr);
  BIO_free(in);
  if (!key) return Status(Errc::invalid_argument, "the token signing key is not a PEM private key");
  if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC || EVP_PKEY_get_bits(key) != 256) {
    EVP_PKEY_free(key);
    return Status(Errc::invalid_argument, "the token signing key must be an EC P-256 key (ES256)");
  }
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(out, key);
  public_pem = bio_to_string(out);
  BIO_free(out);
  EVP_PKEY_free(key);
  return Status::Ok();
}

Result<std::string> generate_p256_pem() {
  EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  if (!key) return Status(Errc::internal, "cannot generate an EC P-256 key");
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(out, key, nullptr, nullptr, 0, nullptr, nullptr);
  std::string pem = bio_to_string(out);
  BIO_free(out);
  EVP_PKEY_free(key);
  return pem;
}

std::string random_id() { return random_hex(16); }

// The JSON header of a compact JWT, or a non-object on malformed input.
nlohmann::json decode_header(std::string_view token) {
  auto header = base64url_decode(token.substr(0, token.find('.')));
  if (!header) return nullptr;
  return nlohmann::json::parse(*header, nullptr, false);
}

struct JwtFree {
  void operator()(jwt_t* j) const { jwt_free(j); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

}  // namespace

TokenSigner::~TokenSigner() {
  // Do not leave the private key in freed memory.
  OPENSSL_cleanse(private_pem_.data(), private_pem_.size());
}

Result<std::unique_ptr<TokenSigner>> TokenSigner::load_or_create(const std::filesystem::path& key_file,
                                                                  std::string issuer) {
  std::string private_pem;
  std::error_code ec;
  if (std::filesystem::exists(key_file, ec)) {
    std::ifstream in(key_file, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    if (!in.good() && !in.eof()) return Status(Errc::io_error, "cannot read token signing key " + key_file.string());
    private_pem = ss.str();
  } else {
    auto generated = generate_p256_pem();
    if (!generated.ok()) return generated.status();
    private_pem = *generated;
    std::filesystem::create_directories(key_file.parent_path(), ec);
    // O_EXCL: two processes starting at once must not overwrite each other's key.
    int fd = ::open(key_file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST) return load_or_create(key_file, std::move(issuer));
    if (fd < 0) return Status(Errc::io_error, "cannot create token signing key " + key_file.string());
    bool ok = ::write(fd, private_pem.data(), private_pem.size()) == static_cast<ssize_t>(private_pem.size()) &&
              ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) return Status(Errc::io_error, "cannot write token signing key " + key_file.string());
  }
  std::string public_pem;
  BERTH_RETURN_IF_ERROR(load_pem(private_pem, public_pem));
  return std::unique_ptr<TokenSigner>(new TokenSigner(std::move(private_pem), std::move(public_pem), std::move(issuer)));
}

Result<std::string> TokenSigner::sign(const TokenClaims& claims) const {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return Status(Errc::internal, "jwt_new failed");
  JwtPtr jwt(raw);
  nlohmann::json access = nlohmann::json::array();
  for (const auto& a : claims.access) access.push_back({{"type", a.type}, {"name", a.name}, {"actions", a.actions}});
  nlohmann::json grants = {{"iss", issuer_},          {"sub", claims.subject},      {"aud", claims.audience},
                           {"iat", claims.issued_at}, {"nbf", claims.issued_at},    {"exp", claims.expires_at},
                           {"jti", random_id()},      {"kind", claims.kind},        {"access", access},
                           {"scopes", claims.scopes}, {"packages", claims.packages}};
  if (jwt_add_grants_json(jwt.get(), grants.dump().c_str()) != 0) return Status(Errc::internal, "jwt grants failed");
  if (jwt_set_alg(jwt.get(), JWT_ALG_ES256, reinterpret_cast<const unsigned char*>(private_pem_.data()),
                  static_cast<int>(private_pem_.size())) != 0) {
    return Status(Errc::internal, "jwt_set_alg failed");
  }
  char* encoded = jwt_encode_str(jwt.get());
  if (!encoded) return Status(Errc::internal, "jwt encoding failed");
  std::string out(encoded);
  ::free(encoded);  // libjwt 1.10 returns malloc()ed strings
  return out;
}

Result<TokenClaims> TokenSigner::verify(std::string_view token, const std::string& audience, int64_t now) const {
  // Refuse anything whose header does not say ES256 before handing it to the library, so that no other
  // algorithm can ever be tried with our key.
  auto dot = token.find('.');
  if (dot == std::string_view::npos || token.size() > 16 * 1024) return Status(Errc::unauthorized, "malformed token");
  auto header = decode_header(token);
  if (!header.is_object() || !header.contains("alg") || header["alg"] != "ES256") {
    return Status(Errc::unauthorized, "token algorithm must be ES256");
  }
  std::string token_str(token);
  jwt_t* raw = nullptr;
  int rc = jwt_decode(&raw, token_str.c_str(), reinterpret_cast<const unsigned char*>(public_pem_.data()),
                      static_cast<int>(public_pem_.size()));
  if (rc != 0 || !raw) return Status(Errc::unauthorized, "invalid token signature");
  JwtPtr jwt(raw);
  if (jwt_get_alg(jwt.get()) != JWT_ALG_ES256) return Status(Errc::unauthorized, "token algorithm must be ES256");

  char* json = jwt_get_grants_json(jwt.get(), nullptr);
  if (!json) return Status(Errc::unauthorized, "token has no claims");
  auto grants = nlohmann::json::parse(json, nullptr, false);
  ::free(json);  // libjwt 1.10 returns malloc()ed strings
  if (!grants.is_object()) return Status(Errc::unauthorized, "token claims are not an object");

  TokenClaims claims;
  try {
    if (grants.value("iss", "") != issuer_) return Status(Errc::unauthorized, "token issuer mismatch");
    claims.audience = grants.value("aud", "");
    if (claims.audience != audience) return Status(Errc::unauthorized, "token audience mismatch");
    claims.subject = grants.value("sub", "");
    claims.kind = grants.value("kind", "");
    claims.issued_at = grants.value("iat", int64_t{0});
    claims.expires_at = grants.value("exp", int64_t{0});
    int64_t not_before = grants.value("nbf", int64_t{0});
    if (now > claims.expires_at + kLeewaySeconds) return Status(Errc::unauthorized, "token expired");
    if (now + kLeewaySeconds < not_before) return Status(Errc::unauthorized, "token not yet valid");
    auto strings = [&](const char* key, std::vector<std::string>& out) {
      if (!grants.contains(key) || !grants[key].is_array()) return;
      for (const auto& v : grants[key]) {
        if (v.is_string()) out.push_back(v.get<std::string>());
      }
    };
    strings("scopes", claims.scopes);
    strings("packages", claims.packages);
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
