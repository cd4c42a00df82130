// SqliteStore: the shared MetadataStore suite, plus what only the SQLite driver does (its file, its
// migrations, its pragmas).
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

#include "meta/migrations.h"
#include "meta/sqlite_store.h"
#include "unit/meta_package_suite.h"
#include "unit/meta_store_suite.h"
#include "unit/sqlite_test_db.h"

namespace berth::meta {
namespace {

namespace fs = std::filesystem;
using sqlite_test::make_temp_dir;
using sqlite_test::RawDb;

suite::StoreUnderTest make_sqlite() {
  auto dir = make_temp_dir();
  if (!dir) return {};
  auto store = SqliteStore::open(*dir / "meta.db");
  if (!store.ok()) {
    ADD_FAILURE() << store.status().message();
    return {};
  }
  return {std::move(*store), dir};
}

using suite::MetaStoreSuite;

INSTANTIATE_TEST_SUITE_P(Sqlite, MetaStoreSuite,
                         ::testing::Values(suite::StoreDriver{"sqlite", make_sqlite}), suite::DriverName());

suite::PackageStores make_sqlite_packages() { return suite::package_stores_of<SqliteStore>(make_sqlite()); }

using suite::PackageSuite;

INSTANTIATE_TEST_SUITE_P(Sqlite, PackageSuite,
                         ::testing::Values(suite::PackageDriver{"sqlite", make_sqlite_packages}),
                         suite::PackageDriverName());

using SqliteStoreTest = sqlite_test::SqliteFileTest;

TEST_F(SqliteStoreTest, SchemaVersionIsRecorded) {
  ASSERT_NE(open(), nullptr);
  RawDb db(file_);
  EXPECT_EQ(db.scalar("SELECT max(version) FROM schema_migrations"), migrations().back().version);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), static_cast<int64_t>(migrations().size()));
  EXPECT_GT(db.scalar("SELECT min(applied_at) FROM schema_migrations"), 0);
}

TEST_F(SqliteStoreTest, MigrationsAreAppliedOnceAcrossReopens) {
  ASSERT_NE(open(), nullptr);
  int64_t first_applied_at = RawDb(file_).scalar("SELECT applied_at FROM schema_migrations WHERE version = 1");
  // Re-running version 1 would fail (CREATE TABLE without IF NOT EXISTS), so reopening only succeeds if
  // applied migrations are skipped; the record itself must not be rewritten either.
  for (int i = 0; i < 3; ++i) ASSERT_NE(open(), nullptr);
  RawDb db(file_);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), static_cast<int64_t>(migrations().size()));
  EXPECT_EQ(db.scalar("SELECT applied_at FROM schema_migrations WHERE version = 1"), first_applied_at);
}

TEST_F(SqliteStoreTest, ReopeningKeepsData) {
  auto d = oci::Digest::of("layer");
  auto m = ManifestRecord{.repository = "acme/app",
                          .digest = oci::Digest::of("{}"),
                          .media_type = "application/vnd.oci.image.manifest.v1+json",
                          .artifact_type = std::nullopt,
                          .content = "{}",
                          .subject = std::nullopt,
                          .annotations_json = "",
                          .created_at = 0,
                          .description = {},
                          .source = {},
                          .licenses = {}};
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->record_blob(d, 42).ok());
    ASSERT_TRUE(store->link_blob("acme/app", d).ok());
    ASSERT_TRUE(store->put_manifest(m, {}, "v1", 7).ok());
    ASSERT_TRUE(store->create_upload(UploadRecord{.id = "u", .repository = "acme/app", .offset = 0, .hash_state = "", .storage_state = "", .started_at = 1, .updated_at = 1}).ok());
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_EQ(*store->linked_blob_size("acme/app", d), std::optional<uint64_t>(42));
  auto got = store->get_manifest_by_tag("acme/app", "v1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((**got).digest, m.digest);
  EXPECT_TRUE(store->get_upload("u")->has_value());
}

TEST_F(SqliteStoreTest, DatabaseIsInWalMode) {
  ASSERT_NE(open(), nullptr);
  EXPECT_EQ(RawDb(file_).text("PRAGMA journal_mode"), "wal");
}

TEST_F(SqliteStoreTest, UnopenableFileIsIoError) {
  auto s = SqliteStore::open(*dir_ / "no-such-dir" / "meta.db");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Errc::io_error);
}

TEST_F(SqliteStoreTest, ManifestRefsAreStoredAndRemovedWithTheManifest) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto m = ManifestRecord{.repository = "r",
                          .digest = oci::Digest::of("idx"),
                          .media_type = "application/vnd.oci.image.index.v1+json",
                          .artifact_type = std::nullopt,
                          .content = "idx",
                          .subject = std::nullopt,
                          .annotations_json = "",
                          .created_at = 0,
                          .description = {},
                          .source = {},
                          .licenses = {}};
  ManifestRefs refs{.blobs = {oci::Digest::of("a"), oci::Digest::of("b")}, .manifests = {oci::Digest::of("c")}};
  for (const auto& b : refs.blobs) {
    ASSERT_TRUE(store->record_blob(b, 1).ok());
    ASSERT_TRUE(store->link_blob("r", b).ok());
  }
  ASSERT_TRUE(store->put_manifest(m, refs, std::nullopt, 1).ok());
  ASSERT_TRUE(store->put_manifest(m, refs, std::nullopt, 2).ok());  // no duplicate refs
  {
    RawDb db(file_);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM manifest_ref WHERE kind = 'blob'"), 2);
    EXPECT_EQ(db.scalar("SELECT count(*) FROM manifest_ref WHERE kind = 'manifest'"), 1);
  }
  auto deleted = store->delete_manifest("r", m.digest, 5);
  ASSERT_TRUE(deleted.ok() && deleted->outcome == ManifestDeletion::Outcome::deleted);
  // A soft delete keeps the references (a restore needs them); the purge after the window removes them.
  EXPECT_EQ(RawDb(file_).scalar("SELECT count(*) FROM manifest_ref"), 3);
  ASSERT_TRUE(store->packages().purge(6, 100).ok());
  EXPECT_EQ(RawDb(file_).scalar("SELECT count(*) FROM manifest_ref"), 0);
}

TEST_F(SqliteStoreTest, WriterWaitsWhileAnotherConnectionHoldsTheWriteLock) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  // Another process (here: another connection) is mid-transaction holding the write lock.
  sqlite3* other = nullptr;
  ASSERT_EQ(sqlite3_open(file_.c_str(), &other), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  std::atomic<bool> done{false};
  Status result;
  std::thread writer([&] {
    result = store->ensure_repository("acme/app");
    done = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_FALSE(done.load());  // blocked on the lock, not failed
  ASSERT_EQ(sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr), SQLITE_OK);
  writer.join();
  sqlite3_close(other);
  EXPECT_TRUE(result.ok()) << result.message();
  EXPECT_TRUE(*store->repository_exists("acme/app"));
}

TEST(MigrationsTest, VersionsStrictlyIncrease) {
  int64_t last = 0;
  for (const Migration& m : migrations()) {
    EXPECT_GT(m.version, last);
    last = m.version;
  }
}

TEST(MigrationsTest, RenderReplacesEveryDialectToken) {
  for (const Migration& m : migrations()) {
    std::string sqlite = render(m.sql, Dialect::sqlite);
    std::string pg = render(m.sql, Dialect::postgres);
    EXPECT_EQ(sqlite.find("{{"), std::string::npos) << sqlite;
    EXPECT_EQ(pg.find("{{"), std::string::npos) << pg;
    EXPECT_EQ(pg.find(" BLOB"), std::string::npos);
  }
  EXPECT_EQ(render("x {{BLOB}} y", Dialect::postgres), "x BYTEA y");
  EXPECT_EQ(render("x {{BLOB}} y", Dialect::sqlite), "x BLOB y");
  EXPECT_EQ(render("{{UNKNOWN}}", Dialect::sqlite), "{{UNKNOWN}}");
}

// A database from before the package model (migration 4) has manifests but no versions: opening it builds
// them, with their sizes, as pushes would have.
TEST_F(SqliteStoreTest, OpeningBuildsTheVersionsOfManifestsPushedBeforeThePackageModel) {
  auto manifest = [](const std::string& content, std::optional<oci::Digest> subject) {
    return ManifestRecord{.repository = "acme/app",
                          .digest = oci::Digest::of(content),
                          .media_type = "application/vnd.oci.image.manifest.v1+json",
                          .artifact_type = std::nullopt,
                          .content = content,
                          .subject = std::move(subject),
                          .annotations_json = "",
                          .created_at = 0,
                          .description = {},
                          .source = {},
                          .licenses = {}};
  };
  auto platform = manifest("platform", std::nullopt);
  auto index = manifest("index", std::nullopt);
  index.media_type = "application/vnd.oci.image.index.v1+json";
  auto sig = manifest("sig", index.digest);
  auto other = manifest("other", std::nullopt);
  auto layer = oci::Digest::of("layer"), sig_layer = oci::Digest::of("sig-layer");
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->record_blob(layer, 700).ok());
    ASSERT_TRUE(store->record_blob(sig_layer, 50).ok());
    for (const auto& b : {layer, sig_layer}) ASSERT_TRUE(store->link_blob(platform.repository, b).ok());
    ASSERT_TRUE(store->put_manifest(platform, ManifestRefs{.blobs = {layer}, .manifests = {}}, std::nullopt, 10).ok());
    ASSERT_TRUE(store->put_manifest(index, ManifestRefs{.blobs = {}, .manifests = {platform.digest}}, "v1", 20).ok());
    ASSERT_TRUE(store->put_manifest(sig, ManifestRefs{.blobs = {sig_layer}, .manifests = {}}, std::nullopt, 30).ok());
    ASSERT_TRUE(store->put_manifest(other, ManifestRefs{.blobs = {layer}, .manifests = {}}, "v2", 40).ok());
  }
  {
    // Back to what version 3 knew: manifests, refs and tags only.
    RawDb db(file_, RawDb::Mode::read_write);
    ASSERT_TRUE(db.exec("DELETE FROM version_blob; DELETE FROM deleted_tag; DELETE FROM package_version; "
                        "DELETE FROM package_blob; DELETE FROM owner_blob; DELETE FROM owner_usage; "
                        "UPDATE blob SET live_versions = 0; "
                        "UPDATE repository SET versions_ready = 0, version_count = 0, size = 0"));
  }
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto listed = store->packages().list_versions("acme/app", VersionState::active, 0, 10);
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed->items.size(), 2u);
  EXPECT_EQ(listed->items[0].digest, other.digest);  // newest first, by the manifests' push times
  EXPECT_EQ(listed->items[0].created_at, 40);
  EXPECT_EQ(listed->items[1].digest, index.digest);
  EXPECT_EQ(listed->items[1].size, 750u);
  EXPECT_EQ(listed->items[1].tags, std::vector<std::string>{"v1"});
  EXPECT_EQ(listed->items[1].parts.size(), 2u);
  EXPECT_EQ((*store->packages().get_package("acme/app"))->size, 750u);
  EXPECT_EQ(RawDb(file_).scalar("SELECT count(*) FROM repository WHERE versions_ready = 0"), 0);
}

}  // namespace
}  // namespace berth::meta
