// The attacks of the outside security review (issue 13) that did not get through, kept as regression
// tests against one `berth serve` with authentication on: forged bearer JWTs (alg "none", HMAC keyed
// with the public key, a real token with an edited payload, a token of another instance), /token scope
// escalation, a cross-repository mount from a package the caller cannot read, request smuggling with
// conflicting body lengths, path traversal through names, digests, tags and upload ids, and probing
// whether a private package exists.
//
// Every refusal is paired with a control that shows the same request succeeding (or answering
// differently) when the attack's premise is real — the genuine token, a readable source, the owner's
// view — so that a test fails if the server ever lets the attack through.
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"
#include "support/http_client.h"
#include "support/registry_process.h"
#include "support/shared_world.h"

namespace berth::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Pairs of names of equal length: a private package and a package of the same owner that never
// exists. Equal lengths make the answers comparable byte for byte (Content-Length included) once the
// one name is replaced by the other.
constexpr const char* kAlicePrivate = "alice/private";
constexpr const char* kAliceMissing = "alice/missing";
constexpr const char* kOrgPrivate = "acme/private";
constexpr const char* kOrgMissing = "acme/missing";
constexpr const char* kAlicePublic = "alice/public";
constexpr const char* kBobRepo = "bob/x";

struct AttackWorld {
  std::unique_ptr<RegistryProcess> server;
  std::string alice_pat;  // read, write, delete
  std::string bob_pat;    // read, write
  PushedImage alice_private;  // alice/private:v1
  PushedImage alice_public;   // alice/public:v1 (public)
  PushedImage org_private;    // acme/private:v1 (acme: alice admin, bob no member)
  PushedImage bob_image;      // bob/x:v1
  std::string alice_private_upload;  // an upload session alice keeps open in alice/private
  std::string org_private_upload;    // … and in acme/private
};

void require(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error(what);
}

// An artifact (empty config, one layer) whose subject is `subject`, pushed by digest.
void push_referrer_as(const HttpClient& client, const Headers& auth, const std::string& repo,
                      const PushedImage& subject) {
  const std::string empty_digest = push_blob_as(client, auth, repo, "{}");
  const std::string payload = random_bytes(64);
  const std::string layer_digest = push_blob_as(client, auth, repo, payload);
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", media::kOciManifest},
                   {"artifactType", "application/vnd.example.sbom"},
                   {"config", {{"mediaType", media::kOciEmpty}, {"digest", empty_digest}, {"size", 2}}},
                   {"layers", json::array({{{"mediaType", "application/octet-stream"},
                                             {"digest", layer_digest},
                                             {"size", payload.size()}}})},
                   {"subject", {{"mediaType", media::kOciManifest},
                                {"digest", subject.digest},
                                {"size", subject.manifest.size()}}}};
  const std::string body = manifest.dump();
  Headers headers = auth;
  headers.emplace_back("Content-Type", media::kOciManifest);
  auto put = client.request("PUT", "/v2/" + repo + "/manifests/" + sha256(body), headers, body);
  require(put.status == 201, "pushing a referrer to " + repo + ": " + put.describe());
}

// The id of an upload session: the last path segment of its Location.
std::string upload_id_of(const Response& started) {
  std::string path = path_of(started.header("Location"));
  path = path.substr(0, path.find('?'));
  return path.substr(path.rfind('/') + 1);
}

class Attacks : public SharedWorldTest<AttackWorld> {
 protected:
  static void SetUpTestSuite() {
    build_world([](AttackWorld& w) {
      w.server = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}});
      if (w.server->external()) return;
      const auto dir = w.server->data_dir();
      auto admin = [&](const std::vector<std::string>& args) { return admin_or_throw(dir, args); };
      admin({"user", "create", "alice"});
      admin({"user", "create", "bob"});
      admin({"org", "create", "acme", "--admin", "alice"});
      w.alice_pat = admin({"token", "create", "--user", "alice", "--scopes",
                           "read:packages,write:packages,delete:packages"});
      w.bob_pat = admin({"token", "create", "--user", "bob", "--scopes", "read:packages,write:packages"});

      const HttpClient client = w.server->client();
      const Headers alice = basic_auth("alice", w.alice_pat);
      const Headers bob = basic_auth("bob", w.bob_pat);
      w.alice_private = push_image_as(client, alice, kAlicePrivate, "v1");
      w.alice_public = push_image_as(client, alice, kAlicePublic, "v1");
      w.org_private = push_image_as(client, alice, kOrgPrivate, "v1");
      w.bob_image = push_image_as(client, bob, kBobRepo, "v1");
      push_referrer_as(client, alice, kAlicePrivate, w.alice_private);
      push_referrer_as(client, alice, kOrgPrivate, w.org_private);
      admin({"package", "visibility", kAlicePublic, "public"});
      for (const auto* repo : {kAlicePrivate, kAlicePublic, kOrgPrivate}) {
        auto r = client.get(std::string("/v2/") + repo + "/manifests/v1", alice);
        require(r.status == 200, std::string("alice cannot read ") + repo + ": " + r.describe());
      }
      auto r = client.get(std::string("/v2/") + kAlicePublic + "/manifests/v1");
      require(r.status == 200, "the public package is not public: " + r.describe());
      for (const auto* repo : {kAlicePrivate, kOrgPrivate}) {
        auto started = client.request("POST", std::string("/v2/") + repo + "/blobs/uploads/", alice);
        require(started.status == 202, std::string("starting an upload in ") + repo + ": " + started.describe());
        (repo == std::string(kAlicePrivate) ? w.alice_private_upload : w.org_private_upload) = upload_id_of(started);
      }
    });
  }

  HttpClient client() const { return world_->server->client(); }
  const AttackWorld& w() const { return *world_; }
  Headers alice() const { return basic_auth("alice", world_->alice_pat); }
  Headers bob() const { return basic_auth("bob", world_->bob_pat); }

  // GET /token with Basic credentials (none: anonymous) for these scopes; the JWT, or "" (a failure
  // recorded) when the endpoint refuses.
  std::string token_for(const Headers& auth, const std::vector<std::string>& scopes) const {
    std::string target = "/token?service=berth";
    for (const auto& s : scopes) target += "&scope=" + url_encode(s);
    auto r = client().get(target, auth);
    EXPECT_EQ(r.status, 200) << target << "\n" << r.describe();
    auto body = r.json();
    if (r.status != 200 || !body.is_object() || !body.contains("token") || !body["token"].is_string()) return "";
    return body["token"].get<std::string>();
  }
};

// ---------------------------------------------------------------------------------------------------
// JWT pieces, made independently of the server's code.

std::string b64url(std::string_view bytes) { return base64url_encode(bytes); }

std::string compact(const json& header, const json& payload, std::string_view signature) {
  return b64url(header.dump()) + "." + b64url(payload.dump()) + "." + b64url(signature);
}

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (!HMAC(md, key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
            data.size(), out, &len)) {
    throw std::runtime_error("HMAC failed");
  }
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// Every encoding of the server's public key an attacker might try as an HMAC secret: the PEM
// SubjectPublicKeyInfo (with and without its final newline), its DER, the uncompressed point
// (04||X||Y) and X||Y. Derived from the signing key file in the data directory (there is no JWKS).
std::vector<std::pair<std::string, std::string>> public_key_encodings(const std::filesystem::path& key_file) {
  const std::string pem = read_file(key_file);
  if (pem.empty()) throw std::runtime_error("cannot read " + key_file.string());
  std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr),
                                                          EVP_PKEY_free);
  if (!key) throw std::runtime_error("not a PEM private key: " + key_file.string());
  std::vector<std::pair<std::string, std::string>> out;

  std::unique_ptr<BIO, decltype(&BIO_free)> mem(BIO_new(BIO_s_mem()), BIO_free);
  if (PEM_write_bio_PUBKEY(mem.get(), key.get()) != 1) throw std::runtime_error("PEM_write_bio_PUBKEY");
  char* data = nullptr;
  long len = BIO_get_mem_data(mem.get(), &data);
  std::string spki_pem(data, static_cast<size_t>(len));
  out.emplace_back("PEM public key", spki_pem);
  std::string trimmed = spki_pem;
  while (!trimmed.empty() && trimmed.back() == '\n') trimmed.pop_back();
  out.emplace_back("PEM public key without its final newline", trimmed);

  unsigned char* der = nullptr;
  int der_len = i2d_PUBKEY(key.get(), &der);
  if (der_len <= 0) throw std::runtime_error("i2d_PUBKEY");
  out.emplace_back("DER public key", std::string(reinterpret_cast<char*>(der), static_cast<size_t>(der_len)));
  OPENSSL_free(der);

  unsigned char point[133];
  size_t point_len = 0;
  if (EVP_PKEY_get_octet_string_param(key.get(), OSSL_PKEY_PARAM_PUB_KEY, point, sizeof point, &point_len) != 1) {
    throw std::runtime_error("EVP_PKEY_get_octet_string_param");
  }
  std::string raw(reinterpret_cast<char*>(point), point_len);
  out.emplace_back("uncompressed point", raw);
  if (!raw.empty() && raw[0] == '\x04') out.emplace_back("X||Y", raw.substr(1));
  return out;
}

json jwt_payload(const std::string& token) { return split_jwt(token).payload; }

// The actions a token's access claim grants on `repository` (all entries naming it, merged).
std::vector<std::string> granted(const std::string& token, const std::string& repository) {
  std::vector<std::string> out;
  const json payload = jwt_payload(token);
  if (!payload.contains("access") || !payload["access"].is_array()) return out;
  for (const auto& entry : payload["access"]) {
    if (entry.value("type", "") != "repository" || entry.value("name", "") != repository) continue;
    if (!entry.contains("actions") || !entry["actions"].is_array()) continue;
    for (const auto& a : entry["actions"]) out.push_back(a.is_string() ? a.get<std::string>() : a.dump());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A refused bearer token: 401 with the OCI code UNAUTHORIZED (the challenge of a bad token).
::testing::AssertionResult IsRefusedToken(const Response& r) {
  if (r.status == 401 && r.error_code() == "UNAUTHORIZED") return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "expected 401 UNAUTHORIZED, got:\n" << r.describe();
}

// ---------------------------------------------------------------------------------------------------
// 1. Forged bearer tokens.

TEST_F(Attacks, AnAlgNoneTokenIsRefused) {
  const std::string target = std::string("/v2/") + kAlicePrivate + "/manifests/v1";
  const std::string genuine = token_for(alice(), {std::string("repository:") + kAlicePrivate + ":pull"});
  ASSERT_FALSE(genuine.empty());
  // Control: the genuine token reads the private manifest, so a forged one with its claims would too.
  ASSERT_EQ(client().get(target, bearer_auth(genuine)).status, 200);

  // bob's own token, its claims rewritten to be alice's with pull and push on her private package.
  const std::string bobs = token_for(bob(), {std::string("repository:") + kBobRepo + ":pull"});
  ASSERT_FALSE(bobs.empty());
  json as_alice = jwt_payload(bobs);
  as_alice["sub"] = "alice";
  as_alice["scopes"] = json::array({"read:packages", "write:packages"});
  as_alice["access"] = json::array(
      {{{"type", "repository"}, {"name", kAlicePrivate}, {"actions", json::array({"pull", "push"})}}});

  const auto genuine_parts = split_jwt(genuine);
  for (const json& payload : {genuine_parts.payload, as_alice}) {
    for (const char* alg : {"none", "None", "NONE", "nOnE"}) {
      const json header = {{"alg", alg}, {"typ", "JWT"}};
      const std::string unsigned_token = b64url(header.dump()) + "." + b64url(payload.dump()) + ".";
      EXPECT_TRUE(IsRefusedToken(client().get(target, bearer_auth(unsigned_token)))) << alg << ": " << unsigned_token;
      // The same without the final dot, and with the genuine signature left on.
      EXPECT_TRUE(IsRefusedToken(client().get(target, bearer_auth(unsigned_token.substr(0, unsigned_token.size() - 1)))))
          << alg;
      EXPECT_TRUE(IsRefusedToken(client().get(target, bearer_auth(unsigned_token + genuine_parts.signature)))) << alg;
    }
    // A header without any alg.
    EXPECT_TRUE(IsRefusedToken(client().get(target, bearer_auth(compact(json{{"typ", "JWT"}}, payload, "")))));
  }
  // Nor does an unsigned token buy a push.
  const std::string none_push = compact(json{{"alg", "none"}, {"typ", "JWT"}}, as_alice, "");
  EXPECT_TRUE(IsRefusedToken(
      client().request("POST", std::string("/v2/") + kAlicePrivate + "/blobs/uploads/", bearer_auth(none_push))));
}

TEST_F(Attacks, AnHmacTokenKeyedWithTheServersPublicKeyIsRefused) {
  const std::string target = std::string("/v2/") + kAlicePrivate + "/manifests/v1";
  const std::string genuine = token_for(alice(), {std::string("repository:") + kAlicePrivate + ":pull"});
  ASSERT_FALSE(genuine.empty());
  ASSERT_EQ(client().get(target, bearer_auth(genuine)).status, 200) << "control: the genuine token reads it";
  const json payload = jwt_payload(genuine);

  const auto keys = public_key_encodings(w().server->data_dir() / "keys" / "token-signing-key.pem");
  ASSERT_GE(keys.size(), 4u);
  struct Alg {
    const char* name;
    const EVP_MD* md;
  };
  for (const Alg& alg : {Alg{"HS256", EVP_sha256()}, Alg{"HS384", EVP_sha384()}, Alg{"HS512", EVP_sha512()}}) {
    for (const auto& [what, secret] : keys) {
      for (const json& header : {json{{"alg", alg.name}, {"typ", "JWT"}}, json{{"alg", alg.name}}}) {
        const std::string input = b64url(header.dump()) + "." + b64url(payload.dump());
        const std::string forged = input + "." + b64url(hmac(alg.md, secret, input));
        EXPECT_TRUE(IsRefusedToken(client().get(target, bearer_auth(forged)))) << alg.name << " keyed with the " << what;
      }
    }
  }
  // An HMAC signature under the genuine ES256 header (a verifier that trusts its key type, not the header).
  for (const auto& [what, secret] : keys) {
    const std::string input = genuine.substr(0, genuine.rfind('.'));
    const std::string forged = input + "." + b64url(hmac(EVP_sha256(), secret, input));
    EXPECT_TRUE(IsRefusedToken(client().get(target, bearer_auth(forged)))) << "ES256 header, HMAC keyed with the " << what;
  }
}

TEST_F(Attacks, ARealTokenWhosePayloadWasChangedIsRefused) {
  const std::string bob_scope = std::string("repository:") + kBobRepo + ":pull,push";
  const std::string genuine = token_for(bob(), {bob_scope});
  ASSERT_FALSE(genuine.empty());
  ASSERT_EQ(granted(genuine, kBobRepo), (std::vector<std::string>{"pull", "push"}));
  const auto parts = split_jwt(genuine);
  const std::string private_manifest = std::string("/v2/") + kAlicePrivate + "/manifests/v1";
  // Controls: the token works on bob's package, and on alice's private one it gets what a missing one gets.
  ASSERT_EQ(client().get(std::string("/v2/") + kBobRepo + "/manifests/v1", bearer_auth(genuine)).status, 200);
  ASSERT_EQ(client().get(private_manifest, bearer_auth(genuine)).status, 404);

  auto resigned = [&](const json& payload) { return parts.signing_input.substr(0, parts.signing_input.find('.')) +
                                                    "." + b64url(payload.dump()) + "." + parts.signature; };
  std::vector<std::pair<std::string, json>> edits;
  {
    json p = parts.payload;
    p["access"].push_back({{"type", "repository"}, {"name", kAlicePrivate}, {"actions", json::array({"pull", "push"})}});
    edits.emplace_back("access extended to alice/private", p);
  }
  {
    json p = parts.payload;
    p["sub"] = "alice";
    edits.emplace_back("sub changed to alice", p);
  }
  {
    json p = parts.payload;
    p["sub"] = "alice";
    p["access"] = json::array({{{"type", "repository"}, {"name", kAlicePrivate}, {"actions", json::array({"pull", "push", "delete"})}}});
    p["scopes"] = json::array({"read:packages", "write:packages", "delete:packages"});
    edits.emplace_back("sub, access and scopes made alice's", p);
  }
  {
    json p = parts.payload;
    p["scopes"] = json::array({"read:packages", "write:packages", "delete:packages"});
    edits.emplace_back("delete:packages added to the scopes", p);
  }
  {
    json p = parts.payload;
    p["exp"] = p["exp"].get<int64_t>() + 365 * 86400;
    edits.emplace_back("expiry extended by a year", p);
  }
  for (const auto& [what, payload] : edits) {
    const std::string forged = resigned(payload);
    ASSERT_NE(forged, genuine) << what;
    EXPECT_TRUE(IsRefusedToken(client().get(private_manifest, bearer_auth(forged)))) << what;
    EXPECT_TRUE(IsRefusedToken(
        client().request("POST", std::string("/v2/") + kAlicePrivate + "/blobs/uploads/", bearer_auth(forged))))
        << what;
    EXPECT_TRUE(IsRefusedToken(client().get(std::string("/v2/") + kBobRepo + "/manifests/v1", bearer_auth(forged))))
        << what << ": an edited token still worked on bob's own package";
  }
  // The payload's bytes changed without changing its JSON (whitespace): still not the signed bytes.
  const std::string respaced = parts.signing_input.substr(0, parts.signing_input.find('.')) + "." +
                               b64url(parts.payload.dump(1)) + "." + parts.signature;
  EXPECT_TRUE(IsRefusedToken(client().get(std::string("/v2/") + kBobRepo + "/manifests/v1", bearer_auth(respaced))));
}

TEST_F(Attacks, ATokenSignedByAnotherInstanceIsRefused) {
  RegistryProcess other(RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}});
  admin_or_throw(other.data_dir(), {"user", "create", "alice"});
  const std::string other_pat =
      admin_or_throw(other.data_dir(), {"token", "create", "--user", "alice", "--scopes", "read:packages,write:packages"});
  const std::string scope = std::string("repository:") + kAlicePrivate + ":pull,push";
  auto issued = other.client().get("/token?service=berth&scope=" + url_encode(scope), basic_auth("alice", other_pat));
  ASSERT_EQ(issued.status, 200) << issued.describe();
  const std::string foreign = issued.json().value("token", "");
  ASSERT_FALSE(foreign.empty());
  // Preconditions: its own key, same issuer and audience, and the token good on the instance that made it.
  ASSERT_NE(read_file(other.data_dir() / "keys" / "token-signing-key.pem"),
            read_file(w().server->data_dir() / "keys" / "token-signing-key.pem"));
  EXPECT_EQ(jwt_payload(foreign).value("iss", ""), "berth");
  EXPECT_EQ(jwt_payload(foreign).value("aud", ""), "berth");
  EXPECT_EQ(granted(foreign, kAlicePrivate), (std::vector<std::string>{"pull", "push"}));
  ASSERT_EQ(other.client().get("/v2/", bearer_auth(foreign)).status, 200) << "control: the token works where it was made";

  EXPECT_TRUE(IsRefusedToken(client().get("/v2/", bearer_auth(foreign))));
  EXPECT_TRUE(IsRefusedToken(client().get(std::string("/v2/") + kAlicePrivate + "/manifests/v1", bearer_auth(foreign))));
  EXPECT_TRUE(IsRefusedToken(
      client().request("POST", std::string("/v2/") + kAlicePrivate + "/blobs/uploads/", bearer_auth(foreign))));
  // Its signature on this instance's genuine claims does not verify either.
  const std::string mine = token_for(alice(), {scope});
  ASSERT_FALSE(mine.empty());
  const std::string spliced = mine.substr(0, mine.rfind('.')) + foreign.substr(foreign.rfind('.'));
  EXPECT_TRUE(IsRefusedToken(client().get(std::string("/v2/") + kAlicePrivate + "/manifests/v1", bearer_auth(spliced))));
}

// ---------------------------------------------------------------------------------------------------
// 2. Scope escalation at /token.

TEST_F(Attacks, TokenScopesBeyondTheCallersRightsGrantNothing) {
  const std::string wanted = std::string("repository:") + kAlicePrivate + ":pull,push";
  // Control: the owner asking the same gets both, so the check of the access claim can fail.
  const std::string alices = token_for(alice(), {wanted});
  ASSERT_FALSE(alices.empty());
  ASSERT_EQ(granted(alices, kAlicePrivate), (std::vector<std::string>{"pull", "push"}));

  const std::string bobs = token_for(bob(), {wanted});
  ASSERT_FALSE(bobs.empty());
  EXPECT_TRUE(granted(bobs, kAlicePrivate).empty()) << jwt_payload(bobs).dump();
  EXPECT_EQ(jwt_payload(bobs).value("sub", ""), "bob");

  // The other spellings of the same request: every action, several scopes, the OAuth2 form, the org's package.
  const std::vector<std::vector<std::string>> asks = {
      {std::string("repository:") + kAlicePrivate + ":*"},
      {std::string("repository:") + kAlicePrivate + ":pull,push,delete,*"},
      {std::string("repository:") + kAlicePrivate + ":pull", std::string("repository:") + kAlicePrivate + ":push"},
      {std::string("repository:") + kBobRepo + ":pull,push " + "repository:" + kAlicePrivate + ":pull,push"},
  };
  for (const auto& ask : asks) {
    const std::string t = token_for(bob(), ask);
    ASSERT_FALSE(t.empty());
    EXPECT_TRUE(granted(t, kAlicePrivate).empty()) << ask.front() << "\n" << jwt_payload(t).dump();
  }
  const std::string org = token_for(bob(), {std::string("repository:") + kOrgPrivate + ":*"});
  EXPECT_TRUE(granted(org, kOrgPrivate).empty()) << jwt_payload(org).dump();
  const std::string anonymous = token_for({}, {wanted});
  EXPECT_TRUE(granted(anonymous, kAlicePrivate).empty()) << jwt_payload(anonymous).dump();
  auto form = client().request("POST", "/token", {{"Content-Type", "application/x-www-form-urlencoded"}},
                               "grant_type=password&service=berth&username=bob&password=" + url_encode(w().bob_pat) +
                                   "&scope=" + url_encode(wanted));
  ASSERT_EQ(form.status, 200) << form.describe();
  EXPECT_TRUE(granted(form.json().value("token", ""), kAlicePrivate).empty()) << form.body;
  // A public package: pull is granted, push is not.
  const std::string pub = token_for(bob(), {std::string("repository:") + kAlicePublic + ":pull,push"});
  EXPECT_EQ(granted(pub, kAlicePublic), (std::vector<std::string>{"pull"})) << jwt_payload(pub).dump();

  // Used, bob's token gets what a missing package answers (read) and DENIED (push).
  auto manifest = client().get(std::string("/v2/") + kAlicePrivate + "/manifests/v1", bearer_auth(bobs));
  EXPECT_TRUE(IsOciError(manifest, 404, "MANIFEST_UNKNOWN")) << manifest.describe();
  auto by_digest = client().get(std::string("/v2/") + kAlicePrivate + "/manifests/" + w().alice_private.digest,
                                bearer_auth(bobs));
  EXPECT_TRUE(IsOciError(by_digest, 404, "MANIFEST_UNKNOWN")) << by_digest.describe();
  auto blob = client().get(blob_url(kAlicePrivate, w().alice_private.layer_digest), bearer_auth(bobs));
  EXPECT_TRUE(IsOciError(blob, 404, "BLOB_UNKNOWN")) << blob.describe();
  auto push = client().request("POST", std::string("/v2/") + kAlicePrivate + "/blobs/uploads/", bearer_auth(bobs));
  EXPECT_TRUE(IsOciError(push, 403, "DENIED")) << push.describe();
}

// ---------------------------------------------------------------------------------------------------
// 3. Cross-repository mount from a package the caller cannot read.

TEST_F(Attacks, AMountFromAnUnreadablePackageStartsAnUploadAndLeaksNoBlob) {
  const std::string secret_layer = w().alice_private.layer_digest;
  const std::string secret_org_layer = w().org_private.layer_digest;
  const std::string target = unique_repo("mount").substr(std::string("apitest/").size());
  const std::string into = std::string("bob/") + target;
  ASSERT_EQ(client().head(blob_url(kAlicePrivate, secret_layer), alice()).status, 200) << "precondition";
  ASSERT_EQ(client().head(blob_url(into, secret_layer), bob()).status, 404) << "precondition";

  const std::string bearer = token_for(bob(), {"repository:" + into + ":pull,push",
                                               std::string("repository:") + kAlicePrivate + ":pull",
                                               std::string("repository:") + kOrgPrivate + ":pull"});
  ASSERT_FALSE(bearer.empty());
  struct Attempt {
    std::string what;
    std::string digest;
    std::string query_from;  // "" : no from parameter
    Headers auth;
  };
  const std::vector<Attempt> attempts = {
      {"Basic, from alice/private", secret_layer, std::string("&from=") + kAlicePrivate, bob()},
      {"bearer, from alice/private", secret_layer, std::string("&from=") + kAlicePrivate, bearer_auth(bearer)},
      {"Basic, from acme/private", secret_org_layer, std::string("&from=") + kOrgPrivate, bob()},
      {"Basic, no from", secret_layer, "", bob()},
      {"Basic, from bob's own package", secret_layer, std::string("&from=") + kBobRepo, bob()},
      // A package bob may read, which does not hold the blob: the blob must be linked to `from` itself.
      {"Basic, from a readable package without the blob", secret_layer, std::string("&from=") + kAlicePublic, bob()},
      // Two sources: whichever one is read, the check and the mount must read the same.
      {"Basic, from bob's then alice's", secret_layer,
       std::string("&from=") + kBobRepo + "&from=" + kAlicePrivate, bob()},
      {"Basic, from alice's then bob's", secret_layer,
       std::string("&from=") + kAlicePrivate + "&from=" + kBobRepo, bob()},
      {"Basic, from alice/public then alice/private", secret_layer,
       std::string("&from=") + kAlicePublic + "&from=" + kAlicePrivate, bob()},
      {"Basic, from alice/private then alice/public", secret_layer,
       std::string("&from=") + kAlicePrivate + "&from=" + kAlicePublic, bob()},
  };
  for (const auto& a : attempts) {
    auto r = client().request("POST", "/v2/" + into + "/blobs/uploads/?mount=" + url_encode(a.digest) + a.query_from,
                              a.auth);
    EXPECT_EQ(r.status, 202) << a.what << ": a mount the caller may not make must start a plain upload\n"
                             << r.describe();
    EXPECT_FALSE(r.header("Location").empty()) << a.what << "\n" << r.describe();
    EXPECT_FALSE(r.header("Docker-Upload-UUID").empty()) << a.what << "\n" << r.describe();
    EXPECT_NE(r.header("Docker-Content-Digest"), a.digest) << a.what;
    for (const char* method : {"HEAD", "GET"}) {
      auto read = client().request(method, blob_url(into, a.digest), bob());
      EXPECT_EQ(read.status, 404) << a.what << ": the blob leaked into " << into << " (" << method << ")\n"
                                  << read.describe();
    }
  }
  // Names that are not the package's but might resolve to it: refused, never mounted.
  for (const std::string from : {"alice//private", "alice/./private", "alice/private/", "ALICE/private",
                                 "alice/x/../private", "alice%2fprivate"}) {
    auto r = client().request("POST", "/v2/" + into + "/blobs/uploads/?mount=" + url_encode(secret_layer) +
                                          "&from=" + from, bob());
    EXPECT_NE(r.status, 201) << "from=" << from << "\n" << r.describe();
    EXPECT_EQ(client().head(blob_url(into, secret_layer), bob()).status, 404) << "from=" << from;
  }
  // Nor can bob reference the blob from a manifest of his: the layer is not in his repository.
  const std::string config = R"({"architecture":"amd64","os":"linux"})";
  const std::string config_digest = push_blob_as(client(), bob(), into, config);
  json manifest = {{"schemaVersion", 2},
                   {"mediaType", media::kOciManifest},
                   {"config", {{"mediaType", media::kOciConfig}, {"digest", config_digest}, {"size", config.size()}}},
                   {"layers", json::array({{{"mediaType", media::kOciLayer},
                                            {"digest", secret_layer},
                                            {"size", 512}}})}};
  Headers put = bob();
  put.emplace_back("Content-Type", media::kOciManifest);
  auto pushed = client().request("PUT", "/v2/" + into + "/manifests/stolen", put, manifest.dump());
  EXPECT_TRUE(IsOciError(pushed, 400, "MANIFEST_BLOB_UNKNOWN")) << pushed.describe();
  EXPECT_EQ(client().head(blob_url(into, secret_layer), bob()).status, 404) << "the blob leaked through a manifest";

  // Control: from a package bob may read, the same request mounts (201) and the blob becomes readable.
  const std::string public_layer = w().alice_public.layer_digest;
  auto mounted = client().request("POST", "/v2/" + into + "/blobs/uploads/?mount=" + url_encode(public_layer) +
                                              "&from=" + kAlicePublic, bob());
  EXPECT_EQ(mounted.status, 201) << mounted.describe();
  EXPECT_EQ(mounted.header("Docker-Content-Digest"), public_layer);
  EXPECT_EQ(client().head(blob_url(into, public_layer), bob()).status, 200);
}

// ---------------------------------------------------------------------------------------------------
// 4. Request smuggling: a body whose length two parsers would read differently.

struct RawExchange {
  std::string received;
  bool closed = false;  // the server ended the connection (EOF or reset) before the deadline
};

// Sends `bytes` on a fresh connection and reads everything the server sends until it closes the
// connection or `limit` passes.
RawExchange exchange(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds limit = 5s) {
  RawExchange out;
  int fd = connect_loopback(port);
  if (fd < 0) return out;
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close before reading everything: read what it answered
    sent += static_cast<size_t>(n);
  }
  const auto deadline = std::chrono::steady_clock::now() + limit;
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd p{fd, POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      out.closed = true;
      break;
    }
    out.received.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// The statuses of the responses in `received`, in order, each found by skipping the one before it
// (header block, then Content-Length bytes of body); -1 for bytes that are not a response.
std::vector<int> statuses_in(const std::string& received) {
  std::vector<int> out;
  size_t at = 0;
  while (at < received.size()) {
    if (received.compare(at, 9, "HTTP/1.1 ") != 0 || at + 12 > received.size()) {
      out.push_back(-1);
      break;
    }
    out.push_back(std::atoi(received.substr(at + 9, 3).c_str()));
    const size_t end = received.find("\r\n\r\n", at);
    if (end == std::string::npos) break;
    std::string head = received.substr(at, end - at);
    std::transform(head.begin(), head.end(), head.begin(), [](unsigned char c) { return std::tolower(c); });
    size_t length = 0;
    if (auto cl = head.find("\r\ncontent-length:"); cl != std::string::npos) {
      length = static_cast<size_t>(std::strtoull(head.c_str() + cl + 17, nullptr, 10));
    }
    at = end + 4 + length;
  }
  return out;
}

// A request for a path no one else asks for, and whether the server's access log shows it was served:
// a smuggled request that ran without its answer reaching us still leaves its line there.
std::string smuggled_request(std::string* path) {
  *path = "/v2/smuggled/" + sha256(random_bytes(8)).substr(7, 16) + "/tags/list";
  return "GET " + *path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
}

// A request smuggling attempt: raw bytes sent on a fresh connection.
struct RawCase {
  std::string what;
  std::string bytes;
};

// Each case gets exactly one 400 and a closed connection, and the request smuggled in its body (whose path
// is `smuggled_path`) never reaches the access log.
void expect_each_refused_and_closed(const RegistryProcess& server, const std::vector<RawCase>& cases,
                                    const std::string& smuggled_path) {
  for (const auto& c : cases) {
    const RawExchange x = exchange(server.port(), c.bytes);
    EXPECT_EQ(statuses_in(x.received), std::vector<int>{400}) << c.what << ": one 400 and nothing else\n"
                                                              << x.received;
    EXPECT_TRUE(x.closed) << c.what << ": the connection stayed open after the 400\n" << x.received;
  }
  EXPECT_EQ(server.log().find("path=" + smuggled_path), std::string::npos) << "a smuggled request was served";
}

TEST_F(Attacks, ContentLengthWithChunkedTransferEncodingIsRefusedAndClosesTheConnection) {
  std::string smuggled_path;
  const std::string smuggled = smuggled_request(&smuggled_path);
  const std::string head = "POST /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const std::string chunked_end = "0\r\n\r\n";
  const std::vector<RawCase> cases = {
      // CL.TE: a Content-Length reader takes the terminating chunk as the body, the smuggled request follows.
      {"Content-Length then Transfer-Encoding",
       head + "Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_end + smuggled},
      {"Transfer-Encoding then Content-Length",
       head + "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n" + chunked_end + smuggled},
      // TE.CL: a chunked reader stops at the empty chunk; a Content-Length reader takes it all, or the reverse.
      {"chunked, Content-Length covering the smuggled request",
       head + "Transfer-Encoding: chunked\r\nContent-Length: " + std::to_string(chunked_end.size() + smuggled.size()) +
           "\r\n\r\n" + chunked_end + smuggled},
      {"Content-Length: 0 with chunked",
       head + "Content-Length: 0\r\nTransfer-Encoding: chunked\r\n\r\n" + chunked_end + smuggled},
  };
  expect_each_refused_and_closed(*w().server, cases, smuggled_path);

  // The same on an upload, whose Content-Length bodies the server reads itself rather than through its
  // HTTP parser: refused, the connection closed, and not a byte appended to the session.
  auto started = client().request("POST", "/v2/alice/smuggle/blobs/uploads/", alice());
  ASSERT_EQ(started.status, 202) << started.describe();
  const std::string location = path_of(started.header("Location"));
  auto before = client().get(location, alice());
  ASSERT_EQ(before.status, 204) << before.describe();
  const std::string body = "5\r\nhello\r\n" + chunked_end + smuggled;
  const std::string patch = "PATCH " + location + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: " +
                            alice().front().second +
                            "\r\nContent-Type: application/octet-stream\r\nContent-Length: 5\r\n"
                            "Transfer-Encoding: chunked\r\n\r\n" + body;
  const RawExchange x = exchange(w().server->port(), patch);
  EXPECT_EQ(statuses_in(x.received), std::vector<int>{400}) << x.received;
  EXPECT_TRUE(x.closed) << x.received;
  auto after = client().get(location, alice());
  EXPECT_EQ(after.status, 204) << after.describe();
  EXPECT_EQ(after.header("Range"), before.header("Range")) << "bytes were appended to the upload";
  EXPECT_EQ(w().server->log().find("path=" + smuggled_path), std::string::npos) << "a smuggled request was served";
  // Control: the same request sent on its own is served, and its line is in the access log.
  auto fine = exchange(w().server->port(), smuggled.substr(0, smuggled.size() - 2) + "Connection: close\r\n\r\n");
  EXPECT_EQ(statuses_in(fine.received), std::vector<int>{401}) << fine.received;
  EXPECT_TRUE(eventually([&] { return w().server->log().find("path=" + smuggled_path) != std::string::npos; }))
      << "the access log does not show served requests";
}

TEST_F(Attacks, TwoDifferentContentLengthsAreRefusedAndCloseTheConnection) {
  std::string smuggled_path;
  const std::string smuggled = smuggled_request(&smuggled_path);
  const std::string length = std::to_string(smuggled.size());
  const std::string head = "POST /v2/ HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  const std::vector<RawCase> cases = {
      // Whichever of the two a reader believes, one of them serves the body as a request.
      {"0 then the smuggled length", head + "Content-Length: 0\r\nContent-Length: " + length + "\r\n\r\n" + smuggled},
      {"the smuggled length then 0", head + "Content-Length: " + length + "\r\nContent-Length: 0\r\n\r\n" + smuggled},
      {"both in one field", head + "Content-Length: 0, " + length + "\r\n\r\n" + smuggled},
  };
  expect_each_refused_and_closed(*w().server, cases, smuggled_path);
  // Control: one Content-Length and a pipelined second request are both served on the connection, and the
  // second is in the access log.
  auto pipelined = exchange(w().server->port(), head + "Content-Length: 0\r\n\r\n" +
                                                    smuggled.substr(0, smuggled.size() - 2) + "Connection: close\r\n\r\n");
  EXPECT_EQ(statuses_in(pipelined.received), (std::vector<int>{401, 401})) << pipelined.received;
  EXPECT_TRUE(eventually([&] { return w().server->log().find("path=" + smuggled_path) != std::string::npos; }))
      << "the access log does not show served requests";
}

// ---------------------------------------------------------------------------------------------------
// 5. Path traversal.

// Every file and directory name under `root` (recursively) that contains `marker`.
std::vector<std::string> names_with(const std::filesystem::path& root, const std::string& marker, bool recursive) {
  std::vector<std::string> out;
  std::error_code ec;
  if (!std::filesystem::exists(root, ec)) return out;
  auto visit = [&](const std::filesystem::directory_entry& e) {
    if (e.path().filename().string().find(marker) != std::string::npos) out.push_back(e.path().string());
  };
  if (recursive) {
    for (auto it = std::filesystem::recursive_directory_iterator(
             root, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      visit(*it);
    }
  } else {
    for (auto it = std::filesystem::directory_iterator(root, std::filesystem::directory_options::skip_permission_denied, ec);
         !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
      visit(*it);
    }
  }
  return out;
}

// The paths under the data directory's parent that are not inside the data directory, sorted.
std::vector<std::string> beside_data(const std::filesystem::path& data) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(data.parent_path(), ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->path() == data) {
      it.disable_recursion_pending();
      continue;
    }
    out.push_back(it->path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

TEST_F(Attacks, TraversalInNamesDigestsTagsAndUploadIdsGetsOciErrorsAndTouchesNoFile) {
  // A name no request may leave on the disk: if any traversal wrote a file, its name would carry it.
  const std::string marker = "pwned" + sha256(random_bytes(8)).substr(7, 12);
  const std::string fake_hex(64, 'a');
  struct Case {
    std::string method;
    std::string target;
    int status;
    std::string code;
  };
  // Upload ids are checked on a session alice really holds, so only the id is wrong.
  auto started = client().request("POST", std::string("/v2/") + kAlicePrivate + "/blobs/uploads/", alice());
  ASSERT_EQ(started.status, 202) << started.describe();
  const std::string up = std::string("/v2/") + kAlicePrivate + "/blobs/uploads/";
  const std::string priv = std::string("/v2/") + kAlicePrivate;
  const std::vector<Case> cases = {
      // Repository names.
      {"GET", "/v2/../../etc/passwd/manifests/latest", 400, "NAME_INVALID"},
      {"GET", "/v2/alice/../../../etc/passwd/manifests/latest", 400, "NAME_INVALID"},
      {"GET", "/v2/a/%2e%2e/b/tags/list", 400, "NAME_INVALID"},
      {"GET", "/v2/alice/%2e%2e%2f%2e%2e%2fetc/tags/list", 400, "NAME_INVALID"},
      {"GET", "/v2/alice%2f..%2f..%2fetc%2fpasswd/tags/list", 400, "NAME_INVALID"},
      {"GET", "/v2/alice%2F%2E%2E%2F%2E%2E%2Fetc/manifests/latest", 400, "NAME_INVALID"},
      {"GET", "/v2/alice\\..\\..\\etc\\passwd/manifests/latest", 400, "NAME_INVALID"},
      {"GET", "/v2/alice/private\\..\\..\\..\\berth.db/tags/list", 400, "NAME_INVALID"},
      {"GET", "/v2//etc/passwd/manifests/latest", 400, "NAME_INVALID"},
      {"GET", "/v2//etc/passwd/tags/list", 400, "NAME_INVALID"},
      {"GET", "/v2/./alice/private/tags/list", 400, "NAME_INVALID"},
      {"GET", "/v2/alice/private/../../../../etc/passwd/blobs/sha256:" + fake_hex, 400, "NAME_INVALID"},
      {"POST", "/v2/alice/../../../tmp/" + marker + "/blobs/uploads/", 400, "NAME_INVALID"},
      {"POST", "/v2/alice/%2e%2e/%2e%2e/tmp/" + marker + "/blobs/uploads/", 400, "NAME_INVALID"},
      {"PUT", "/v2/alice/..%2f..%2f" + marker + "/manifests/v1", 400, "NAME_INVALID"},
      // Digests.
      {"GET", priv + "/blobs/sha256:../../x", 404, "UNKNOWN"},  // no such route: the leaf is "x"
      {"GET", priv + "/blobs/sha256:..%2f..%2f..%2fetc%2fpasswd", 400, "DIGEST_INVALID"},
      {"GET", priv + "/blobs/sha256:%2e%2e%2f%2e%2e%2fberth.db", 400, "DIGEST_INVALID"},
      {"GET", priv + "/blobs/sha256:..\\..\\..\\etc\\passwd", 400, "DIGEST_INVALID"},
      {"GET", priv + "/blobs/sha256:" + std::string(64, '.'), 400, "DIGEST_INVALID"},
      {"GET", priv + "/blobs/" + std::string("..") , 400, "DIGEST_INVALID"},
      {"GET", priv + "/blobs/..%2f..%2f..%2fetc%2fpasswd", 400, "DIGEST_INVALID"},
      {"GET", priv + "/blobs/%2fetc%2fpasswd", 400, "DIGEST_INVALID"},
      {"HEAD", priv + "/blobs/sha256:" + fake_hex.substr(0, 60) + "%2f..", 400, ""},
      {"DELETE", priv + "/blobs/sha256:..%2f..%2fkeys", 400, "DIGEST_INVALID"},
      {"GET", priv + "/manifests/sha256:..%2f..%2f..%2fetc%2fpasswd", 400, "DIGEST_INVALID"},
      {"GET", priv + "/referrers/sha256:..%2f..%2fberth.db", 400, "DIGEST_INVALID"},
      {"POST", up + "?mount=sha256:..%2f..%2f..%2fetc%2fpasswd&from=alice/public", 400, "DIGEST_INVALID"},
      {"POST", up + "?mount=sha256:" + fake_hex + "&from=..%2f..%2fetc", 400, "NAME_INVALID"},
      {"POST", up + "?digest=sha256:..%2f..%2f..%2ftmp%2f" + marker, 400, "DIGEST_INVALID"},
      // Tags.
      {"GET", priv + "/manifests/..", 404, "MANIFEST_UNKNOWN"},
      {"GET", priv + "/manifests/..%2f..%2f..%2fetc%2fpasswd", 404, "MANIFEST_UNKNOWN"},
      {"GET", priv + "/manifests/..\\..\\berth.db", 404, "MANIFEST_UNKNOWN"},
      {"PUT", priv + "/manifests/..%2f..%2f..%2ftmp%2f" + marker, 400, "MANIFEST_INVALID"},
      {"PUT", priv + "/manifests/.." , 400, "MANIFEST_INVALID"},
      // Upload ids.
      {"GET", up + "..", 404, "BLOB_UPLOAD_UNKNOWN"},
      {"DELETE", up + "..", 404, "BLOB_UPLOAD_UNKNOWN"},
      {"GET", up + "..%2f..%2fberth.db", 404, "BLOB_UPLOAD_UNKNOWN"},
      {"PATCH", up + "..%2f..%2f..%2ftmp%2f" + marker, 404, "BLOB_UPLOAD_UNKNOWN"},
      {"PUT", up + "..%2f..%2f..%2ftmp%2f" + marker + "?digest=sha256:" + fake_hex, 404, "BLOB_UPLOAD_UNKNOWN"},
      {"DELETE", up + "..%2f..%2fkeys%2ftoken-signing-key.pem", 404, "BLOB_UPLOAD_UNKNOWN"},
      {"PATCH", up + "..\\..\\" + marker, 404, "BLOB_UPLOAD_UNKNOWN"},
  };
  const std::vector<std::string> beside_before = beside_data(w().server->data_dir());
  for (const auto& c : cases) {
    Headers headers = alice();  // the owner: authorization is not what stops these
    std::string body;
    if (c.method == "PATCH" || c.method == "PUT") {
      headers.emplace_back("Content-Type", c.target.find("/manifests/") != std::string::npos
                                               ? media::kOciManifest
                                               : "application/octet-stream");
      body = c.target.find("/manifests/") != std::string::npos ? w().alice_private.manifest : "root:x:0:0:" + marker;
    }
    auto r = client().request(c.method, c.target, headers, body);
    const std::string what = c.method + " " + c.target;
    EXPECT_EQ(r.status, c.status) << what << "\n" << r.describe();
    if (c.method != "HEAD") {
      EXPECT_EQ(r.error_code(), c.code) << what << "\n" << r.describe();
    }
    for (const char* leak : {"root:x:0:0", "-----BEGIN", "SQLite format", "PRIVATE KEY"}) {
      EXPECT_EQ(r.body.find(leak), std::string::npos) << what << " answered with file contents\n" << r.describe();
    }
  }
  // No file was created with the marker's name: not beside the data directory, not in /tmp, not in the
  // server's working directory, and not inside the data directory either.
  const auto data = w().server->data_dir();
  auto none = [](const std::vector<std::string>& found) {
    std::string all;
    for (const auto& f : found) all += f + "\n";
    return all;
  };
  EXPECT_EQ(none(names_with(data.parent_path(), marker, true)), "");
  EXPECT_EQ(none(names_with(data.parent_path().parent_path(), marker, false)), "");
  EXPECT_EQ(none(names_with("/tmp", marker, false)), "");
  EXPECT_EQ(none(names_with(std::filesystem::current_path(), marker, false)), "");
  // Nor any other new file beside the data directory (its parent holds the server's log and the data).
  EXPECT_EQ(beside_data(data), beside_before);
  // Nothing the data directory holds was removed by the DELETEs aimed at it.
  EXPECT_TRUE(std::filesystem::exists(data / "keys" / "token-signing-key.pem"));
  if (RegistryProcess::backends() == "default") {
    EXPECT_TRUE(std::filesystem::is_directory(data / "blobs" / "blobs"));
  }
  EXPECT_EQ(client().get(priv + "/manifests/v1", alice()).status, 200);
  EXPECT_EQ(client().get(blob_url(kAlicePrivate, w().alice_private.layer_digest), alice()).status, 200);
  EXPECT_EQ(client().get(path_of(started.header("Location")), alice()).status, 204) << "alice's upload is gone";
}

// ---------------------------------------------------------------------------------------------------
// 6. A private package answers like a missing one.

// Status, headers (but Date) and body, with every occurrence of `from` replaced by `to`.
std::string normalized(const Response& r, const std::string& from, const std::string& to) {
  auto replace_all = [&](std::string s) {
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
    return s;
  };
  std::vector<std::string> headers;
  for (const auto& [name, value] : r.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "date") continue;
    headers.push_back(lower + ": " + replace_all(value));
  }
  std::sort(headers.begin(), headers.end());
  std::string out = "HTTP " + std::to_string(r.status) + "\n";
  for (const auto& h : headers) out += h + "\n";
  return out + "\n" + replace_all(r.body);
}

struct Probe {
  std::string method;
  std::string suffix;  // after /v2/<name>
  std::string content_type = {};
  std::string body = {};
};

std::vector<Probe> probes_for(const PushedImage& image, const std::string& upload_id) {
  return {
      {"GET", "/manifests/v1"},
      {"HEAD", "/manifests/v1"},
      {"GET", "/manifests/" + image.digest},
      {"HEAD", "/manifests/" + image.digest},
      {"GET", "/manifests/nope"},
      {"GET", "/blobs/" + image.layer_digest},
      {"HEAD", "/blobs/" + image.layer_digest},
      {"GET", "/tags/list"},
      {"GET", "/tags/list?n=1"},
      {"GET", "/referrers/" + image.digest},
      {"GET", "/referrers/" + image.digest + "?artifactType=application/vnd.example.sbom"},
      {"POST", "/blobs/uploads/"},
      {"POST", "/blobs/uploads/?mount=" + url_encode(image.layer_digest)},
      {"GET", "/blobs/uploads/" + upload_id},
      {"PATCH", "/blobs/uploads/" + upload_id, "application/octet-stream", "xyz"},
      {"DELETE", "/blobs/uploads/" + upload_id},
      {"PUT", "/manifests/v2", media::kOciManifest, image.manifest},
      {"DELETE", "/manifests/" + image.digest},
      {"DELETE", "/manifests/v1"},
      {"DELETE", "/blobs/" + image.layer_digest},
  };
}

// Compares every probe on `hidden` and `missing` as `who` sees them; returns how many differed.
int compare_probes(const HttpClient& client, const Headers& who, const std::string& who_name, const std::string& hidden,
                   const std::string& missing, const std::vector<Probe>& probes, bool expect_same) {
  int differing = 0;
  for (const auto& p : probes) {
    Headers headers = who;
    if (!p.content_type.empty()) headers.emplace_back("Content-Type", p.content_type);
    auto a = client.request(p.method, "/v2/" + hidden + p.suffix, headers, p.body);
    auto b = client.request(p.method, "/v2/" + missing + p.suffix, headers, p.body);
    const std::string na = normalized(a, hidden, missing);
    const std::string nb = normalized(b, hidden, missing);
    if (na != nb) ++differing;
    if (expect_same) {
      EXPECT_EQ(na, nb) << who_name << ": " << p.method << " /v2/" << hidden << p.suffix
                        << " tells the private package from a missing one";
      // Nothing is served (the referrers endpoint may answer an empty index, as for a missing package).
      if (p.suffix.starts_with("/referrers/") && a.status == 200) {
        EXPECT_TRUE(a.json().is_object() && a.json().value("manifests", json::array()).empty()) << a.describe();
      } else {
        EXPECT_GE(a.status, 400) << who_name << ": " << p.method << " /v2/" << hidden << p.suffix << "\n" << a.describe();
      }
    }
  }
  return differing;
}

TEST_F(Attacks, APrivatePackageAnswersOthersExactlyAsAMissingOneDoes) {
  const auto alice_probes = probes_for(w().alice_private, w().alice_private_upload);
  const auto org_probes = probes_for(w().org_private, w().org_private_upload);
  // Control: to its owner the private package and the missing one answer differently on every probe
  // that reads (so the comparison can see a difference), and the referrers list is not empty.
  {
    std::vector<Probe> reads;
    for (const auto& p : alice_probes) {
      // Except a tag that exists in neither.
      if ((p.method == "GET" || p.method == "HEAD") && p.suffix != "/manifests/nope") reads.push_back(p);
    }
    const int differing = compare_probes(client(), alice(), "alice", kAlicePrivate, kAliceMissing, reads, false);
    EXPECT_EQ(differing, static_cast<int>(reads.size())) << "the owner must see her package";
    auto referrers = client().get(std::string("/v2/") + kAlicePrivate + "/referrers/" + w().alice_private.digest, alice());
    ASSERT_EQ(referrers.status, 200);
    EXPECT_EQ(referrers.json()["manifests"].size(), 1u) << referrers.body;
  }
  const std::string bobs_bearer =
      token_for(bob(), {std::string("repository:") + kAlicePrivate + ":pull,push",
                        std::string("repository:") + kAliceMissing + ":pull,push",
                        std::string("repository:") + kOrgPrivate + ":pull,push",
                        std::string("repository:") + kOrgMissing + ":pull,push"});
  ASSERT_FALSE(bobs_bearer.empty());
  const std::string anonymous_bearer =
      token_for({}, {std::string("repository:") + kAlicePrivate + ":pull",
                     std::string("repository:") + kAliceMissing + ":pull",
                     std::string("repository:") + kOrgPrivate + ":pull",
                     std::string("repository:") + kOrgMissing + ":pull"});
  ASSERT_FALSE(anonymous_bearer.empty());
  const std::vector<std::pair<std::string, Headers>> callers = {
      {"bob (Basic)", bob()},
      {"bob (bearer)", bearer_auth(bobs_bearer)},
      {"anonymous", {}},
      {"anonymous (bearer)", bearer_auth(anonymous_bearer)},
  };
  for (const auto& [name, who] : callers) {
    compare_probes(client(), who, name, kAlicePrivate, kAliceMissing, alice_probes, true);
    compare_probes(client(), who, name, kOrgPrivate, kOrgMissing, org_probes, true);
  }
  // The token endpoint grants the same (nothing) for both names.
  for (const auto& [hidden, missing] : {std::pair<std::string, std::string>{kAlicePrivate, kAliceMissing},
                                        std::pair<std::string, std::string>{kOrgPrivate, kOrgMissing}}) {
    for (const auto& [name, auth] : std::vector<std::pair<std::string, Headers>>{{"bob", bob()}, {"anonymous", {}}}) {
      const std::string a = token_for(auth, {"repository:" + hidden + ":pull,push,delete"});
      const std::string b = token_for(auth, {"repository:" + missing + ":pull,push,delete"});
      ASSERT_FALSE(a.empty());
      ASSERT_FALSE(b.empty());
      json pa = jwt_payload(a)["access"];
      json pb = jwt_payload(b)["access"];
      ASSERT_EQ(pa.size(), 1u);
      ASSERT_EQ(pb.size(), 1u);
      pa[0]["name"] = missing;
      EXPECT_EQ(pa, pb) << name << " at /token for " << hidden;
    }
  }
  // And the catalog does not list it.
  auto catalog = client().get("/v2/_catalog", bob());
  ASSERT_EQ(catalog.status, 200) << catalog.describe();
  auto names = catalog.json().value("repositories", std::vector<std::string>{});
  EXPECT_EQ(std::find(names.begin(), names.end(), kAlicePrivate), names.end()) << catalog.body;
  EXPECT_EQ(std::find(names.begin(), names.end(), kOrgPrivate), names.end()) << catalog.body;
  EXPECT_NE(std::find(names.begin(), names.end(), kAlicePublic), names.end()) << "control\n" << catalog.body;
  // After all of this, alice's package and her upload are as she left them.
  EXPECT_EQ(client().get(std::string("/v2/") + kAlicePrivate + "/manifests/v1", alice()).status, 200);
  EXPECT_EQ(client().get(std::string("/v2/") + kAlicePrivate + "/blobs/uploads/" + w().alice_private_upload, alice()).status,
            204);
}

}  // namespace
}  // namespace berth::test
