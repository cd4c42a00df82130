// The auth fuzzers' world: an identity store with known accounts and tokens (SQLite, in the process's
// temporary directory) and an ES256 signing key, made once per process, never per input. The inputs only
// read it, apart from the audit rows that failed logins append and the last-used time of a token.
//
// The store is meta/'s SqliteIdentityStore on a pool of its own, opened here the way SqliteStore::open
// opens it (connection, migrations, pool) rather than through SqliteStore: the fuzz build compiles only
// the identity side of meta/ (tests/fuzz/CMakeLists.txt says why).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "auth/access.h"
#include "auth/jwt.h"
#include "auth/secrets.h"
#include "fuzz/fuzz_support.h"
#include "meta/migrations.h"
#include "meta/sqlite_db.h"
#include "meta/sqlite_identity_store.h"

namespace berth::fuzz {

// The clock of every auth fuzzer: tokens are issued and verified at this instant.
inline constexpr int64_t kNow = 1'700'000'000;
inline constexpr std::string_view kService = "berth";

// Real-looking secrets for the store's tokens, also spelled out in the seed corpora.
inline constexpr std::string_view kAlicePat = "berth_pat_0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefg";
inline constexpr std::string_view kAliceCi = "berth_ci_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
inline constexpr std::string_view kBobPat = "berth_pat_ZYXWVUTSRQPONMLKJIHGFEDCBAzyxwvutsrqponmlkjih";

// users alice and bob, org acme (alice admin, bob member); alice/app (private), acme/web (public);
// tokens: alice's PAT (read, write, delete), alice's CI token for alice/app, bob's PAT (read), revoked.
struct AuthWorld {
  std::unique_ptr<meta::sqlite::Pool> pool;
  std::unique_ptr<meta::SqliteIdentityStore> store;
  std::unique_ptr<auth::TokenSigner> signer;
  std::filesystem::path key_file;

  static AuthWorld& get() {
    static AuthWorld* world = make();  // never destroyed: the store may still be in use at exit
    return *world;
  }

  // A fresh AccessControl per input: its failed-login throttle must not carry over between inputs.
  auth::AccessControl access_control() {
    auth::AuthOptions options;
    options.service = std::string(kService);
    return auth::AccessControl(*store, *signer, options, [] { return kNow; });
  }

 private:
  static AuthWorld* make() {
    auto* w = new AuthWorld;
    const std::filesystem::path db = temp_dir() / "meta.db";
    auto conn = meta::sqlite::Connection::open(db);
    if (!conn.ok()) die("cannot open the SQLite database: " + conn.status().message());
    for (const meta::Migration& m : meta::migrations()) {
      Status s = (*conn)->exec(meta::render(m.sql, meta::Dialect::sqlite));
      if (!s.ok()) die("migration " + std::to_string(m.version) + ": " + s.message());
    }
    w->pool = std::make_unique<meta::sqlite::Pool>(db, 4);
    w->pool->add(std::move(*conn));
    w->store = std::make_unique<meta::SqliteIdentityStore>(*w->pool);
    w->key_file = temp_dir() / "token-signing-key.pem";
    auto signer = auth::TokenSigner::load_or_create(w->key_file, "berth");
    if (!signer.ok()) die("cannot create the signing key: " + signer.status().message());
    w->signer = std::move(*signer);

    meta::IdentityStore& ids = *w->store;
    auto must = [](const Status& s, const char* what) {
      if (!s.ok()) die(std::string(what) + ": " + s.message());
    };
    for (auto [name, kind] : {std::pair{"alice", meta::AccountKind::user}, std::pair{"bob", meta::AccountKind::user},
                              std::pair{"acme", meta::AccountKind::org}}) {
      meta::Account a;
      a.name = name;
      a.kind = kind;
      a.created_at = kNow - 1000;
      auto id = ids.create_account(a);
      if (!id.ok()) die("create_account: " + id.status().message());
    }
    must(ids.set_membership("acme", "alice", "admin"), "set_membership");
    must(ids.set_membership("acme", "bob", "member"), "set_membership");
    must(ids.set_repository_visibility("alice/app", "private"), "set_repository_visibility");
    must(ids.set_repository_visibility("acme/web", "public"), "set_repository_visibility");
    must(ids.set_package_role("alice/app", "bob", "read"), "set_package_role");

    auto token = [&](std::string_view secret, const char* user, const char* kind, std::vector<std::string> scopes,
                     std::vector<std::string> packages) {
      meta::TokenRecord t;
      t.user = user;
      t.hash = auth::token_hash(secret);
      t.hint = auth::token_hint(secret);
      t.name = "fuzz";
      t.kind = kind;
      t.scopes = std::move(scopes);
      t.packages = std::move(packages);
      t.created_at = kNow - 1000;
      auto id = ids.create_token(t);
      if (!id.ok()) die("create_token: " + id.status().message());
      return *id;
    };
    token(kAlicePat, "alice", "pat", {"read:packages", "write:packages", "delete:packages"}, {});
    token(kAliceCi, "alice", "ci", {"read:packages", "write:packages"}, {"alice/app"});
    int64_t bob = token(kBobPat, "bob", "pat", {"read:packages"}, {});
    auto revoked = ids.revoke_token(bob, kNow - 10);
    if (!revoked.ok()) die("revoke_token: " + revoked.status().message());
    return w;
  }
};

}  // namespace berth::fuzz
