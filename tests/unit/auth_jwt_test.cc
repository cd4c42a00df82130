#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "auth/jwt.h"

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

}  // namespace
}  // namespace berth::auth
