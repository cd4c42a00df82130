#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "auth/jwt.h"
#include "auth/jwt_es256.h"
#include "common/base64.h"

namespace berth::auth {
namespace {

namespace fs = std::filesystem;

class JwtTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-jwt-XXXXXX";
    dir_ = mkdtemp(tmpl);
    auto signer = TokenSigner::load_or_create(dir_ / "keys" / "key.pem", "berth");
    ASSERT_TRUE(signer.ok()) << signer.status().message();
    signer_ = std::move(*signer);
  }
  void TearDown() override { fs::remove_all(dir_); }

  TokenClaims claims(int64_t now) {
    TokenClaims c;
    c.subject = "alice";
    c.kind = "user";
    c.audience = "berth";
    c.issued_at = now;
    c.expires_at = now + 300;
    c.access = {{"repository", "acme/app", {"pull", "push"}}};
    c.scopes = {"read:packages", "write:packages"};
    return c;
  }

  static std::string b64url(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
    out.resize(static_cast<size_t>(n));
    for (char& c : out) {
      if (c == '+') c = '-';
      if (c == '/') c = '_';
    }
    while (!out.empty() && out.back() == '=') out.pop_back();
    return out;
  }

  fs::path dir_;
  std::unique_ptr<TokenSigner> signer_;
};

TEST_F(JwtTest, SignedTokenVerifiesWithItsClaims) {
  auto token = signer_->sign(claims(1000));
  ASSERT_TRUE(token.ok());
  auto back = signer_->verify(*token, "berth", 1010);
  ASSERT_TRUE(back.ok()) << back.status().message();
  EXPECT_EQ(back->subject, "alice");
  EXPECT_EQ(back->kind, "user");
  ASSERT_EQ(back->access.size(), 1u);
  EXPECT_EQ(back->access[0].name, "acme/app");
  EXPECT_EQ(back->access[0].actions, (std::vector<std::string>{"pull", "push"}));
  EXPECT_EQ(back->scopes, (std::vector<std::string>{"read:packages", "write:packages"}));
}

TEST_F(JwtTest, ExpiredTokenIsRefusedAfterLeeway) {
  auto token = signer_->sign(claims(1000));
  ASSERT_TRUE(token.ok());
  EXPECT_TRUE(signer_->verify(*token, "berth", 1300 + 29).ok());
  auto late = signer_->verify(*token, "berth", 1300 + 31);
  ASSERT_FALSE(late.ok());
  EXPECT_EQ(late.status().code(), Errc::unauthorized);
}

TEST_F(JwtTest, WrongAudienceIsRefused) {
  auto token = signer_->sign(claims(1000));
  EXPECT_FALSE(signer_->verify(*token, "other-registry", 1000).ok());
}

TEST_F(JwtTest, TamperedPayloadIsRefused) {
  auto token = signer_->sign(claims(1000));
  std::string t = *token;
  auto first = t.find('.');
  auto second = t.find('.', first + 1);
  // Replace the payload with one granting more, keeping the original signature.
  TokenClaims more = claims(1000);
  more.access[0].actions.push_back("delete");
  auto other = signer_->sign(more);
  std::string forged = t.substr(0, first + 1) +
                       other->substr(other->find('.') + 1, other->find('.', other->find('.') + 1) - other->find('.') - 1) +
                       t.substr(second);
  EXPECT_FALSE(signer_->verify(forged, "berth", 1000).ok());
}

TEST_F(JwtTest, AlgNoneIsRefused) {
  std::string header = b64url(R"({"alg":"none","typ":"JWT"})");
  std::string payload = b64url(R"({"iss":"berth","sub":"alice","aud":"berth","iat":1000,"nbf":1000,"exp":2000,)"
                               R"("kind":"user","access":[{"type":"repository","name":"acme/app","actions":["push"]}]})");
  EXPECT_FALSE(signer_->verify(header + "." + payload + ".", "berth", 1000).ok());
}

TEST_F(JwtTest, Hs256SignedWithThePublicKeyIsRefused) {
  // The classic algorithm-confusion forgery: HMAC keyed with the (public) verification key.
  std::string header = b64url(R"({"alg":"HS256","typ":"JWT"})");
  std::string payload = b64url(R"({"iss":"berth","sub":"alice","aud":"berth","iat":1000,"nbf":1000,"exp":2000,)"
                               R"("kind":"user","access":[]})");
  std::string input = header + "." + payload;
  std::string pem;
  {
    std::ifstream in(dir_ / "keys" / "key.pem");
    pem.assign(std::istreambuf_iterator<char>(in), {});
  }
  unsigned char mac[32];
  unsigned int len = 0;
  HMAC(EVP_sha256(), pem.data(), static_cast<int>(pem.size()), reinterpret_cast<const unsigned char*>(input.data()),
       input.size(), mac, &len);
  std::string forged = input + "." + b64url(std::string_view(reinterpret_cast<char*>(mac), len));
  auto r = signer_->verify(forged, "berth", 1000);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::unauthorized);
}

TEST_F(JwtTest, KeyIsCreatedPrivateAndReusedByTheNextStart) {
  struct stat st {};
  ASSERT_EQ(::stat((dir_ / "keys" / "key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  auto token = signer_->sign(claims(1000));
  auto again = TokenSigner::load_or_create(dir_ / "keys" / "key.pem", "berth");
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE((*again)->verify(*token, "berth", 1000).ok()) << "a second node with the same key file must verify";
}

TEST_F(JwtTest, TokenFromAnotherKeyIsRefused) {
  auto other = TokenSigner::load_or_create(dir_ / "other.pem", "berth");
  ASSERT_TRUE(other.ok());
  auto token = (*other)->sign(claims(1000));
  EXPECT_FALSE(signer_->verify(*token, "berth", 1000).ok());
}

TEST_F(JwtTest, NonEcKeyFileIsRejected) {
  std::ofstream(dir_ / "bad.pem") << "not a key\n";
  auto r = TokenSigner::load_or_create(dir_ / "bad.pem", "berth");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::invalid_argument);
}

// ---- ES256 on OpenSSL's EVP API (jwt.cc, auth/jwt_es256.h) ----

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyFree>;
struct BnFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using BnPtr = std::unique_ptr<BIGNUM, BnFree>;

std::string b64url_decoded(std::string_view text) {
  auto out = base64url_decode(text);
  EXPECT_TRUE(out.has_value()) << text;
  return out.value_or("");
}

// An EC P-256 key from JWK coordinates (base64url x, y and, for a private key, d).
PkeyPtr p256_from_jwk(std::string_view x, std::string_view y, std::string_view d = "") {
  std::string point = "\x04" + b64url_decoded(x) + b64url_decoded(y);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0);
  OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
  BnPtr priv;
  if (!d.empty()) {
    std::string dd = b64url_decoded(d);
    priv.reset(BN_bin2bn(reinterpret_cast<const unsigned char*>(dd.data()), static_cast<int>(dd.size()), nullptr));
    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, priv.get());
  }
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, "EC", nullptr);
  EVP_PKEY* key = nullptr;
  EXPECT_EQ(EVP_PKEY_fromdata_init(ctx), 1);
  EXPECT_EQ(EVP_PKEY_fromdata(ctx, &key, d.empty() ? EVP_PKEY_PUBLIC_KEY : EVP_PKEY_KEYPAIR, params), 1);
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  OSSL_PARAM_BLD_free(bld);
  return PkeyPtr(key);
}

// RFC 7515 Appendix A.3: the ES256 example, with its key (JWK) and its published signature.
constexpr std::string_view kRfcX = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
constexpr std::string_view kRfcY = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";
constexpr std::string_view kRfcD = "jpsQnnGQmL-YBIffH1136cspYG6-0iY7X1fCE9-E9LI";
constexpr std::string_view kRfcSigningInput =
    "eyJhbGciOiJFUzI1NiJ9"
    "."
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";
constexpr std::string_view kRfcSignature =
    "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q";

// The order n of P-256.
BnPtr p256_order() {
  BIGNUM* n = nullptr;
  BN_hex2bn(&n, "FFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551");
  return BnPtr(n);
}
std::string bn32(const BIGNUM* v) {
  std::string out(32, '\0');
  EXPECT_EQ(BN_bn2binpad(v, reinterpret_cast<unsigned char*>(out.data()), 32), 32);
  return out;
}
BnPtr bn_of(std::string_view bytes) {
  return BnPtr(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()), nullptr));
}

TEST(Es256, TheRfc7515A3ExampleVerifiesWithItsPublishedKey) {
  auto pub = p256_from_jwk(kRfcX, kRfcY);
  ASSERT_TRUE(pub);
  std::string sig = b64url_decoded(kRfcSignature);
  ASSERT_EQ(sig.size(), 64u);
  EXPECT_TRUE(detail::verify_es256(kRfcSigningInput, sig, pub.get()));
  // Any other input, or a key of our own, does not.
  std::string other_input(kRfcSigningInput);
  other_input.back() = 'R';
  EXPECT_FALSE(detail::verify_es256(other_input, sig, pub.get()));
  PkeyPtr random_key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  EXPECT_FALSE(detail::verify_es256(kRfcSigningInput, sig, random_key.get()));
}

TEST(Es256, SignaturesAreRawRAndSThatTheRfcKeyVerifies) {
  auto priv = p256_from_jwk(kRfcX, kRfcY, kRfcD);
  auto pub = p256_from_jwk(kRfcX, kRfcY);
  ASSERT_TRUE(priv && pub);
  for (int i = 0; i < 20; ++i) {  // ECDSA is randomized: r and s vary, leading zero bytes included sometimes
    auto sig = detail::sign_es256(kRfcSigningInput, priv.get());
    ASSERT_TRUE(sig.ok()) << sig.status().message();
    ASSERT_EQ(sig->size(), 64u);
    EXPECT_TRUE(detail::verify_es256(kRfcSigningInput, *sig, pub.get()));
  }
  // A public key cannot sign.
  EXPECT_FALSE(detail::sign_es256(kRfcSigningInput, pub.get()).ok());
}

TEST(Es256, SignaturesOfTheWrongLengthOrInDerAreRefused) {
  auto pub = p256_from_jwk(kRfcX, kRfcY);
  std::string sig = b64url_decoded(kRfcSignature);
  EXPECT_FALSE(detail::verify_es256(kRfcSigningInput, sig.substr(0, 63), pub.get()));
  EXPECT_FALSE(detail::verify_es256(kRfcSigningInput, sig + '\0', pub.get()));
  EXPECT_FALSE(detail::verify_es256(kRfcSigningInput, std::string(1, '\0') + sig, pub.get()));
  EXPECT_FALSE(detail::verify_es256(kRfcSigningInput, "", pub.get()));
  // The same (r, s) as DER, which is what OpenSSL itself produces and consumes.
  ECDSA_SIG* es = ECDSA_SIG_new();
  ECDSA_SIG_set0(es, bn_of(sig.substr(0, 32)).release(), bn_of(sig.substr(32)).release());
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(es, &der);
  ASSERT_GT(der_len, 64);
  std::string der_sig(reinterpret_cast<char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  ECDSA_SIG_free(es);
  EXPECT_FALSE(detail::verify_es256(kRfcSigningInput, der_sig, pub.get()));
}

TEST(Es256, EveryFlippedBitIsRefused) {
  auto pub = p256_from_jwk(kRfcX, kRfcY);
  std::string sig = b64url_decoded(kRfcSignature);
  for (size_t bit = 0; bit < 64 * 8; ++bit) {
    std::string bad = sig;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(detail::verify_es256(kRfcSigningInput, bad, pub.get())) << "bit " << bit;
  }
}

TEST(Es256, OutOfRangeComponentsAreRefused) {
  auto pub = p256_from_jwk(kRfcX, kRfcY);
  std::string sig = b64url_decoded(kRfcSignature);
  std::string r = sig.substr(0, 32), s = sig.substr(32);
  auto n = p256_order();
  BnPtr n_plus_1(BN_dup(n.get()));
  BN_add_word(n_plus_1.get(), 1);
  const std::string zero(32, '\0');
  for (const auto& [bad_r, bad_s] : std::vector<std::pair<std::string, std::string>>{
           {zero, s}, {r, zero}, {zero, zero}, {bn32(n.get()), s}, {r, bn32(n.get())},
           {bn32(n_plus_1.get()), s}, {r, bn32(n_plus_1.get())}, {std::string(32, '\xff'), s},
           {r, std::string(32, '\xff')}}) {
    EXPECT_FALSE(detail::verify_es256(kRfcSigningInput, bad_r + bad_s, pub.get()));
  }
  // r + n and s + n would be the same values modulo n: refused too (if they fit in 32 bytes).
  BnPtr r_plus_n(BN_new()), s_plus_n(BN_new());
  BN_add(r_plus_n.get(), bn_of(r).get(), n.get());
  BN_add(s_plus_n.get(), bn_of(s).get(), n.get());
  if (BN_num_bytes(r_plus_n.get()) <= 32) {
    EXPECT_FALSE(detail::verify_es256(kRfcSigningInput, bn32(r_plus_n.get()) + s, pub.get()));
  }
  if (BN_num_bytes(s_plus_n.get()) <= 32) {
    EXPECT_FALSE(detail::verify_es256(kRfcSigningInput, r + bn32(s_plus_n.get()), pub.get()));
  }
}

// ECDSA is malleable: if (r, s) is a valid signature, so is (r, n - s). ES256 (RFC 7518) does not ask
// for low s, OpenSSL accepts both, and so do we: nodes that signed with libjwt produced either half,
// and nothing in Berth identifies a token by its bytes (no token cache or replay list keyed on them).
// Pinned here so that a change of that is deliberate.
TEST(Es256, TheHighSTwinOfAValidSignatureIsAlsoValid) {
  auto pub = p256_from_jwk(kRfcX, kRfcY);
  std::string sig = b64url_decoded(kRfcSignature);
  auto n = p256_order();
  BnPtr twin(BN_new());
  BN_sub(twin.get(), n.get(), bn_of(sig.substr(32)).get());
  EXPECT_TRUE(detail::verify_es256(kRfcSigningInput, sig.substr(0, 32) + bn32(twin.get()), pub.get()));
}

// ---- tokens: format and strict parsing ----

// The signer's private key, read from its file, for signing tokens the signer would never make.
PkeyPtr load_key(const fs::path& file) {
  std::ifstream in(file);
  std::string pem((std::istreambuf_iterator<char>(in)), {});
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr));
  BIO_free(bio);
  return key;
}

class JwtFormatTest : public JwtTest {
 protected:
  void SetUp() override {
    JwtTest::SetUp();
    key_ = load_key(dir_ / "keys" / "key.pem");
    ASSERT_TRUE(key_);
  }
  // header.payload as given (already encoded), signed with the signer's own key.
  std::string signed_as_is(const std::string& header_b64, const std::string& payload_b64) {
    std::string input = header_b64 + "." + payload_b64;
    auto sig = detail::sign_es256(input, key_.get());
    EXPECT_TRUE(sig.ok());
    return input + "." + base64url_encode(*sig);
  }
  std::string signed_token(const std::string& header_json, const std::string& payload_json) {
    return signed_as_is(base64url_encode(header_json), base64url_encode(payload_json));
  }
  static constexpr const char* kPayload =
      R"({"iss":"berth","sub":"alice","aud":"berth","iat":1000,"nbf":1000,"exp":2000,"kind":"user",)"
      R"("access":[{"type":"repository","name":"acme/app","actions":["push"]}]})";
  PkeyPtr key_;
};

TEST_F(JwtFormatTest, TokensHaveTheHeaderLibjwtWroteAndARawSignature) {
  auto token = signer_->sign(claims(1000));
  ASSERT_TRUE(token.ok());
  auto first = token->find('.');
  auto second = token->find('.', first + 1);
  ASSERT_NE(second, std::string::npos);
  EXPECT_EQ(token->find('.', second + 1), std::string::npos);
  EXPECT_EQ(b64url_decoded(token->substr(0, first)), R"({"alg":"ES256","typ":"JWT"})");
  auto payload = nlohmann::json::parse(b64url_decoded(token->substr(first + 1, second - first - 1)));
  EXPECT_EQ(payload["iss"], "berth");
  EXPECT_EQ(payload["aud"], "berth");
  EXPECT_EQ(payload["sub"], "alice");
  EXPECT_EQ(payload["iat"], 1000);
  EXPECT_EQ(payload["nbf"], 1000);
  EXPECT_EQ(payload["exp"], 1300);
  EXPECT_EQ(payload["jti"].get<std::string>().size(), 32u);
  EXPECT_EQ(token->size() - second - 1, 86u) << "64 bytes R||S in unpadded base64url";
  // The public key verifies it as a plain ES256 JWS, outside TokenSigner.
  EXPECT_TRUE(detail::verify_es256(token->substr(0, second), b64url_decoded(token->substr(second + 1)), key_.get()));
  // Two tokens for the same claims differ (jti, and ECDSA's random nonce).
  EXPECT_NE(*token, *signer_->sign(claims(1000)));
}

TEST_F(JwtFormatTest, AValidlySignedTokenWithTheMinimalHeaderIsAccepted) {
  // The header needs "alg" only ("typ" is optional, RFC 7519 §5.1): our own keys' signature is what counts.
  auto r = signer_->verify(signed_token(R"({"alg":"ES256"})", kPayload), "berth", 1000);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->subject, "alice");
  EXPECT_EQ(r->access.at(0).actions, std::vector<std::string>{"push"});
}

TEST_F(JwtFormatTest, HeadersNotNamingEs256AreRefusedEvenWithAValidSignature) {
  for (const char* header : {R"({"alg":"none"})", R"({"alg":"HS256","typ":"JWT"})", R"({"alg":"RS256"})",
                             R"({"alg":"ES384"})", R"({"alg":"es256"})", R"({"alg":"ES256 "})", R"({"alg":["ES256"]})",
                             R"({"alg":null})", R"({"typ":"JWT"})", R"({})", R"([])", R"("ES256")", R"(ES256)", "",
                             R"({"alg":"ES256","crit":["exp"],"exp":1})", R"({"alg":"ES256")"}) {
    auto r = signer_->verify(signed_token(header, kPayload), "berth", 1000);
    ASSERT_FALSE(r.ok()) << header;
    EXPECT_EQ(r.status().code(), Errc::unauthorized) << header;
  }
}

TEST_F(JwtFormatTest, OnlyThreePartsOfStrictBase64UrlAreAccepted) {
  const std::string good = signed_token(R"({"alg":"ES256","typ":"JWT"})", kPayload);
  ASSERT_TRUE(signer_->verify(good, "berth", 1000).ok());
  auto first = good.find('.');
  auto second = good.find('.', first + 1);
  const std::string h = good.substr(0, first);
  const std::string p = good.substr(first + 1, second - first - 1);
  const std::string s = good.substr(second + 1);
  // Six '~' (0x7e) hold a whole 3-byte group whatever the alignment, which encodes as "fn5+".
  std::string tilde_payload = std::string(kPayload);
  tilde_payload.insert(1, R"("note":"~~~~~~",)");
  std::string standard_alphabet_payload = base64_encode(tilde_payload);
  while (standard_alphabet_payload.back() == '=') standard_alphabet_payload.pop_back();
  ASSERT_NE(standard_alphabet_payload.find_first_of("+/"), std::string::npos) << "the test needs a '+' or '/'";
  std::string padded_payload = base64url_encode(kPayload);
  ASSERT_NE(padded_payload.size() % 4, 0u) << "the test needs a payload that padding would change";
  while (padded_payload.size() % 4) padded_payload += '=';
  // The last of 86 characters carries 2 bits of data and 4 unused ones: set one of those.
  static constexpr std::string_view alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string noncanonical_sig = s;
  noncanonical_sig.back() = alphabet[alphabet.find(s.back()) | 1];
  ASSERT_NE(noncanonical_sig, s);
  const std::string padded_header = base64_encode(R"({"alg":"ES256","tt":1})");
  ASSERT_EQ(padded_header.back(), '=');
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"two parts", h + "." + p},
      {"four parts", good + "." + s},
      {"a trailing dot", good + "."},
      {"a leading dot", "." + good},
      {"an empty signature", h + "." + p + "."},
      {"an empty payload", h + ".." + s},
      {"a doubled dot", h + ".." + p + "." + s},
      {"no header", "." + p + "." + s},
      {"only dots", ".."},
      {"nothing", ""},
      {"a padded signature", good + "=="},
      {"a non-canonical signature encoding", h + "." + p + "." + noncanonical_sig},
      {"a space in the signature", h + "." + p + "." + s.substr(0, 40) + " " + s.substr(40)},
      {"a newline at the end", good + "\n"},
      {"a space in front", " " + good},
      {"a standard-alphabet signature", h + "." + p + "." + base64_encode(b64url_decoded(s))},
      // These are signed over exactly the text given: only the decoding can refuse them.
      {"a padded payload", signed_as_is(h, padded_payload)},
      {"a padded header", signed_as_is(padded_header, base64url_encode(kPayload))},
      {"a standard-alphabet payload", signed_as_is(h, standard_alphabet_payload)},
      {"a payload that is not JSON", signed_as_is(h, base64url_encode("not json"))},
      {"a payload that is a JSON array", signed_as_is(h, base64url_encode("[1,2]"))},
  };
  for (const auto& [what, token] : cases) {
    auto r = signer_->verify(token, "berth", 1000);
    ASSERT_FALSE(r.ok()) << what;
    EXPECT_EQ(r.status().code(), Errc::unauthorized) << what;
  }
}

TEST_F(JwtFormatTest, SignaturesThatAreNotExactlyARawPairAreRefused) {
  auto token = signer_->sign(claims(1000));
  ASSERT_TRUE(token.ok());
  auto second = token->rfind('.');
  const std::string input = token->substr(0, second);
  const std::string sig = b64url_decoded(token->substr(second + 1));
  ASSERT_EQ(sig.size(), 64u);
  ECDSA_SIG* es = ECDSA_SIG_new();
  ECDSA_SIG_set0(es, bn_of(sig.substr(0, 32)).release(), bn_of(sig.substr(32)).release());
  unsigned char* der = nullptr;
  int der_len = i2d_ECDSA_SIG(es, &der);
  std::string der_sig(reinterpret_cast<char*>(der), static_cast<size_t>(der_len));
  OPENSSL_free(der);
  ECDSA_SIG_free(es);
  for (const auto& bad : {der_sig, sig.substr(0, 63), sig + '\0', sig.substr(1), std::string(64, '\0'), std::string()}) {
    auto r = signer_->verify(input + "." + base64url_encode(bad), "berth", 1000);
    ASSERT_FALSE(r.ok()) << bad.size();
    EXPECT_EQ(r.status().code(), Errc::unauthorized);
  }
  // One flipped bit anywhere in the signature.
  for (size_t bit = 0; bit < 64 * 8; bit += 7) {
    std::string bad = sig;
    bad[bit / 8] = static_cast<char>(bad[bit / 8] ^ (1 << (bit % 8)));
    EXPECT_FALSE(signer_->verify(input + "." + base64url_encode(bad), "berth", 1000).ok()) << "bit " << bit;
  }
  EXPECT_TRUE(signer_->verify(input + "." + base64url_encode(sig), "berth", 1000).ok());
}

TEST_F(JwtFormatTest, NotBeforeAndIssuerAreChecked) {
  auto token = signer_->sign(claims(1000));
  EXPECT_TRUE(signer_->verify(*token, "berth", 1000 - 29).ok());
  EXPECT_FALSE(signer_->verify(*token, "berth", 1000 - 31).ok());
  auto other_issuer = TokenSigner::load_or_create(dir_ / "keys" / "key.pem", "someone-else");
  ASSERT_TRUE(other_issuer.ok());
  EXPECT_FALSE((*other_issuer)->verify(*token, "berth", 1000).ok()) << "same key, other issuer";
  // Extreme claim values do not overflow the validity checks.
  std::string far = R"({"iss":"berth","aud":"berth","nbf":-9223372036854775808,"exp":9223372036854775807})";
  EXPECT_TRUE(signer_->verify(signed_token(R"({"alg":"ES256"})", far), "berth", 1000).ok());
  std::string past = R"({"iss":"berth","aud":"berth","nbf":0,"exp":-9223372036854775808})";
  EXPECT_FALSE(signer_->verify(signed_token(R"({"alg":"ES256"})", past), "berth", 1000).ok());
  std::string typed = R"({"iss":"berth","aud":"berth","exp":"soon"})";
  EXPECT_FALSE(signer_->verify(signed_token(R"({"alg":"ES256"})", typed), "berth", 1000).ok());
}

TEST_F(JwtFormatTest, ConcurrentSigningAndVerifyingAgree) {
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 100; ++i) {
        auto token = signer_->sign(claims(1000));
        if (!token.ok() || !signer_->verify(*token, "berth", 1000).ok()) ++failures;
        std::string bad = *token;
        bad[bad.size() / 2] = bad[bad.size() / 2] == 'A' ? 'B' : 'A';
        if (signer_->verify(bad, "berth", 1000).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
}

// ---- key files ----

void write_pem(const fs::path& file, EVP_PKEY* key, bool traditional = false, const char* pass = nullptr) {
  BIO* out = BIO_new_file(file.c_str(), "w");
  ASSERT_TRUE(out);
  if (traditional) {
    ASSERT_EQ(PEM_write_bio_PrivateKey_traditional(out, key, nullptr, nullptr, 0, nullptr, nullptr), 1);
  } else {
    ASSERT_EQ(PEM_write_bio_PrivateKey(out, key, pass ? EVP_aes_256_cbc() : nullptr,
                                       reinterpret_cast<const unsigned char*>(pass), pass ? static_cast<int>(strlen(pass)) : 0,
                                       nullptr, nullptr),
              1);
  }
  BIO_free(out);
}

TEST_F(JwtTest, AnSec1KeyFileSignsTokensItsPublishedPublicKeyVerifies) {
  // The RFC 7515 A.3 key as `openssl ecparam -genkey` would write it ("BEGIN EC PRIVATE KEY").
  auto priv = p256_from_jwk(kRfcX, kRfcY, kRfcD);
  write_pem(dir_ / "rfc.pem", priv.get(), /*traditional=*/true);
  auto signer = TokenSigner::load_or_create(dir_ / "rfc.pem", "berth");
  ASSERT_TRUE(signer.ok()) << signer.status().message();
  auto token = (*signer)->sign(claims(1000));
  ASSERT_TRUE(token.ok());
  auto second = token->rfind('.');
  auto pub = p256_from_jwk(kRfcX, kRfcY);
  EXPECT_TRUE(detail::verify_es256(token->substr(0, second), b64url_decoded(token->substr(second + 1)), pub.get()));
  EXPECT_TRUE((*signer)->verify(*token, "berth", 1000).ok());
  EXPECT_FALSE(signer_->verify(*token, "berth", 1000).ok()) << "another key";
}

TEST_F(JwtTest, KeysOtherThanP256AreRejected) {
  struct Kind {
    const char* name;
    PkeyPtr key;
  };
  std::vector<Kind> kinds;
  kinds.push_back({"secp256k1 (256 bits, not P-256)", PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp256k1"))});
  kinds.push_back({"brainpoolP256r1", PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "brainpoolP256r1"))});
  kinds.push_back({"P-384", PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384"))});
  kinds.push_back({"Ed25519", PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"))});
  kinds.push_back({"RSA", PkeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}))});
  for (auto& k : kinds) {
    ASSERT_TRUE(k.key) << k.name;
    fs::path file = dir_ / "wrong.pem";
    fs::remove(file);
    write_pem(file, k.key.get());
    auto r = TokenSigner::load_or_create(file, "berth");
    ASSERT_FALSE(r.ok()) << k.name;
    EXPECT_EQ(r.status().code(), Errc::invalid_argument) << k.name;
  }
}

TEST_F(JwtTest, AnEncryptedKeyFileIsRejectedWithoutAskingForAPassPhrase) {
  PkeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  write_pem(dir_ / "encrypted.pem", key.get(), false, "secret");
  auto r = TokenSigner::load_or_create(dir_ / "encrypted.pem", "berth");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::invalid_argument);
}

TEST_F(JwtTest, AnUnreadableKeyFileIsAnIoError) {
  fs::create_directories(dir_ / "dir.pem");  // exists, but read(2) fails
  auto r = TokenSigner::load_or_create(dir_ / "dir.pem", "berth");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), Errc::io_error);
}

}  // namespace
}  // namespace berth::auth
