// PgStore: the shared MetadataStore suite against a real PostgreSQL 15 server that this test starts
// (scripts/start-postgres.sh), plus what only the PostgreSQL driver does: migrations under an advisory
// lock, bytes through BYTEA, its connection pool, reconnecting, and error messages without passwords.
//
// The server harness is tests/unit/pg_test_server.h: one server per binary, one database per test.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "meta/migrations.h"
#include "meta/pg_store.h"
#include "meta/queries.h"
#include "unit/meta_package_suite.h"
#include "unit/meta_store_suite.h"
#include "unit/pg_test_server.h"

namespace berth::meta {
namespace {

using pg_test::PgServer;
using pg_test::Raw;
using pg_test::SharedServer;

suite::StoreUnderTest make_pg() {
  PgServer* server = SharedServer::get();
  if (server == nullptr) return {};
  auto db = server->create_database();
  if (!db) return {};
  auto store = PgStore::open(server->url(*db));
  if (!store.ok()) {
    ADD_FAILURE() << store.status().message();
    return {};
  }
  return {std::move(*store), db};
}

using suite::MetaStoreSuite;

INSTANTIATE_TEST_SUITE_P(Postgres, MetaStoreSuite, ::testing::Values(suite::StoreDriver{"postgres", make_pg}),
                         suite::DriverName());

suite::PackageStores make_pg_packages() { return suite::package_stores_of<PgStore>(make_pg()); }

using suite::PackageSuite;

INSTANTIATE_TEST_SUITE_P(Postgres, PackageSuite,
                         ::testing::Values(suite::PackageDriver{"postgres", make_pg_packages}),
                         suite::PackageDriverName());

// A TCP port on 127.0.0.1 with nothing listening on it.
int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

ManifestRecord make_manifest(const std::string& repo, const std::string& content) {
  return ManifestRecord{.repository = repo,
                        .digest = oci::Digest::of(content),
                        .media_type = "application/vnd.oci.image.manifest.v1+json",
                        .artifact_type = std::nullopt,
                        .content = content,
                        .subject = std::nullopt,
                        .annotations_json = "",
                        .created_at = 0,
                        .description = {},
                        .source = {},
                        .licenses = {}};
}

class PgStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = SharedServer::get();
    ASSERT_NE(server_, nullptr);
    db_ = server_->create_database();
    ASSERT_NE(db_, nullptr);
    url_ = server_->url(*db_);
  }
  std::unique_ptr<PgStore> open() {
    auto s = PgStore::open(url_);
    EXPECT_TRUE(s.ok()) << s.status().message();
    return s.ok() ? std::move(*s) : nullptr;
  }
  PgServer* server_ = nullptr;
  std::shared_ptr<std::string> db_;
  std::string url_;
};

TEST_F(PgStoreTest, SchemaVersionIsRecorded) {
  ASSERT_NE(open(), nullptr);
  Raw db(url_);
  EXPECT_EQ(db.scalar("SELECT max(version) FROM schema_migrations"), migrations().back().version);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), static_cast<int64_t>(migrations().size()));
  EXPECT_GT(db.scalar("SELECT min(applied_at) FROM schema_migrations"), 0);
}

TEST_F(PgStoreTest, ConcurrentOpensApplyMigrationsOnce) {
  // Without the advisory lock, racing CREATE TABLEs fail on the catalog's unique index or the second
  // CREATE fails outright; with it, every opener succeeds and each migration is recorded once.
  constexpr int kOpeners = 6;
  std::vector<std::unique_ptr<PgStore>> stores(kOpeners);
  std::vector<std::string> errors(kOpeners);
  std::atomic<int> ready{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kOpeners; ++i) {
    threads.emplace_back([&, i] {
      ++ready;
      while (ready.load() < kOpeners) std::this_thread::yield();
      auto s = PgStore::open(url_);
      if (s.ok()) stores[i] = std::move(*s);
      else errors[i] = s.status().message();
    });
  }
  for (auto& t : threads) t.join();
  for (int i = 0; i < kOpeners; ++i) EXPECT_NE(stores[i], nullptr) << errors[i];
  Raw db(url_);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM schema_migrations"), static_cast<int64_t>(migrations().size()));
  // Every store sees the one schema: a write through one is read through another.
  ASSERT_TRUE(stores[0]->ensure_repository("acme/app").ok());
  EXPECT_TRUE(*stores[kOpeners - 1]->repository_exists("acme/app"));
}

TEST_F(PgStoreTest, ReopeningKeepsDataAndSkipsAppliedMigrations) {
  {
    auto store = open();
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(store->put_manifest(make_manifest("acme/app", "{}"), {}, "v1", 7).ok());
  }
  int64_t applied_at = Raw(url_).scalar("SELECT applied_at FROM schema_migrations WHERE version = 1");
  auto store = open();
  ASSERT_NE(store, nullptr);
  EXPECT_TRUE(store->get_manifest_by_tag("acme/app", "v1")->has_value());
  EXPECT_EQ(Raw(url_).scalar("SELECT applied_at FROM schema_migrations WHERE version = 1"), applied_at);
}

TEST_F(PgStoreTest, BinaryContentRoundTripsByteIdentical) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  std::string every_byte;
  for (int i = 0; i < 256; ++i) every_byte += static_cast<char>(i);
  std::string big;
  for (int i = 0; i < 4096; ++i) big += every_byte;  // 1 MiB, NULs and high bytes throughout
  for (const std::string& content : {every_byte, big, std::string("\\x00'\"?$1", 9)}) {
    auto m = make_manifest("r", content);
    ASSERT_TRUE(store->put_manifest(m, {}, std::nullopt, 1).ok());
    auto got = store->get_manifest("r", m.digest);
    ASSERT_TRUE(got.ok() && got->has_value()) << got.status().message();
    EXPECT_TRUE((**got).content == content) << "content differs, size " << (**got).content.size();
  }
  UploadRecord u{.id = "u", .repository = "r", .offset = 0, .hash_state = every_byte, .storage_state = "",
                 .started_at = 1, .updated_at = 1};
  ASSERT_TRUE(store->create_upload(u).ok());
  ASSERT_TRUE(store->advance_upload("u", 0, 3, big, every_byte, 2).ok());
  auto g = **store->get_upload("u");
  EXPECT_TRUE(g.hash_state == big);
  EXPECT_TRUE(g.storage_state == every_byte);
}

TEST_F(PgStoreTest, ManifestRefsAreStoredAndRemovedWithTheManifest) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  auto m = make_manifest("r", "idx");
  ManifestRefs refs{.blobs = {oci::Digest::of("a"), oci::Digest::of("b")}, .manifests = {oci::Digest::of("c")}};
  for (const auto& b : refs.blobs) {
    ASSERT_TRUE(store->record_blob(b, 1).ok());
    ASSERT_TRUE(store->link_blob("r", b).ok());
  }
  ASSERT_TRUE(store->put_manifest(m, refs, std::nullopt, 1).ok());
  ASSERT_TRUE(store->put_manifest(m, refs, std::nullopt, 2).ok());  // no duplicate refs
  Raw db(url_);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM manifest_ref WHERE kind = 'blob'"), 2);
  EXPECT_EQ(db.scalar("SELECT count(*) FROM manifest_ref WHERE kind = 'manifest'"), 1);
  auto deleted = store->delete_manifest("r", m.digest, 5);
  ASSERT_TRUE(deleted.ok() && deleted->outcome == ManifestDeletion::Outcome::deleted);
  // A soft delete keeps the references (a restore needs them); the purge after the window removes them.
  EXPECT_EQ(db.scalar("SELECT count(*) FROM manifest_ref"), 3);
  ASSERT_TRUE(store->packages().purge(6, 100).ok());
  EXPECT_EQ(db.scalar("SELECT count(*) FROM manifest_ref"), 0);
}

TEST_F(PgStoreTest, ConcurrentAdvanceUploadHasExactlyOneWinner) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->create_upload(UploadRecord{.id = "u", .repository = "r", .offset = 0, .hash_state = "",
                                                .storage_state = "", .started_at = 1, .updated_at = 1})
                  .ok());
  constexpr int kThreads = 8;
  std::vector<Errc> codes(kThreads);
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      codes[i] = store->advance_upload("u", 0, 10 + i, "h" + std::to_string(i), "s", 5).code();
    });
  }
  for (auto& t : threads) t.join();
  int winners = 0;
  for (Errc c : codes) {
    if (c == Errc::ok) ++winners;
    else EXPECT_EQ(c, Errc::conflict);
  }
  EXPECT_EQ(winners, 1);
}

TEST_F(PgStoreTest, PoolServesMoreThreadsThanItHasConnections) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  constexpr int kThreads = 40;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] {
      for (int j = 0; j < 10; ++j) {
        if (!store->ensure_repository("r" + std::to_string(i)).ok()) ++failures;
        if (!store->list_repositories("", 5).ok()) ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(store->list_repositories("", 100)->size(), static_cast<size_t>(kThreads));
  int64_t backends = Raw(url_).scalar("SELECT count(*) FROM pg_stat_activity WHERE application_name = 'berth' "
                                      "AND datname = '" + *db_ + "'");
  EXPECT_GE(backends, 1);
  EXPECT_LE(backends, 16);
}

TEST_F(PgStoreTest, TerminatedConnectionsAreReplacedTransparently) {
  auto store = open();
  ASSERT_NE(store, nullptr);
  ASSERT_TRUE(store->ensure_repository("acme/app").ok());
  Raw admin(url_);
  EXPECT_GE(admin.scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                         "WHERE application_name = 'berth' AND datname = '" + *db_ + "'"),
            1);
  // Reads and writes alike go through, on new connections, with no error for the caller.
  auto exists = store->repository_exists("acme/app");
  ASSERT_TRUE(exists.ok()) << exists.status().message();
  EXPECT_TRUE(*exists);
  Status s = store->ensure_repository("acme/other");
  EXPECT_TRUE(s.ok()) << s.message();
}

TEST(PgStoreServerTest, ReconnectsAfterTheServerRestarts) {
  auto server = PgServer::start();  // its own: stopping the shared one would disturb other tests
  ASSERT_NE(server, nullptr);
  auto db = server->create_database();
  ASSERT_NE(db, nullptr);
  auto opened = PgStore::open(server->url(*db));
  ASSERT_TRUE(opened.ok()) << opened.status().message();
  auto& store = *opened;
  // Fill the pool with several connections, all of which the restart will break.
  std::vector<std::thread> threads;
  for (int i = 0; i < 6; ++i) {
    threads.emplace_back([&, i] { (void)store->ensure_repository("r" + std::to_string(i)); });
  }
  for (auto& t : threads) t.join();

  ASSERT_TRUE(server->stop());
  Status down = store->ensure_repository("while-down");
  EXPECT_EQ(down.code(), Errc::unavailable) << down.message();
  EXPECT_NE(down.message().find(server->host_port()), std::string::npos) << down.message();

  ASSERT_TRUE(server->start_again());
  // The first calls after the restart succeed: dead connections are dropped and replaced.
  auto names = store->list_repositories("", 100);
  ASSERT_TRUE(names.ok()) << names.status().message();
  EXPECT_EQ(names->size(), 6u);
  Status s = store->ensure_repository("after-restart");
  EXPECT_TRUE(s.ok()) << s.message();
  store.reset();
}

TEST(PgStoreOpenTest, UnreachableServerIsUnavailableNamingHostPortButNotPassword) {
  int port = closed_port();
  auto s = PgStore::open("postgresql://berth:s3cret-Pa55@127.0.0.1:" + std::to_string(port) + "/berth");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Errc::unavailable);
  EXPECT_NE(s.status().message().find("127.0.0.1:" + std::to_string(port)), std::string::npos)
      << s.status().message();
  EXPECT_EQ(s.status().message().find("s3cret-Pa55"), std::string::npos) << s.status().message();
}

TEST(PgStoreOpenTest, InvalidUrlIsInvalidArgumentWithoutEchoingIt) {
  // libpq's own parse errors quote the whole URL, password included.
  auto s = PgStore::open("postgresql://berth:s3cret-Pa55@[::1/berth");
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), Errc::invalid_argument);
  EXPECT_EQ(s.status().message().find("s3cret-Pa55"), std::string::npos) << s.status().message();
}

TEST_F(PgStoreTest, PasswordAuthenticationWorksAndAFailureNeverShowsThePassword) {
  // start-postgres.sh makes role berth_pw authenticate with SCRAM; everyone else is trusted.
  Raw admin(url_);
  admin.exec("DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'berth_pw') THEN "
             "CREATE ROLE berth_pw LOGIN PASSWORD 'right-Pa55'; END IF; END $$");
  admin.exec("GRANT ALL ON SCHEMA public TO berth_pw");
  std::string host_port = server_->host_port();
  auto wrong = PgStore::open("postgresql://berth_pw:wrong-Pa55@" + host_port + "/" + *db_);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), Errc::unavailable);
  EXPECT_NE(wrong.status().message().find(host_port), std::string::npos) << wrong.status().message();
  EXPECT_EQ(wrong.status().message().find("wrong-Pa55"), std::string::npos) << wrong.status().message();
  auto right = PgStore::open("postgresql://berth_pw:right-Pa55@" + host_port + "/" + *db_);
  ASSERT_TRUE(right.ok()) << right.status().message();
  EXPECT_TRUE((*right)->ensure_repository("acme/app").ok());
}

TEST(NumberedPlaceholdersTest, ConvertsOnlyPlaceholdersOutsideQuotes) {
  EXPECT_EQ(sql::numbered_placeholders("SELECT a FROM t WHERE b = ? AND c > ? LIMIT ?"),
            "SELECT a FROM t WHERE b = $1 AND c > $2 LIMIT $3");
  EXPECT_EQ(sql::numbered_placeholders("SELECT '?', \"a?\" FROM t WHERE x = ? AND y = 'it''s ?'"),
            "SELECT '?', \"a?\" FROM t WHERE x = $1 AND y = 'it''s ?'");
  EXPECT_EQ(sql::numbered_placeholders("no params"), "no params");
}

}  // namespace
}  // namespace berth::meta
