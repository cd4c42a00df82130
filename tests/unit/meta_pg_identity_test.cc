// PgIdentityStore: the shared IdentityStore suite over PgStore::identity() against a real PostgreSQL 15
// server that this test starts (scripts/start-postgres.sh), plus what only a fleet does: several nodes
// (PgStores) on one database, seeing each other's writes and writing at the same time.
//
// The server harness is tests/unit/pg_test_server.h: one server per binary, one database per test.
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "meta/pg_store.h"
#include "unit/meta_identity_suite.h"
#include "unit/pg_test_server.h"

namespace berth::meta {
namespace {

using pg_test::PgServer;
using pg_test::Raw;
using pg_test::SharedServer;

// ---- The shared suite ----

// Members are destroyed in reverse order: the store disconnects before its database is dropped.
struct PgResources {
  std::shared_ptr<std::string> db;
  std::unique_ptr<PgStore> store;
};

suite::IdentityUnderTest make_pg() {
  PgServer* server = SharedServer::get();
  if (server == nullptr) return {};
  auto res = std::make_shared<PgResources>();
  res->db = server->create_database();
  if (!res->db) return {};
  auto store = PgStore::open(server->url(*res->db));
  if (!store.ok()) {
    ADD_FAILURE() << store.status().message();
    return {};
  }
  res->store = std::move(*store);
  return {&res->store->identity(), res->store.get(), res};
}

using suite::MetaIdentitySuite;

INSTANTIATE_TEST_SUITE_P(Postgres, MetaIdentitySuite,
                         ::testing::Values(suite::IdentityDriver{"postgres", make_pg}),
                         suite::IdentityDriverName());

// ---- Fleets: two nodes on one database ----

class PgFleetTest : public ::testing::Test {
 protected:
  void SetUp() override {
    PgServer* server = SharedServer::get();
    ASSERT_NE(server, nullptr);
    db_ = server->create_database();
    ASSERT_NE(db_, nullptr);
    url_ = server->url(*db_);
    for (auto* node : {&a_, &b_}) {
      auto s = PgStore::open(url_);
      ASSERT_TRUE(s.ok()) << s.status().message();
      *node = std::move(*s);
    }
  }
  void TearDown() override {
    a_.reset();
    b_.reset();
  }

  std::shared_ptr<std::string> db_;  // declared first: dropped after the stores disconnect
  std::string url_;
  std::unique_ptr<PgStore> a_, b_;
};

AuditEvent audit(const std::string& actor, const std::string& action) {
  return AuditEvent{.id = 0,
                    .at = 1,
                    .actor = actor,
                    .action = action,
                    .target = "acme/app",
                    .outcome = "allowed",
                    .remote = "192.0.2.1",
                    .detail = ""};
}

TEST_F(PgFleetTest, NodesSeeEachOthersTokensAndAuditEvents) {
  IdentityStore& a = a_->identity();
  IdentityStore& b = b_->identity();
  ASSERT_TRUE(a.create_account(suite::new_account("alice", AccountKind::user)).ok());
  ASSERT_TRUE(b.create_account(suite::new_account("acme", AccountKind::org)).ok());
  EXPECT_EQ(b.create_account(suite::new_account("alice", AccountKind::org)).status().code(), Errc::already_exists);
  ASSERT_TRUE(b.set_membership("acme", "alice", "admin").ok());
  EXPECT_EQ(*a.org_role("acme", "alice"), std::optional<std::string>("admin"));

  // A token created on one node authenticates on the other; revoking and touching travel too.
  TokenRecord t;
  t.user = "alice";
  t.hash = "feed";
  t.kind = "ci";
  t.scopes = {"read:packages", "write:packages"};
  t.packages = {"acme/app"};
  t.created_at = 10;
  auto id = a.create_token(t);
  ASSERT_TRUE(id.ok()) << id.status().message();
  auto found = b.find_token_by_hash("feed");
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((**found).id, *id);
  EXPECT_EQ((**found).packages, std::vector<std::string>{"acme/app"});
  EXPECT_EQ(b.create_token(t).status().code(), Errc::already_exists);
  ASSERT_TRUE(b.touch_token(*id, 20).ok());
  EXPECT_EQ((**a.get_token(*id)).last_used_at, std::optional<int64_t>(20));
  EXPECT_TRUE(*b.revoke_token(*id, 30));
  EXPECT_TRUE(*a.revoke_token(*id, 40));
  EXPECT_EQ((**a.find_token_by_hash("feed")).revoked_at, std::optional<int64_t>(30));

  // Visibility and package roles set on one node hold on the other, for repositories either created.
  ASSERT_TRUE(a_->ensure_repository("acme/app").ok());
  ASSERT_TRUE(b.set_repository_visibility("acme/app", "public").ok());
  ASSERT_TRUE(b.set_package_role("acme/app", "alice", "write").ok());
  EXPECT_EQ(*a.repository_visibility("acme/app"), std::optional<std::string>("public"));
  EXPECT_EQ(*a.package_role("acme/app", "alice"), std::optional<std::string>("write"));

  // One audit log, in one order, whichever node wrote each event.
  ASSERT_TRUE(a.record_audit(audit("alice", "login")).ok());
  ASSERT_TRUE(b.record_audit(audit("alice", "push")).ok());
  ASSERT_TRUE(a.record_audit(audit("ci:alice", "pull")).ok());
  for (IdentityStore* node : {&a, &b}) {
    auto events = node->list_audit(0, 10, std::nullopt);
    ASSERT_TRUE(events.ok());
    ASSERT_EQ(events->size(), 3u);
    EXPECT_EQ((*events)[0].action, "login");
    EXPECT_EQ((*events)[1].action, "push");
    EXPECT_EQ((*events)[2].action, "pull");
    EXPECT_EQ(node->list_audit(0, 10, std::string("alice"))->size(), 2u);
  }
}

TEST_F(PgFleetTest, ConcurrentWritesFromBothNodesResolveCleanly) {
  constexpr int kThreads = 4;
  std::atomic<int> created{0}, taken{0}, failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 2 * kThreads; ++t) {
    IdentityStore& ids = (t % 2 ? a_ : b_)->identity();
    threads.emplace_back([&, t] {
      // Everyone races for the same name: one wins, the rest are told it is taken.
      auto id = ids.create_account(suite::new_account("alice", AccountKind::user));
      if (id.ok()) {
        ++created;
      } else if (id.status().code() == Errc::already_exists) {
        ++taken;
      } else {
        ++failures;
      }
      // Upserts of one row from both nodes: each is applied, none fails.
      if (!ids.set_repository_visibility("acme/app", t % 2 ? "public" : "private").ok()) ++failures;
      if (!ids.create_account(suite::new_account("u" + std::to_string(t), AccountKind::user)).ok()) ++failures;
      if (!ids.set_package_role("acme/app", "u" + std::to_string(t), "read").ok()) ++failures;
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(taken.load(), 2 * kThreads - 1);
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(a_->identity().list_accounts()->size(), static_cast<size_t>(2 * kThreads + 1));
  EXPECT_EQ(b_->identity().list_package_roles("acme/app")->size(), static_cast<size_t>(2 * kThreads));
  EXPECT_EQ(*a_->list_repositories("", 10), std::vector<std::string>{"acme/app"});
}

// A reader tailing the log by after_id while both nodes write must end up with every event exactly
// once: an event committed after one with a higher id would be skipped for good.
TEST_F(PgFleetTest, TailingTheAuditLogWhileNodesWriteMissesNothing) {
  constexpr int kWriters = 6, kEach = 60;
  std::atomic<int> writing{kWriters}, failures{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    IdentityStore& ids = (w % 2 ? a_ : b_)->identity();
    writers.emplace_back([&, w] {
      for (int i = 0; i < kEach; ++i) {
        if (!ids.record_audit(audit("w" + std::to_string(w), std::to_string(i))).ok()) ++failures;
      }
      --writing;
    });
  }
  std::vector<AuditEvent> seen;
  int64_t after = 0;
  // Pages until the writers are done and one more pass finds nothing new.
  for (bool last_pass = false;;) {
    bool done = writing.load() == 0;
    auto page = a_->identity().list_audit(after, 7, std::nullopt);
    ASSERT_TRUE(page.ok()) << page.status().message();
    for (const AuditEvent& e : *page) seen.push_back(e);
    if (!page->empty()) after = page->back().id;
    if (page->empty() && last_pass) break;
    last_pass = page->empty() && done;
  }
  for (auto& th : writers) th.join();
  EXPECT_EQ(failures.load(), 0);
  ASSERT_EQ(seen.size(), static_cast<size_t>(kWriters * kEach));
  std::set<std::string> distinct;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (i > 0) {
      EXPECT_GT(seen[i].id, seen[i - 1].id);
    }
    distinct.insert(seen[i].actor + "/" + seen[i].action);
  }
  EXPECT_EQ(distinct.size(), seen.size());
  // Per writer, in the order it wrote.
  std::vector<int> next(kWriters, 0);
  for (const AuditEvent& e : seen) {
    int w = std::stoi(e.actor.substr(1));
    EXPECT_EQ(e.action, std::to_string(next[w]++)) << e.actor;
  }
}

TEST_F(PgFleetTest, IdentityCallsSurviveTerminatedConnections) {
  IdentityStore& ids = a_->identity();
  ASSERT_TRUE(ids.create_account(suite::new_account("alice", AccountKind::user)).ok());
  Raw admin(url_);
  EXPECT_GE(admin.scalar("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                         "WHERE application_name = 'berth' AND datname = '" + *db_ + "'"),
            1);
  // The identity side shares PgStore's pool and retries: new connections, no error for the caller.
  auto got = ids.get_account("alice");
  ASSERT_TRUE(got.ok()) << got.status().message();
  EXPECT_TRUE(got->has_value());
  Status s = ids.record_audit(audit("alice", "login"));
  EXPECT_TRUE(s.ok()) << s.message();
}

}  // namespace
}  // namespace berth::meta
