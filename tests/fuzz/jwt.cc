// auth::TokenSigner: the bearer JWTs (ES256) of the token endpoint, verified on every authenticated
// request. One P-256 key is generated per process (auth_world.h).
//
// Input: one selector byte (its value modulo 3), then
//   0  a compact token, verified as a request's Bearer token is;
//   1  "<header JSON>\n<claims JSON>", or the claims alone (under the header the signer writes), signed
//      with the process's key and then verified: the way to reach the header and claims decoding behind
//      the signature check;
//   2  claims to issue, one per line: subject, kind, space-separated scopes, space-separated packages,
//      then access entries "type:name:action,action"; signed, and the verified token must say the same.
// Also the strict base64url decoder the three parts go through: whatever it accepts is the unique
// encoding of what it returns.
#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/jwt_es256.h"
#include "common/base64.h"
#include "fuzz/auth_world.h"

using namespace berth;

namespace {

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  while (true) {
    auto at = s.find(sep);
    out.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return out;
    s.remove_prefix(at + 1);
  }
}

// The private key the signer loaded, read again from its file for signing arbitrary headers and claims.
EVP_PKEY* private_key() {
  static EVP_PKEY* key = [] {
    auto& world = fuzz::AuthWorld::get();
    BIO* in = BIO_new_file(world.key_file.c_str(), "r");
    EVP_PKEY* k = in ? PEM_read_bio_PrivateKey(in, nullptr, nullptr, nullptr) : nullptr;
    BIO_free(in);
    if (!k) fuzz::die("cannot read the signing key back");
    return k;
  }();
  return key;
}

void check_base64url(std::string_view text) {
  if (auto decoded = base64url_decode(text)) BERTH_FUZZ_CHECK(base64url_encode(*decoded) == text);
  auto again = base64url_decode(base64url_encode(text));
  BERTH_FUZZ_CHECK(again && *again == text);
}

void verify_token(std::string_view token) {
  auto claims = fuzz::AuthWorld::get().signer->verify(token, std::string(fuzz::kService), fuzz::kNow);
  if (!claims.ok()) {
    BERTH_FUZZ_CHECK(claims.status().code() == Errc::unauthorized);
    return;
  }
  BERTH_FUZZ_CHECK(claims->audience == fuzz::kService);
  BERTH_FUZZ_CHECK(fuzz::kNow - 30 <= claims->expires_at);
}

void sign_and_verify(std::string_view input) {
  static const std::string kHeader = R"({"alg":"ES256","typ":"JWT"})";
  std::string header = kHeader;
  std::string_view claims = input;
  if (auto newline = input.find('\n'); newline != std::string_view::npos) {
    header = std::string(input.substr(0, newline));
    claims = input.substr(newline + 1);
  }
  std::string token = base64url_encode(header) + "." + base64url_encode(claims);
  auto signature = auth::detail::sign_es256(token, private_key());
  if (!signature.ok()) fuzz::die("sign_es256: " + signature.status().message());
  token += "." + base64url_encode(*signature);
  verify_token(token);
}

void issue_and_verify(std::string_view input) {
  auto lines = split(input, '\n');
  auto line = [&](size_t i) { return i < lines.size() ? lines[i] : std::string_view(); };
  auto words = [](std::string_view s) {
    std::vector<std::string> out;
    for (auto w : split(s, ' ')) {
      if (!w.empty()) out.emplace_back(w);
    }
    return out;
  };
  auth::TokenClaims claims;
  claims.subject = line(0);
  claims.kind = line(1);
  claims.scopes = words(line(2));
  claims.packages = words(line(3));
  for (size_t i = 4; i < lines.size(); ++i) {
    auto parts = split(lines[i], ':');
    auth::AccessEntry entry;
    entry.type = parts[0];
    if (parts.size() > 1) entry.name = parts[1];
    if (parts.size() > 2) {
      for (auto a : split(parts[2], ',')) entry.actions.emplace_back(a);
    }
    claims.access.push_back(std::move(entry));
  }
  claims.audience = fuzz::kService;
  claims.issued_at = fuzz::kNow;
  claims.expires_at = fuzz::kNow + 300;

  const auto& signer = *fuzz::AuthWorld::get().signer;
  auto token = signer.sign(claims);
  if (!token.ok()) {
    BERTH_FUZZ_CHECK(token.status().code() == Errc::invalid_argument);  // text that is not UTF-8
    return;
  }
  auto verified = signer.verify(*token, std::string(fuzz::kService), fuzz::kNow);
  if (!verified.ok()) fuzz::die("a token just signed does not verify: " + verified.status().message());
  BERTH_FUZZ_CHECK(verified->subject == claims.subject);
  BERTH_FUZZ_CHECK(verified->kind == claims.kind);
  BERTH_FUZZ_CHECK(verified->scopes == claims.scopes);
  BERTH_FUZZ_CHECK(verified->packages == claims.packages);
  BERTH_FUZZ_CHECK(verified->issued_at == claims.issued_at && verified->expires_at == claims.expires_at);
  BERTH_FUZZ_CHECK(verified->access.size() == claims.access.size());
  for (size_t i = 0; i < claims.access.size(); ++i) {
    BERTH_FUZZ_CHECK(verified->access[i].type == claims.access[i].type);
    BERTH_FUZZ_CHECK(verified->access[i].name == claims.access[i].name);
    BERTH_FUZZ_CHECK(verified->access[i].actions == claims.access[i].actions);
  }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)private_key();  // the key is made before the first input, not during it
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  std::string_view input = fuzz::as_text(data + 1, size - 1);
  switch (data[0] % 3) {
    case 0:
      check_base64url(input);
      verify_token(input);
      break;
    case 1: sign_and_verify(input); break;
    case 2: issue_and_verify(input); break;
  }
  ERR_clear_error();
  return 0;
}
