// The authentication protocol over real HTTP: the Docker token challenge, Basic credentials, the /token
// endpoint (GET and the OAuth2 password grant), JWT verification (tampering, "none" and HMAC tokens),
// failed-login throttling and keeping secrets out of the server log.
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;

// A server with authentication on, one user with a read/write/delete PAT and one pushed package.
struct AuthServer {
  std::unique_ptr<RegistryProcess> server;
  std::string pat;
  std::string revocable_pat;  // for the revocation test only

  AuthServer() {
    server = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}});
    if (server->external()) return;
    const auto dir = server->data_dir();
    admin_or_throw(dir, {"user", "create", "alice"});
    admin_or_throw(dir, {"user", "create", "carol"});
    pat = admin_or_throw(dir, {"token", "create", "--user", "alice", "--scopes",
                               "read:packages,write:packages,delete:packages"});
    revocable_pat = admin_or_throw(dir, {"token", "create", "--user", "alice", "--name", "revocable"});
    push_image_as(server->client(), basic_auth("alice", pat), "alice/app", "v1");
  }
};

// A well-formed access token that was never issued (so the failure is "unknown token", not "malformed").
std::string unknown_pat() { return "berth_pat_" + std::string(43, 'x'); }

class AuthProtocol : public ::testing::Test {
 protected:
  static inline AuthServer* world_ = nullptr;
  static inline std::string setup_error_;

  static void SetUpTestSuite() {
    try {
      world_ = new AuthServer;
    } catch (const std::exception& e) {
      setup_error_ = e.what();
    }
  }
  static void TearDownTestSuite() {
    delete world_;
    world_ = nullptr;
  }
  void SetUp() override {
    ASSERT_TRUE(setup_error_.empty()) << setup_error_;
    if (world_->server->external()) GTEST_SKIP() << "needs a server started by the test";
  }
  void TearDown() override {
    if (!world_ || world_->server->external()) return;
    // Tests that fail logins on purpose end with a valid one, which clears this address's failure count
    // (the throttle has its own server below): a later test must not inherit a block.
    EXPECT_EQ(client().get("/v2/", alice()).status, 200);
  }

  HttpClient client() const { return world_->server->client(); }
  Headers alice() const { return basic_auth("alice", world_->pat); }

  std::string token_for(const Headers& auth, const std::string& scope) {
    Response r = client().get("/token?service=berth&scope=" + url_encode(scope), auth);
    EXPECT_EQ(r.status, 200) << r.describe();
    return r.json().value("token", "");
  }
};

TEST_F(AuthProtocol, VersionCheckWithoutCredentialsIsChallenged) {
  Response r = client().get("/v2/");
  EXPECT_TRUE(IsOciError(r, 401, "UNAUTHORIZED"));
  // The base endpoint needs no particular scope: realm and service only.
  EXPECT_EQ(r.header("WWW-Authenticate"), expected_challenge(client(), ""));
  // Docker's client reads this header on the 401 too ("unsupported registry version" without it).
  EXPECT_EQ(r.header("Docker-Distribution-API-Version"), "registry/2.0");
}

TEST_F(AuthProtocol, VersionCheckWithValidBasicCredentialsAnswers200) {
  Response r = client().get("/v2/", alice());
  EXPECT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("Docker-Distribution-API-Version"), "registry/2.0");
}

TEST_F(AuthProtocol, BadBasicCredentialsAreRefusedWithAChallenge) {
  // Another user's token, an unknown token, and a password instead of a token.
  for (const auto& [user, secret] : {std::pair<std::string, std::string>{"carol", world_->pat},
                                     {"alice", unknown_pat()}, {"alice", "correct horse battery"}}) {
    Response r = client().get("/v2/alice/app/manifests/v1", basic_auth(user, secret));
    EXPECT_TRUE(IsOciError(r, 401, "UNAUTHORIZED")) << user;
    EXPECT_EQ(r.header("WWW-Authenticate"),
              expected_challenge(client(), "repository:alice/app:pull") + ",error=\"invalid_token\"");
  }
}

TEST_F(AuthProtocol, TokenEndpointGetAnswersAShortLivedTokenForBasicCredentials) {
  Response r = client().get("/token?service=berth&scope=" + url_encode("repository:alice/app:pull,push"), alice());
  ASSERT_EQ(r.status, 200) << r.describe();
  EXPECT_EQ(r.header("Cache-Control"), "no-store");  // a credential must not be cached by a proxy
  auto doc = r.json();
  const std::string token = doc.value("token", "");
  EXPECT_EQ(doc.value("access_token", ""), token);  // the OAuth2 name, for containerd
  EXPECT_FALSE(doc.value("issued_at", "").empty());
  auto payload = split_jwt(token).payload;
  EXPECT_EQ(doc.value("expires_in", int64_t{0}), payload.value("exp", int64_t{0}) - payload.value("iat", int64_t{0}));
  EXPECT_GT(doc.value("expires_in", int64_t{0}), 0);
  EXPECT_EQ(client().get("/v2/alice/app/manifests/v1", bearer_auth(token)).status, 200);
}

TEST_F(AuthProtocol, TokenEndpointPostPasswordGrantAnswersAToken) {
  const std::string form = "grant_type=password&username=alice&password=" + url_encode(world_->pat) +
                           "&scope=" + url_encode("repository:alice/app:pull") + "&service=berth&client_id=test";
  Response r = client().request("POST", "/token", {{"Content-Type", "application/x-www-form-urlencoded"}}, form);
  ASSERT_EQ(r.status, 200) << r.describe();
  const std::string token = r.json().value("access_token", "");
  auto access = split_jwt(token).payload.value("access", nlohmann::json::array());
  ASSERT_EQ(access.size(), 1u) << access;
  EXPECT_EQ(access[0].value("name", ""), "alice/app");
  EXPECT_EQ(access[0]["actions"], nlohmann::json::array({"pull"}));
  EXPECT_EQ(client().get("/v2/alice/app/manifests/v1", bearer_auth(token)).status, 200);
}

TEST_F(AuthProtocol, TokenEndpointPostWithAWrongPasswordIs401) {
  const std::string form = "grant_type=password&username=alice&password=" + url_encode(unknown_pat()) +
                           "&scope=" + url_encode("repository:alice/app:pull") + "&service=berth";
  Response r = client().request("POST", "/token", {{"Content-Type", "application/x-www-form-urlencoded"}}, form);
  EXPECT_TRUE(IsOciError(r, 401, "UNAUTHORIZED"));
  EXPECT_FALSE(r.json().contains("token")) << r.body;
}

TEST_F(AuthProtocol, OversizedTokenRequestIs413AndSaysSo) {
  // A form far over the endpoint's limit (64 KiB): refused before it is read, named as what it is.
  const std::string form = "grant_type=password&username=alice&password=" + std::string(256 * 1024, 'x');
  Response r = client().request("POST", "/token", {{"Content-Type", "application/x-www-form-urlencoded"}}, form);
  ASSERT_TRUE(IsOciError(r, 413, "MANIFEST_INVALID"));
  const std::string message = r.json()["errors"][0].value("message", "");
  EXPECT_NE(message.find("token request"), std::string::npos) << message;
  EXPECT_EQ(message.find("manifest"), std::string::npos) << message;
}

TEST_F(AuthProtocol, TamperedTokensAreRefused) {
  const std::string token = token_for(alice(), "repository:alice/app:pull");
  ASSERT_EQ(client().get("/v2/alice/app/manifests/v1", bearer_auth(token)).status, 200) << "the untampered token";
  auto parts = split_jwt(token);

  // One character of the signature changed (in the middle: the last one may only carry padding bits).
  std::string bad_signature = token;
  char& c = bad_signature[parts.signing_input.size() + 1 + parts.signature.size() / 2];
  c = c == 'A' ? 'B' : 'A';
  // The payload changed to grant more, with the original signature.
  auto payload = parts.payload;
  payload["access"] = nlohmann::json::array(
      {{{"type", "repository"}, {"name", "alice/app"}, {"actions", {"pull", "push", "delete"}}}});
  std::string bad_payload = parts.signing_input.substr(0, parts.signing_input.find('.')) + "." +
                            base64url_encode(payload.dump()) + "." + parts.signature;

  for (const auto& forged : {bad_signature, bad_payload}) {
    Response r = client().get("/v2/alice/app/manifests/v1", bearer_auth(forged));
    EXPECT_TRUE(IsOciError(r, 401, "UNAUTHORIZED")) << forged;
    EXPECT_NE(r.header("WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos) << r.describe();
  }
  Response del = client().del("/v2/alice/app/manifests/v1", bearer_auth(bad_payload));
  EXPECT_TRUE(IsOciError(del, 401, "UNAUTHORIZED"));
}

// The public half of the server's signing key, as PEM: what an attacker knows, and the classic secret of
// an HS256 forgery against verifiers that let the token choose the algorithm.
std::string public_key_pem(const std::filesystem::path& private_key_file) {
  std::ifstream in(private_key_file);
  std::stringstream text;
  text << in.rdbuf();
  std::string pem = text.str();
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key) return "";
  BIO* out = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(out, key);
  char* data = nullptr;
  long n = BIO_get_mem_data(out, &data);
  std::string result(data, static_cast<size_t>(n));
  BIO_free(out);
  EVP_PKEY_free(key);
  return result;
}

TEST_F(AuthProtocol, UnsignedAndHmacTokensAreRefused) {
  const std::string token = token_for(alice(), "repository:alice/app:pull");
  auto parts = split_jwt(token);
  const std::string payload = parts.signing_input.substr(parts.signing_input.find('.') + 1);  // claims unchanged

  auto header = parts.header;
  header["alg"] = "none";
  const std::string unsigned_token = base64url_encode(header.dump()) + "." + payload + ".";

  header["alg"] = "HS256";
  const std::string signing_input = base64url_encode(header.dump()) + "." + payload;
  const std::string secret = public_key_pem(world_->server->data_dir() / "keys" / "token-signing-key.pem");
  ASSERT_FALSE(secret.empty()) << "could not read the signing key";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac, &mac_len);
  const std::string hmac_token =
      signing_input + "." + base64url_encode(std::string_view(reinterpret_cast<char*>(mac), mac_len));

  for (const auto& forged : {unsigned_token, hmac_token}) {
    Response r = client().get("/v2/alice/app/manifests/v1", bearer_auth(forged));
    EXPECT_TRUE(IsOciError(r, 401, "UNAUTHORIZED")) << forged;
  }
}

// Revoking an access token must end what it opened: a JWT minted from it may live out its few minutes,
// but must not buy a successor at /token, or revocation (and expiry) would never take effect.
TEST_F(AuthProtocol, AJwtOfARevokedTokenCannotBeExchangedForAFreshOne) {
  const std::string scope = "repository:alice/app:pull";
  const std::string jwt = token_for(basic_auth("alice", world_->revocable_pat), scope);
  ASSERT_FALSE(jwt.empty());
  std::istringstream list(admin_or_throw(world_->server->data_dir(), {"token", "list", "--user", "alice"}));
  std::string line, id;
  while (std::getline(list, line)) {
    if (line.find("\trevocable") != std::string::npos) id = line.substr(0, line.find('\t'));
  }
  ASSERT_FALSE(id.empty());
  admin_or_throw(world_->server->data_dir(), {"token", "revoke", id});

  EXPECT_TRUE(IsOciError(client().get("/v2/", basic_auth("alice", world_->revocable_pat)), 401, "UNAUTHORIZED"));
  Response refreshed = client().get("/token?service=berth&scope=" + url_encode(scope), bearer_auth(jwt));
  EXPECT_EQ(refreshed.status, 401) << "a revoked token's JWT minted a new JWT:\n" << refreshed.describe();
}

TEST_F(AuthProtocol, TokensNeverAppearInTheServerLog) {
  // A session as clients run it: Basic, /token (GET and POST), bearer pulls and a push, a refused
  // attempt, and a token put where it does not belong (the query string).
  ASSERT_EQ(client().get("/v2/", alice()).status, 200);
  const std::string jwt = token_for(alice(), "repository:alice/app:pull,push");
  ASSERT_EQ(client().get("/v2/alice/app/manifests/v1", bearer_auth(jwt)).status, 200);
  push_image_as(client(), bearer_auth(jwt), "alice/app", "logged");
  const std::string form = "grant_type=password&username=alice&password=" + url_encode(world_->pat) +
                           "&scope=" + url_encode("repository:alice/app:pull") + "&service=berth";
  Response post = client().request("POST", "/token", {{"Content-Type", "application/x-www-form-urlencoded"}}, form);
  ASSERT_EQ(post.status, 200) << post.describe();
  const std::string posted_jwt = post.json().value("token", "");
  EXPECT_EQ(client().get("/v2/", basic_auth("alice", unknown_pat())).status, 401);
  client().get("/v2/alice/app/tags/list?access_token=" + world_->pat);

  // The access log is written when a response completes: wait for the last request to show up.
  std::string log;
  for (int i = 0; i < 100; ++i) {
    log = world_->server->log();
    if (log.find("path=/v2/alice/app/tags/list") != std::string::npos) break;
    std::this_thread::sleep_for(20ms);
  }
  // Without the last request's line the checks below could run before the log holds what they look at.
  ASSERT_NE(log.find("path=/v2/alice/app/tags/list"), std::string::npos) << "the last request was not logged:\n"
                                                                           << log;
  ASSERT_NE(log.find("user=alice"), std::string::npos) << "no access log lines to check:\n" << log;
  for (const auto& secret : {world_->pat, jwt, posted_jwt, unknown_pat(), base64_encode("alice:" + world_->pat)}) {
    EXPECT_EQ(log.find(secret), std::string::npos) << "found a secret in the server log: " << secret;
  }
  // A prefix of a token is no safer than the token: the random part must not appear either.
  EXPECT_EQ(log.find(world_->pat.substr(10, 20)), std::string::npos);
  EXPECT_EQ(log.find(split_jwt(jwt).signature), std::string::npos);
}

// Its own server: a blocked alice would block alice in every other test of the binary, all on 127.0.0.1.
TEST(AuthThrottle, FiveFailedLoginsBlockTheNameFromThatAddressWith429AndRetryAfter) {
  std::unique_ptr<AuthServer> world;
  ASSERT_NO_THROW(world = std::make_unique<AuthServer>());
  if (world->server->external()) GTEST_SKIP() << "needs a server started by the test";
  const HttpClient client = world->server->client();
  const Headers good = basic_auth("alice", world->pat);
  const Headers bad = basic_auth("alice", unknown_pat());
  const std::string bad_form = "grant_type=password&username=alice&password=" + url_encode(unknown_pat()) +
                               "&service=berth";
  const std::string good_form = "grant_type=password&username=alice&password=" + url_encode(world->pat) +
                                "&service=berth";
  const Headers form_type = {{"Content-Type", "application/x-www-form-urlencoded"}};

  // The first block lasts 5 s (whole seconds): the sequence below takes a few ms, well inside it.
  const auto started = std::chrono::system_clock::now();

  // Failures count per address and name whichever way the login is tried: Basic on /v2/ and the password grant.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(IsOciError(client.get("/v2/", bad), 401, "UNAUTHORIZED")) << i;
  for (int i = 0; i < 2; ++i) {
    EXPECT_TRUE(IsOciError(client.request("POST", "/token", form_type, bad_form), 401, "UNAUTHORIZED")) << i;
  }
  Response sixth = client.get("/v2/", bad);
  EXPECT_TRUE(IsOciError(sixth, 429, "TOOMANYREQUESTS"));
  const std::string retry_after = sixth.header("Retry-After");
  ASSERT_FALSE(retry_after.empty()) << sixth.describe();
  EXPECT_GE(std::stoi(retry_after), 4) << sixth.describe();
  EXPECT_LE(std::stoi(retry_after), 5) << sixth.describe();
  // The block is on the name from this address: the right token is refused too, until it ends.
  Response right = client.get("/v2/", good);
  EXPECT_TRUE(IsOciError(right, 429, "TOOMANYREQUESTS"));
  EXPECT_FALSE(right.header("Retry-After").empty()) << right.describe();
  EXPECT_TRUE(IsOciError(client.request("POST", "/token", form_type, good_form), 429, "TOOMANYREQUESTS"));
  ASSERT_LT(std::chrono::system_clock::now() - started, 4s) << "too slow to stay inside the first block; the 429s above are not conclusive";

  std::this_thread::sleep_for(std::chrono::seconds(std::stoi(retry_after)) + 100ms);
  EXPECT_EQ(client.get("/v2/", good).status, 200) << "the block ends after Retry-After";
}

}  // namespace
}  // namespace berth::test
