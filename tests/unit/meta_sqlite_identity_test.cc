// SqliteIdentityStore: the shared IdentityStore suite over SqliteStore::identity(), plus what only the
// SQLite driver does (migration 2 on an existing file, one file for both interfaces).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include "meta/migrations.h"
#include "meta/sqlite_store.h"
#include "unit/meta_identity_suite.h"
#include "unit/sqlite_test_db.h"

namespace berth::meta {
namespace {

namespace fs = std::filesystem;
using sqlite_test::make_temp_dir;

// The identity tests write to the file behind the store's back.
struct RawDb : sqlite_test::RawDb {
  explicit RawDb(const fs::path& file) : sqlite_test::RawDb(file, Mode::read_write) {}
};

// Members are destroyed in reverse order: the store closes its file before the directory goes.
struct SqliteResources {
  std::shared_ptr<fs::path> dir;
  std::unique_ptr<SqliteStore> store;
};

suite::IdentityUnderTest make_sqlite() {
  auto res = std::make_shared<SqliteResources>();
  res->dir = make_temp_dir("berth-ident");
  if (!res->dir) return {};
  auto store = SqliteStore::open(*res->dir / "meta.db");
  if (!store.ok()) {
    ADD_FAILURE() << store.status().message();
    return {};
  }
  res->store = std::move(*store);
  return {&res->store->identity(), res->store.get(), res};
}

using suite::MetaIdentitySuite;

INSTANTIATE_TEST_SUITE_P(Sqlite, MetaIdentitySuite,
                         ::testing::Values(suite::IdentityDriver{"sqlite", make_sqlite}),
                         suite::IdentityDriverName());

using SqliteIdentityTest = sqlite_test::SqliteFileTest;

TEST_F(SqliteIdentityTest, MigrationTwoUpgradesAVersionOneDatabase) {
  ASSERT_EQ(migrations()[0].version, 1);
  {
    // What a build that only knew version 1 left behind, with some registry content in it.
    RawDb db(file_);
    ASSERT_TRUE(db.exec(std::string(kSchemaMigrationsTable)));
    ASSERT_TRUE(db.exec(render(migrations()[0].sql, Dialect::sqlite)));
    ASSERT_TRUE(db.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (1, 1)"));
    ASSERT_TRUE(db.exec("INSERT INTO repository (name, created_at) VALUES ('acme/old', 5)"));
    ASSERT_TRUE(db.exec("INSERT INTO blob (digest, size, created_at) VALUES ('sha256:" + std::string(64, 'a') +
                        "', 9, 5)"));
    ASSERT_TRUE(db.exec("INSERT INTO repository_blob (repository_id, digest, created_at) "
                        "SELECT id, 'sha256:" + std::string(64, 'a') + "', 5 FROM repository"));
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(RawDb(file_).scalar("SELECT max(version) FROM schema_migrations"), migrations().back().version);
  EXPECT_EQ(RawDb(file_).scalar("SELECT applied_at FROM schema_migrations WHERE version = 1"), 1);

  // Old content survives and is reachable through both interfaces.
  EXPECT_EQ(*store->list_repositories("", 10), std::vector<std::string>{"acme/old"});
  auto digest = oci::Digest::parse("sha256:" + std::string(64, 'a'));
  ASSERT_TRUE(digest.ok());
  EXPECT_EQ(*store->linked_blob_size("acme/old", *digest), std::optional<uint64_t>(9));
  IdentityStore& ids = store->identity();
  EXPECT_EQ(*ids.repository_visibility("acme/old"), std::optional<std::string>("private"));

  // The new tables work.
  ASSERT_TRUE(ids.create_account(suite::new_account("alice", AccountKind::user)).ok());
  ASSERT_TRUE(ids.set_package_role("acme/old", "alice", "write").ok());
  EXPECT_EQ(*ids.package_role("acme/old", "alice"), std::optional<std::string>("write"));
  ASSERT_TRUE(ids.set_repository_visibility("acme/old", "public").ok());
  EXPECT_EQ(*ids.repository_visibility("acme/old"), std::optional<std::string>("public"));
  ASSERT_TRUE(ids.record_audit(AuditEvent{.id = 0,
                                           .at = 1,
                                           .actor = "alice",
                                           .action = "push",
                                           .target = "acme/old",
                                           .outcome = "allowed",
                                           .remote = "192.0.2.1",
                                           .detail = ""}).ok());
  EXPECT_EQ(ids.list_audit(0, 10, std::nullopt)->size(), 1u);
}

TEST_F(SqliteIdentityTest, IdentityDataSurvivesReopening) {
  int64_t token_id = 0;
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    IdentityStore& ids = store->identity();
    ASSERT_TRUE(ids.create_account(suite::new_account("alice", AccountKind::user)).ok());
    ASSERT_TRUE(ids.create_account(suite::new_account("acme", AccountKind::org)).ok());
    ASSERT_TRUE(ids.set_membership("acme", "alice", "admin").ok());
    TokenRecord token;
    token.user = "alice";
    token.hash = "h";
    token.kind = "pat";
    token.scopes = {"read:packages"};
    auto id = ids.create_token(token);
    ASSERT_TRUE(id.ok()) << id.status().message();
    token_id = *id;
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  IdentityStore& ids = store->identity();
  EXPECT_EQ(*ids.org_role("acme", "alice"), std::optional<std::string>("admin"));
  auto t = ids.find_token_by_hash("h");
  ASSERT_TRUE(t.ok() && t->has_value());
  EXPECT_EQ((**t).id, token_id);
  EXPECT_EQ((**t).scopes, std::vector<std::string>{"read:packages"});
}

TEST_F(SqliteIdentityTest, ForeignKeysHoldInTheFile) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->identity().create_account(suite::new_account("alice", AccountKind::user)).ok());
  ASSERT_TRUE(store->identity().set_repository_visibility("acme/app", "public").ok());
  ASSERT_TRUE(store->identity().set_package_role("acme/app", "alice", "read").ok());
  RawDb db(file_);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM pragma_foreign_key_check"), 0);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM package_role p JOIN repository r ON r.id = p.repository_id "
                      "JOIN account a ON a.id = p.user_id WHERE r.visibility = 'public'"),
            1);
}

}  // namespace
}  // namespace berth::meta
