// The IdentityStore contract as tests, written once and run against every driver (as meta_store_suite.h
// is for MetadataStore). A driver's test file includes this header once and instantiates it:
//
//   using berth::meta::suite::MetaIdentitySuite;  // the macro pastes the name: it must be unqualified
//   INSTANTIATE_TEST_SUITE_P(Sqlite, MetaIdentitySuite,
//                            ::testing::Values(berth::meta::suite::IdentityDriver{"sqlite", make}),
//                            berth::meta::suite::IdentityDriverName());
//
// Every test gets a fresh, empty database from the driver's factory. Both interfaces of that database are
// needed: repositories are shared between them (visibility, package roles). Nothing here may depend on
// one driver. Can be included next to meta_store_suite.h: no name here clashes with one there.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "meta/identity_store.h"
#include "meta/metadata_store.h"

namespace berth::meta::suite {

struct IdentityUnderTest {
  IdentityStore* identity = nullptr;
  MetadataStore* metadata = nullptr;  // the same database seen as registry content
  // Owns both stores and whatever they need (a temporary directory, a scratch database); released
  // after each test.
  std::shared_ptr<void> resources;
};

struct IdentityDriver {
  std::string name;
  std::function<IdentityUnderTest()> make;
};

inline void PrintTo(const IdentityDriver& d, std::ostream* os) { *os << d.name; }

struct IdentityDriverName {
  std::string operator()(const ::testing::TestParamInfo<IdentityDriver>& info) const { return info.param.name; }
};

// An account with the defaults filled in (spelled out: designated initializers that skip members warn).
inline Account new_account(const std::string& name, AccountKind kind, int64_t at = 1000) {
  Account a;
  a.name = name;
  a.kind = kind;
  a.created_at = at;
  return a;
}

class MetaIdentitySuite : public ::testing::TestWithParam<IdentityDriver> {
 protected:
  void SetUp() override {
    under_test_ = GetParam().make();
    ASSERT_NE(under_test_.identity, nullptr);
    ASSERT_NE(under_test_.metadata, nullptr);
    ids = under_test_.identity;
    meta = under_test_.metadata;
  }
  void TearDown() override { under_test_ = {}; }

  int64_t add_account(const std::string& name, AccountKind kind, int64_t at = 1000) {
    auto id = ids->create_account(new_account(name, kind, at));
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : 0;
  }
  int64_t add_user(const std::string& name) { return add_account(name, AccountKind::user); }
  int64_t add_org(const std::string& name) { return add_account(name, AccountKind::org); }

  static TokenRecord token(const std::string& user, const std::string& hash) {
    return TokenRecord{.user = user,
                       .hash = hash,
                       .hint = "bth_" + hash.substr(0, 4),
                       .name = "laptop",
                       .kind = "pat",
                       .scopes = {"read:packages", "write:packages"},
                       .packages = {},
                       .expires_at = std::nullopt,
                       .revoked_at = std::nullopt,
                       .created_at = 500,
                       .last_used_at = std::nullopt};
  }
  int64_t add_token(const TokenRecord& t) {
    auto id = ids->create_token(t);
    EXPECT_TRUE(id.ok()) << id.status().message();
    return id.ok() ? *id : 0;
  }

  static AuditEvent event(const std::string& actor, const std::string& action, int64_t at) {
    return AuditEvent{.at = at,
                      .actor = actor,
                      .action = action,
                      .target = "acme/app:v1",
                      .outcome = "allowed",
                      .remote = "192.0.2.7",
                      .detail = "d"};
  }
  static std::vector<std::string> actions(const std::vector<AuditEvent>& events) {
    std::vector<std::string> out;
    for (const auto& e : events) out.push_back(e.action);
    return out;
  }

  IdentityStore* ids = nullptr;
  MetadataStore* meta = nullptr;

 private:
  IdentityUnderTest under_test_;
};

// ---- Accounts ----

TEST_P(MetaIdentitySuite, CreatedAccountRoundTripsEveryField) {
  Account a{.name = "alice",
            .kind = AccountKind::user,
            .password_hash = "$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA",
            .default_visibility = "public",
            .create_on_push = false,
            .created_at = 1234};
  auto id = ids->create_account(a);
  ASSERT_TRUE(id.ok()) << id.status().message();
  EXPECT_GT(*id, 0);
  auto got = ids->get_account("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  const Account& g = **got;
  EXPECT_EQ(g.id, *id);
  EXPECT_EQ(g.name, "alice");
  EXPECT_EQ(g.kind, AccountKind::user);
  EXPECT_EQ(g.password_hash, a.password_hash);
  EXPECT_EQ(g.default_visibility, "public");
  EXPECT_FALSE(g.create_on_push);
  EXPECT_EQ(g.created_at, 1234);
}

TEST_P(MetaIdentitySuite, AccountDefaultsRoundTrip) {
  int64_t id = add_org("acme");
  auto got = ids->get_account("acme");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((**got).id, id);
  EXPECT_EQ((**got).kind, AccountKind::org);
  EXPECT_EQ((**got).password_hash, "");
  EXPECT_EQ((**got).default_visibility, "private");
  EXPECT_TRUE((**got).create_on_push);
}

TEST_P(MetaIdentitySuite, MissingAccountIsNullopt) {
  auto got = ids->get_account("nobody");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->has_value());
}

TEST_P(MetaIdentitySuite, DuplicateNameIsAlreadyExistsAcrossKinds) {
  int64_t alice = add_user("alice");
  add_org("acme");
  // Users and orgs share one namespace: each owns the first component of repository names.
  EXPECT_EQ(ids->create_account(new_account("alice", AccountKind::user)).status().code(),
            Errc::already_exists);
  EXPECT_EQ(ids->create_account(new_account("alice", AccountKind::org)).status().code(),
            Errc::already_exists);
  EXPECT_EQ(ids->create_account(new_account("acme", AccountKind::user)).status().code(),
            Errc::already_exists);
  auto got = ids->get_account("alice");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((**got).id, alice);  // the first one stands
  EXPECT_EQ((**got).kind, AccountKind::user);
  EXPECT_EQ(ids->list_accounts()->size(), 2u);
}

TEST_P(MetaIdentitySuite, ListAccountsIsSortedByNameInByteOrder) {
  EXPECT_TRUE(ids->list_accounts()->empty());
  std::vector<std::string> names = {"zed", "a_b", "a-b", "acme", "a0", "b"};
  for (size_t i = 0; i < names.size(); ++i) add_account(names[i], i % 2 ? AccountKind::org : AccountKind::user);
  auto all = ids->list_accounts();
  ASSERT_TRUE(all.ok());
  std::vector<std::string> got;
  for (const auto& a : *all) got.push_back(a.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(got, names);
  auto acme = std::find_if(all->begin(), all->end(), [](const Account& a) { return a.name == "acme"; });
  ASSERT_NE(acme, all->end());
  EXPECT_EQ(acme->kind, AccountKind::org);
}

TEST_P(MetaIdentitySuite, SetPasswordHashOnlyForExistingUsers) {
  add_user("alice");
  add_org("acme");
  ASSERT_TRUE(ids->set_password_hash("alice", "h1").ok());
  ASSERT_TRUE(ids->set_password_hash("alice", "h2").ok());
  EXPECT_EQ((**ids->get_account("alice")).password_hash, "h2");
  EXPECT_EQ(ids->set_password_hash("nobody", "h").code(), Errc::not_found);
  EXPECT_EQ(ids->set_password_hash("acme", "h").code(), Errc::not_found);  // orgs do not log in
  EXPECT_EQ((**ids->get_account("acme")).password_hash, "");
}

TEST_P(MetaIdentitySuite, SetOwnerSettingsForUsersAndOrgs) {
  add_user("alice");
  add_org("acme");
  ASSERT_TRUE(ids->set_owner_settings("acme", "public", false).ok());
  ASSERT_TRUE(ids->set_owner_settings("alice", "private", true).ok());
  auto acme = **ids->get_account("acme");
  EXPECT_EQ(acme.default_visibility, "public");
  EXPECT_FALSE(acme.create_on_push);
  ASSERT_TRUE(ids->set_owner_settings("acme", "private", true).ok());
  acme = **ids->get_account("acme");
  EXPECT_EQ(acme.default_visibility, "private");
  EXPECT_TRUE(acme.create_on_push);
  EXPECT_EQ(ids->set_owner_settings("nobody", "public", true).code(), Errc::not_found);
}

TEST_P(MetaIdentitySuite, ConcurrentAccountCreationLosesNothing) {
  constexpr int kThreads = 8, kEach = 10;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) {
        std::string name = "u" + std::to_string(t) + "-" + std::to_string(i);
        if (!ids->create_account(new_account(name, AccountKind::user)).ok()) ++failures[t];
        if (!ids->record_audit(event(name, "login", i)).ok()) ++failures[t];
      }
    });
  }
  for (auto& th : threads) th.join();
  for (int f : failures) EXPECT_EQ(f, 0);
  EXPECT_EQ(ids->list_accounts()->size(), static_cast<size_t>(kThreads * kEach));
  EXPECT_EQ(ids->list_audit(0, 1000, std::nullopt)->size(), static_cast<size_t>(kThreads * kEach));
}

// ---- Org memberships ----

TEST_P(MetaIdentitySuite, SetMembershipInsertsThenChangesRole) {
  add_org("acme");
  add_user("alice");
  EXPECT_EQ(*ids->org_role("acme", "alice"), std::nullopt);
  ASSERT_TRUE(ids->set_membership("acme", "alice", "member").ok());
  EXPECT_EQ(*ids->org_role("acme", "alice"), std::optional<std::string>("member"));
  ASSERT_TRUE(ids->set_membership("acme", "alice", "admin").ok());
  EXPECT_EQ(*ids->org_role("acme", "alice"), std::optional<std::string>("admin"));
  EXPECT_EQ(ids->list_members("acme")->size(), 1u);
}

TEST_P(MetaIdentitySuite, ListMembersIsSortedByUserAndPerOrg) {
  add_org("acme");
  add_org("other");
  for (const char* u : {"carol", "alice", "bob"}) add_user(u);
  ASSERT_TRUE(ids->set_membership("acme", "carol", "member").ok());
  ASSERT_TRUE(ids->set_membership("acme", "alice", "admin").ok());
  ASSERT_TRUE(ids->set_membership("acme", "bob", "member").ok());
  ASSERT_TRUE(ids->set_membership("other", "bob", "admin").ok());
  auto members = ids->list_members("acme");
  ASSERT_TRUE(members.ok());
  ASSERT_EQ(members->size(), 3u);
  EXPECT_EQ((*members)[0].user, "alice");
  EXPECT_EQ((*members)[0].role, "admin");
  EXPECT_EQ((*members)[1].user, "bob");
  EXPECT_EQ((*members)[1].role, "member");
  EXPECT_EQ((*members)[2].user, "carol");
  for (const auto& m : *members) EXPECT_EQ(m.org, "acme");
  EXPECT_EQ(*ids->org_role("other", "bob"), std::optional<std::string>("admin"));
  EXPECT_EQ(*ids->org_role("other", "alice"), std::nullopt);
  EXPECT_TRUE(ids->list_members("nobody")->empty());
}

TEST_P(MetaIdentitySuite, RemoveMembership) {
  add_org("acme");
  add_user("alice");
  add_user("bob");
  ASSERT_TRUE(ids->set_membership("acme", "alice", "member").ok());
  ASSERT_TRUE(ids->set_membership("acme", "bob", "member").ok());
  EXPECT_TRUE(*ids->remove_membership("acme", "alice"));
  EXPECT_FALSE(*ids->remove_membership("acme", "alice"));
  EXPECT_FALSE(*ids->remove_membership("nobody", "bob"));
  EXPECT_EQ(*ids->org_role("acme", "alice"), std::nullopt);
  EXPECT_EQ(*ids->org_role("acme", "bob"), std::optional<std::string>("member"));
}

TEST_P(MetaIdentitySuite, MembershipNeedsAnExistingOrgAndUser) {
  add_org("acme");
  add_org("other");
  add_user("alice");
  add_user("bob");
  EXPECT_EQ(ids->set_membership("nobody", "alice", "member").code(), Errc::not_found);
  EXPECT_EQ(ids->set_membership("acme", "nobody", "member").code(), Errc::not_found);
  // The wrong kind of account counts as absent: a user has no members, an org is no member.
  EXPECT_EQ(ids->set_membership("alice", "bob", "member").code(), Errc::not_found);
  EXPECT_EQ(ids->set_membership("acme", "other", "member").code(), Errc::not_found);
  EXPECT_TRUE(ids->list_members("acme")->empty());
  EXPECT_TRUE(ids->list_members("alice")->empty());
}

// ---- Tokens ----

TEST_P(MetaIdentitySuite, CreatedTokenRoundTripsEveryField) {
  add_user("alice");
  TokenRecord t = token("alice", "aa11");
  t.kind = "ci";
  t.scopes = {"read:packages"};
  t.packages = {"acme/app", "acme/platform/api"};
  t.expires_at = 9000;
  t.created_at = 800;
  int64_t id = add_token(t);
  EXPECT_GT(id, 0);
  for (auto got : {ids->find_token_by_hash("aa11"), ids->get_token(id)}) {
    ASSERT_TRUE(got.ok() && got->has_value());
    const TokenRecord& g = **got;
    EXPECT_EQ(g.id, id);
    EXPECT_EQ(g.user, "alice");
    EXPECT_EQ(g.hash, "aa11");
    EXPECT_EQ(g.hint, t.hint);
    EXPECT_EQ(g.name, "laptop");
    EXPECT_EQ(g.kind, "ci");
    EXPECT_EQ(g.scopes, t.scopes);
    EXPECT_EQ(g.packages, t.packages);
    EXPECT_EQ(g.expires_at, std::optional<int64_t>(9000));
    EXPECT_EQ(g.revoked_at, std::nullopt);
    EXPECT_EQ(g.created_at, 800);
    EXPECT_EQ(g.last_used_at, std::nullopt);
  }
}

TEST_P(MetaIdentitySuite, EmptyListsAndAbsentTimesRoundTrip) {
  add_user("alice");
  TokenRecord t = token("alice", "bb22");
  t.scopes = {};
  t.packages = {};
  int64_t id = add_token(t);
  auto got = ids->get_token(id);
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_TRUE((**got).scopes.empty());
  EXPECT_TRUE((**got).packages.empty());
  EXPECT_EQ((**got).expires_at, std::nullopt);
  EXPECT_EQ((**got).revoked_at, std::nullopt);
  EXPECT_EQ((**got).last_used_at, std::nullopt);
  // Zero is a time, not absence.
  t = token("alice", "bb23");
  t.expires_at = 0;
  id = add_token(t);
  EXPECT_EQ((**ids->get_token(id)).expires_at, std::optional<int64_t>(0));
}

TEST_P(MetaIdentitySuite, ListEntriesThatCannotRoundTripAreInvalid) {
  add_user("alice");
  TokenRecord t = token("alice", "cc33");
  t.packages = {"a,b"};
  EXPECT_EQ(ids->create_token(t).status().code(), Errc::invalid_argument);
  t.packages = {};
  t.scopes = {""};
  EXPECT_EQ(ids->create_token(t).status().code(), Errc::invalid_argument);
  EXPECT_EQ(*ids->find_token_by_hash("cc33"), std::nullopt);
}

TEST_P(MetaIdentitySuite, CreateTokenNeedsAUserAndAFreshHash) {
  add_user("alice");
  add_user("bob");
  add_org("acme");
  EXPECT_EQ(ids->create_token(token("nobody", "h1")).status().code(), Errc::not_found);
  EXPECT_EQ(ids->create_token(token("acme", "h1")).status().code(), Errc::not_found);
  int64_t id = add_token(token("alice", "h1"));
  EXPECT_EQ(ids->create_token(token("bob", "h1")).status().code(), Errc::already_exists);
  EXPECT_EQ((**ids->find_token_by_hash("h1")).id, id);
  EXPECT_TRUE(ids->list_tokens("bob")->empty());
}

TEST_P(MetaIdentitySuite, MissingTokenIsNullopt) {
  EXPECT_EQ(*ids->find_token_by_hash("nope"), std::nullopt);
  EXPECT_EQ(*ids->get_token(42), std::nullopt);
  EXPECT_TRUE(ids->list_tokens("nobody")->empty());
}

TEST_P(MetaIdentitySuite, ListTokensIsPerUserById) {
  add_user("alice");
  add_user("bob");
  int64_t a1 = add_token(token("alice", "h1"));
  int64_t b1 = add_token(token("bob", "h2"));
  int64_t a2 = add_token(token("alice", "h3"));
  auto list = ids->list_tokens("alice");
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].id, a1);
  EXPECT_EQ((*list)[1].id, a2);
  EXPECT_LT(a1, a2);
  EXPECT_EQ((*list)[1].hash, "h3");
  ASSERT_EQ(ids->list_tokens("bob")->size(), 1u);
  EXPECT_EQ((*ids->list_tokens("bob"))[0].id, b1);
}

TEST_P(MetaIdentitySuite, RevokeIsIdempotentAndKeepsTheFirstTime) {
  add_user("alice");
  int64_t id = add_token(token("alice", "h1"));
  int64_t other = add_token(token("alice", "h2"));
  EXPECT_TRUE(*ids->revoke_token(id, 100));
  EXPECT_EQ((**ids->get_token(id)).revoked_at, std::optional<int64_t>(100));
  EXPECT_TRUE(*ids->revoke_token(id, 200));
  EXPECT_EQ((**ids->get_token(id)).revoked_at, std::optional<int64_t>(100));
  EXPECT_EQ((**ids->find_token_by_hash("h1")).revoked_at, std::optional<int64_t>(100));  // still found
  EXPECT_EQ((**ids->get_token(other)).revoked_at, std::nullopt);
  EXPECT_FALSE(*ids->revoke_token(other + 100, 100));
}

TEST_P(MetaIdentitySuite, TouchSetsLastUsed) {
  add_user("alice");
  int64_t id = add_token(token("alice", "h1"));
  ASSERT_TRUE(ids->touch_token(id, 700).ok());
  EXPECT_EQ((**ids->get_token(id)).last_used_at, std::optional<int64_t>(700));
  ASSERT_TRUE(ids->touch_token(id, 750).ok());
  EXPECT_EQ((**ids->get_token(id)).last_used_at, std::optional<int64_t>(750));
  EXPECT_EQ(ids->touch_token(id + 100, 700).code(), Errc::not_found);
}

// ---- Repository visibility ----

TEST_P(MetaIdentitySuite, VisibilityOfMissingRepositoryIsNullopt) {
  auto v = ids->repository_visibility("acme/app");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, std::nullopt);
}

TEST_P(MetaIdentitySuite, SetVisibilityCreatesTheRepositoryThenChangesIt) {
  ASSERT_TRUE(ids->set_repository_visibility("acme/app", "public").ok());
  EXPECT_EQ(*ids->repository_visibility("acme/app"), std::optional<std::string>("public"));
  EXPECT_TRUE(*meta->repository_exists("acme/app"));  // one repository, seen from both sides
  ASSERT_TRUE(ids->set_repository_visibility("acme/app", "private").ok());
  EXPECT_EQ(*ids->repository_visibility("acme/app"), std::optional<std::string>("private"));
  EXPECT_EQ(*meta->list_repositories("", 10), std::vector<std::string>{"acme/app"});
}

TEST_P(MetaIdentitySuite, RepositoriesCreatedByTheRegistryArePrivate) {
  ASSERT_TRUE(meta->ensure_repository("acme/app").ok());
  EXPECT_EQ(*ids->repository_visibility("acme/app"), std::optional<std::string>("private"));
  ASSERT_TRUE(ids->set_repository_visibility("acme/app", "public").ok());
  ASSERT_TRUE(meta->ensure_repository("acme/app").ok());  // does not reset it
  EXPECT_EQ(*ids->repository_visibility("acme/app"), std::optional<std::string>("public"));
  EXPECT_EQ(*ids->repository_visibility("acme"), std::nullopt);  // no prefix matching
}

// ---- Package roles ----

TEST_P(MetaIdentitySuite, PackageRolesSetChangeListRemove) {
  ASSERT_TRUE(meta->ensure_repository("acme/app").ok());
  ASSERT_TRUE(meta->ensure_repository("acme/other").ok());
  for (const char* u : {"carol", "alice", "bob"}) add_user(u);
  EXPECT_EQ(*ids->package_role("acme/app", "alice"), std::nullopt);
  ASSERT_TRUE(ids->set_package_role("acme/app", "carol", "read").ok());
  ASSERT_TRUE(ids->set_package_role("acme/app", "alice", "write").ok());
  ASSERT_TRUE(ids->set_package_role("acme/app", "alice", "admin").ok());
  ASSERT_TRUE(ids->set_package_role("acme/other", "bob", "write").ok());
  EXPECT_EQ(*ids->package_role("acme/app", "alice"), std::optional<std::string>("admin"));
  EXPECT_EQ(*ids->package_role("acme/app", "bob"), std::nullopt);
  auto roles = ids->list_package_roles("acme/app");
  ASSERT_TRUE(roles.ok());
  ASSERT_EQ(roles->size(), 2u);
  EXPECT_EQ((*roles)[0].repository, "acme/app");
  EXPECT_EQ((*roles)[0].user, "alice");
  EXPECT_EQ((*roles)[0].role, "admin");
  EXPECT_EQ((*roles)[1].user, "carol");
  EXPECT_EQ((*roles)[1].role, "read");
  EXPECT_TRUE(*ids->remove_package_role("acme/app", "alice"));
  EXPECT_FALSE(*ids->remove_package_role("acme/app", "alice"));
  EXPECT_FALSE(*ids->remove_package_role("nowhere", "carol"));
  EXPECT_EQ(*ids->package_role("acme/app", "alice"), std::nullopt);
  EXPECT_EQ(ids->list_package_roles("acme/app")->size(), 1u);
  EXPECT_EQ(*ids->package_role("acme/other", "bob"), std::optional<std::string>("write"));
  EXPECT_TRUE(ids->list_package_roles("nowhere")->empty());
}

TEST_P(MetaIdentitySuite, PackageRoleNeedsAnExistingRepositoryAndUser) {
  add_user("alice");
  add_org("acme");
  ASSERT_TRUE(meta->ensure_repository("acme/app").ok());
  EXPECT_EQ(ids->set_package_role("acme/missing", "alice", "read").code(), Errc::not_found);
  EXPECT_FALSE(*meta->repository_exists("acme/missing"));  // not created as a side effect
  EXPECT_EQ(ids->set_package_role("acme/app", "nobody", "read").code(), Errc::not_found);
  EXPECT_EQ(ids->set_package_role("acme/app", "acme", "read").code(), Errc::not_found);
  EXPECT_TRUE(ids->list_package_roles("acme/app")->empty());
}

// ---- Teams ----

TEST_P(MetaIdentitySuite, TeamsAreCreatedListedAndDeletedPerOrg) {
  add_org("acme");
  add_org("other");
  add_user("alice");
  EXPECT_TRUE(ids->list_teams("acme")->empty());
  auto ops = ids->create_team("acme", "ops", 700);
  ASSERT_TRUE(ops.ok()) << ops.status().message();
  EXPECT_GT(*ops, 0);
  ASSERT_TRUE(ids->create_team("acme", "devs", 701).ok());
  ASSERT_TRUE(ids->create_team("other", "devs", 702).ok());  // names are unique per org only
  EXPECT_EQ(ids->create_team("acme", "ops", 703).status().code(), Errc::already_exists);
  EXPECT_EQ(ids->create_team("nobody", "ops", 703).status().code(), Errc::not_found);
  EXPECT_EQ(ids->create_team("alice", "ops", 703).status().code(), Errc::not_found);  // users have no teams

  auto teams = ids->list_teams("acme");
  ASSERT_TRUE(teams.ok());
  ASSERT_EQ(teams->size(), 2u);
  EXPECT_EQ((*teams)[0].name, "devs");
  EXPECT_EQ((*teams)[0].org, "acme");
  EXPECT_EQ((*teams)[0].created_at, 701);
  EXPECT_EQ((*teams)[1].name, "ops");
  EXPECT_EQ((*teams)[1].id, *ops);
  EXPECT_EQ((*teams)[1].created_at, 700);
  EXPECT_TRUE(ids->list_teams("nobody")->empty());
  EXPECT_TRUE(ids->list_teams("alice")->empty());

  EXPECT_TRUE(*ids->delete_team("acme", "devs"));
  EXPECT_FALSE(*ids->delete_team("acme", "devs"));
  EXPECT_FALSE(*ids->delete_team("nobody", "devs"));
  ASSERT_EQ(ids->list_teams("acme")->size(), 1u);
  ASSERT_EQ(ids->list_teams("other")->size(), 1u);  // the other org's team of that name stays
  EXPECT_EQ((*ids->list_teams("other"))[0].name, "devs");
}

TEST_P(MetaIdentitySuite, TeamMembersMustBeMembersOfTheOrg) {
  add_org("acme");
  add_org("other");
  for (const char* u : {"carol", "alice", "bob", "dave"}) add_user(u);
  for (const char* u : {"carol", "alice", "bob"}) ASSERT_TRUE(ids->set_membership("acme", u, "member").ok());
  ASSERT_TRUE(ids->create_team("acme", "devs", 1).ok());
  ASSERT_TRUE(ids->add_team_member("acme", "devs", "carol").ok());
  ASSERT_TRUE(ids->add_team_member("acme", "devs", "alice").ok());
  ASSERT_TRUE(ids->add_team_member("acme", "devs", "alice").ok());  // twice: no error, one membership
  EXPECT_EQ(*ids->list_team_members("acme", "devs"), (std::vector<std::string>{"alice", "carol"}));

  EXPECT_EQ(ids->add_team_member("acme", "devs", "dave").code(), Errc::not_found);  // not in the org
  EXPECT_EQ(ids->add_team_member("acme", "devs", "nobody").code(), Errc::not_found);
  EXPECT_EQ(ids->add_team_member("acme", "devs", "other").code(), Errc::not_found);  // an org is no member
  EXPECT_EQ(ids->add_team_member("acme", "missing", "bob").code(), Errc::not_found);
  EXPECT_EQ(ids->add_team_member("nobody", "devs", "bob").code(), Errc::not_found);
  EXPECT_EQ(ids->add_team_member("other", "devs", "bob").code(), Errc::not_found);  // another org's team

  EXPECT_TRUE(*ids->remove_team_member("acme", "devs", "alice"));
  EXPECT_FALSE(*ids->remove_team_member("acme", "devs", "alice"));
  EXPECT_FALSE(*ids->remove_team_member("acme", "missing", "carol"));
  EXPECT_FALSE(*ids->remove_team_member("nobody", "devs", "carol"));
  EXPECT_EQ(*ids->list_team_members("acme", "devs"), std::vector<std::string>{"carol"});
  EXPECT_TRUE(ids->list_team_members("acme", "missing")->empty());
  EXPECT_TRUE(ids->list_team_members("nobody", "devs")->empty());
}

TEST_P(MetaIdentitySuite, LeavingTheOrgLeavesItsTeamsForGood) {
  add_org("acme");
  add_org("other");
  add_user("alice");
  add_user("bob");
  for (const char* org : {"acme", "other"}) {
    ASSERT_TRUE(ids->set_membership(org, "alice", "member").ok());
    ASSERT_TRUE(ids->create_team(org, "devs", 1).ok());
    ASSERT_TRUE(ids->add_team_member(org, "devs", "alice").ok());
  }
  ASSERT_TRUE(ids->set_membership("acme", "bob", "member").ok());
  ASSERT_TRUE(ids->create_team("acme", "ops", 1).ok());
  ASSERT_TRUE(ids->add_team_member("acme", "ops", "alice").ok());
  ASSERT_TRUE(ids->add_team_member("acme", "ops", "bob").ok());

  EXPECT_TRUE(*ids->remove_membership("acme", "alice"));
  EXPECT_TRUE(ids->list_team_members("acme", "devs")->empty());
  EXPECT_EQ(*ids->list_team_members("acme", "ops"), std::vector<std::string>{"bob"});
  EXPECT_EQ(*ids->list_team_members("other", "devs"), std::vector<std::string>{"alice"});  // other orgs keep her
  // Joining again gives no team back.
  ASSERT_TRUE(ids->set_membership("acme", "alice", "member").ok());
  EXPECT_TRUE(ids->list_team_members("acme", "devs")->empty());
}

TEST_P(MetaIdentitySuite, TeamPackageRolesSetChangeListRemove) {
  add_org("acme");
  add_org("acmeco");
  for (const char* r : {"acme/app", "acme/other", "acmeco/app", "other/app"}) {
    ASSERT_TRUE(meta->ensure_repository(r).ok());
  }
  for (const char* t : {"ops", "devs"}) ASSERT_TRUE(ids->create_team("acme", t, 1).ok());
  ASSERT_TRUE(ids->create_team("acmeco", "devs", 1).ok());
  EXPECT_TRUE(ids->list_team_package_roles("acme/app")->empty());
  ASSERT_TRUE(ids->set_team_package_role("acme", "ops", "acme/app", "read").ok());
  ASSERT_TRUE(ids->set_team_package_role("acme", "ops", "acme/app", "admin").ok());  // changed, not added
  ASSERT_TRUE(ids->set_team_package_role("acme", "devs", "acme/app", "write").ok());
  ASSERT_TRUE(ids->set_team_package_role("acme", "devs", "acme/other", "read").ok());
  ASSERT_TRUE(ids->set_team_package_role("acmeco", "devs", "acmeco/app", "read").ok());

  auto roles = ids->list_team_package_roles("acme/app");
  ASSERT_TRUE(roles.ok());
  ASSERT_EQ(roles->size(), 2u);
  EXPECT_EQ((*roles)[0].repository, "acme/app");
  EXPECT_EQ((*roles)[0].org, "acme");
  EXPECT_EQ((*roles)[0].team, "devs");
  EXPECT_EQ((*roles)[0].role, "write");
  EXPECT_EQ((*roles)[1].team, "ops");
  EXPECT_EQ((*roles)[1].role, "admin");
  EXPECT_EQ(ids->list_team_package_roles("acme/other")->size(), 1u);

  // Only packages of the team's own org, and only existing ones (nothing is created).
  EXPECT_EQ(ids->set_team_package_role("acme", "ops", "acmeco/app", "read").code(), Errc::invalid_argument);
  EXPECT_EQ(ids->set_team_package_role("acme", "ops", "other/app", "read").code(), Errc::invalid_argument);
  EXPECT_EQ(ids->set_team_package_role("acme", "ops", "acme", "read").code(), Errc::invalid_argument);
  EXPECT_EQ(ids->set_team_package_role("acme", "ops", "acme/missing", "read").code(), Errc::not_found);
  EXPECT_FALSE(*meta->repository_exists("acme/missing"));
  EXPECT_EQ(ids->set_team_package_role("acme", "missing", "acme/app", "read").code(), Errc::not_found);
  EXPECT_EQ(ids->set_team_package_role("nobody", "ops", "nobody/app", "read").code(), Errc::not_found);
  EXPECT_EQ(ids->list_team_package_roles("acmeco/app")->size(), 1u);

  EXPECT_TRUE(*ids->remove_team_package_role("acme", "ops", "acme/app"));
  EXPECT_FALSE(*ids->remove_team_package_role("acme", "ops", "acme/app"));
  EXPECT_FALSE(*ids->remove_team_package_role("acme", "ops", "acme/nowhere"));
  EXPECT_FALSE(*ids->remove_team_package_role("acme", "missing", "acme/app"));
  ASSERT_EQ(ids->list_team_package_roles("acme/app")->size(), 1u);
  EXPECT_EQ((*ids->list_team_package_roles("acme/app"))[0].team, "devs");
  EXPECT_TRUE(ids->list_team_package_roles("nowhere")->empty());
}

TEST_P(MetaIdentitySuite, DeletingATeamTakesItsMembersAndRolesWithIt) {
  add_org("acme");
  add_user("alice");
  ASSERT_TRUE(ids->set_membership("acme", "alice", "member").ok());
  ASSERT_TRUE(meta->ensure_repository("acme/app").ok());
  ASSERT_TRUE(ids->create_team("acme", "devs", 1).ok());
  ASSERT_TRUE(ids->add_team_member("acme", "devs", "alice").ok());
  ASSERT_TRUE(ids->set_team_package_role("acme", "devs", "acme/app", "write").ok());
  EXPECT_EQ(ids->access_facts("acme/app", "acme", "alice")->team_role, std::optional<std::string>("write"));

  ASSERT_TRUE(*ids->delete_team("acme", "devs"));
  EXPECT_TRUE(ids->list_team_package_roles("acme/app")->empty());
  EXPECT_EQ(ids->access_facts("acme/app", "acme", "alice")->team_role, std::nullopt);
  // A new team of the same name starts empty.
  ASSERT_TRUE(ids->create_team("acme", "devs", 2).ok());
  EXPECT_TRUE(ids->list_team_members("acme", "devs")->empty());
  EXPECT_EQ(ids->access_facts("acme/app", "acme", "alice")->team_role, std::nullopt);
}

TEST_P(MetaIdentitySuite, AccessFactsTeamRoleIsTheBestOfTheUsersTeamsInTheOwnerOrg) {
  add_org("acme");
  add_org("other");
  for (const char* u : {"alice", "bob", "carol"}) add_user(u);
  for (const char* u : {"alice", "bob"}) ASSERT_TRUE(ids->set_membership("acme", u, "member").ok());
  ASSERT_TRUE(ids->set_membership("other", "carol", "member").ok());
  for (const char* r : {"acme/app", "acme/lib", "other/app"}) ASSERT_TRUE(meta->ensure_repository(r).ok());
  for (const char* t : {"readers", "writers", "admins", "odd"}) ASSERT_TRUE(ids->create_team("acme", t, 1).ok());
  ASSERT_TRUE(ids->create_team("other", "admins", 1).ok());
  ASSERT_TRUE(ids->set_team_package_role("acme", "readers", "acme/app", "read").ok());
  ASSERT_TRUE(ids->set_team_package_role("acme", "writers", "acme/app", "write").ok());
  ASSERT_TRUE(ids->set_team_package_role("acme", "admins", "acme/app", "admin").ok());
  ASSERT_TRUE(ids->set_team_package_role("acme", "odd", "acme/app", "bogus").ok());  // stored as given
  ASSERT_TRUE(ids->set_team_package_role("acme", "admins", "acme/lib", "admin").ok());
  ASSERT_TRUE(ids->set_team_package_role("other", "admins", "other/app", "admin").ok());
  ASSERT_TRUE(ids->add_team_member("acme", "readers", "alice").ok());
  ASSERT_TRUE(ids->add_team_member("acme", "writers", "alice").ok());
  ASSERT_TRUE(ids->add_team_member("acme", "odd", "alice").ok());
  ASSERT_TRUE(ids->add_team_member("acme", "odd", "bob").ok());
  ASSERT_TRUE(ids->add_team_member("other", "admins", "carol").ok());

  auto alice = ids->access_facts("acme/app", "acme", "alice");
  ASSERT_TRUE(alice.ok()) << alice.status().message();
  EXPECT_EQ(alice->team_role, std::optional<std::string>("write"));  // the best of read, write and an odd word
  EXPECT_EQ(alice->org_role, std::optional<std::string>("member"));
  EXPECT_EQ(alice->package_role, std::nullopt);  // a team role is not a role of her own
  // The admins team holds acme/lib, not acme/app; alice is not in it anyway.
  EXPECT_EQ(ids->access_facts("acme/lib", "acme", "alice")->team_role, std::nullopt);
  // A word that is no role is returned when it is all there is: the caller ranks it as none.
  EXPECT_EQ(ids->access_facts("acme/app", "acme", "bob")->team_role, std::optional<std::string>("bogus"));
  // Another org's team, anonymous callers, unknown users and missing packages: nothing.
  EXPECT_EQ(ids->access_facts("acme/app", "acme", "carol")->team_role, std::nullopt);
  EXPECT_EQ(ids->access_facts("other/app", "other", "carol")->team_role, std::optional<std::string>("admin"));
  EXPECT_EQ(ids->access_facts("acme/app", "acme", "")->team_role, std::nullopt);
  EXPECT_EQ(ids->access_facts("acme/app", "acme", "nobody")->team_role, std::nullopt);
  EXPECT_EQ(ids->access_facts("acme/new", "acme", "alice")->team_role, std::nullopt);
  EXPECT_EQ(ids->access_facts("acme/app/sub", "acme", "alice")->team_role, std::nullopt);
  // The owner named by the caller is what counts: the same package asked about under another owner.
  EXPECT_EQ(ids->access_facts("acme/app", "other", "alice")->team_role, std::nullopt);

  // Leaving a team or the org ends what the team gave.
  ASSERT_TRUE(*ids->remove_team_member("acme", "writers", "alice"));
  EXPECT_EQ(ids->access_facts("acme/app", "acme", "alice")->team_role, std::optional<std::string>("read"));
  ASSERT_TRUE(*ids->remove_membership("acme", "alice"));
  EXPECT_EQ(ids->access_facts("acme/app", "acme", "alice")->team_role, std::nullopt);
}

// ---- Authorization facts ----

TEST_P(MetaIdentitySuite, AccessFactsOfNothingAreAllAbsent) {
  auto f = ids->access_facts("acme/app", "acme", "alice");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->visibility, std::nullopt);
  EXPECT_EQ(f->owner_kind, std::nullopt);
  EXPECT_TRUE(f->owner_create_on_push);
  EXPECT_EQ(f->owner_default_visibility, "private");
  EXPECT_EQ(f->org_role, std::nullopt);
  EXPECT_EQ(f->package_role, std::nullopt);
  EXPECT_EQ(f->team_role, std::nullopt);
}

TEST_P(MetaIdentitySuite, AccessFactsOfAnOrgPackageMatchTheSeparateReads) {
  add_org("acme");
  for (const char* u : {"alice", "bob", "carol"}) add_user(u);
  ASSERT_TRUE(ids->set_owner_settings("acme", "public", false).ok());
  ASSERT_TRUE(ids->set_membership("acme", "alice", "admin").ok());
  ASSERT_TRUE(ids->set_membership("acme", "bob", "member").ok());
  ASSERT_TRUE(ids->set_repository_visibility("acme/app", "internal").ok());  // stored as given
  ASSERT_TRUE(ids->set_package_role("acme/app", "bob", "write").ok());
  ASSERT_TRUE(ids->set_package_role("acme/app", "carol", "read").ok());

  auto alice = ids->access_facts("acme/app", "acme", "alice");
  ASSERT_TRUE(alice.ok()) << alice.status().message();
  EXPECT_EQ(alice->visibility, std::optional<std::string>("internal"));
  EXPECT_EQ(alice->owner_kind, std::optional<AccountKind>(AccountKind::org));
  EXPECT_FALSE(alice->owner_create_on_push);
  EXPECT_EQ(alice->owner_default_visibility, "public");
  EXPECT_EQ(alice->org_role, std::optional<std::string>("admin"));
  EXPECT_EQ(alice->package_role, std::nullopt);  // member of the org, no role on the package

  auto bob = ids->access_facts("acme/app", "acme", "bob");
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(bob->org_role, std::optional<std::string>("member"));
  EXPECT_EQ(bob->package_role, std::optional<std::string>("write"));

  auto carol = ids->access_facts("acme/app", "acme", "carol");  // an outside collaborator
  ASSERT_TRUE(carol.ok());
  EXPECT_EQ(carol->org_role, std::nullopt);
  EXPECT_EQ(carol->package_role, std::optional<std::string>("read"));

  // Every field equals what the separate reads say, for members, outsiders, unknown and anonymous.
  for (const char* user : {"alice", "bob", "carol", "nobody", ""}) {
    SCOPED_TRACE(user);
    auto f = ids->access_facts("acme/app", "acme", user);
    ASSERT_TRUE(f.ok());
    EXPECT_EQ(f->visibility, *ids->repository_visibility("acme/app"));
    EXPECT_EQ(f->org_role, *ids->org_role("acme", user));
    EXPECT_EQ(f->package_role, *ids->package_role("acme/app", user));
  }
}

TEST_P(MetaIdentitySuite, AccessFactsOfAMissingPackageKeepTheOwnerAndMembership) {
  add_org("acme");
  add_user("alice");
  ASSERT_TRUE(ids->set_membership("acme", "alice", "member").ok());
  auto f = ids->access_facts("acme/new", "acme", "alice");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->visibility, std::nullopt);
  EXPECT_EQ(f->owner_kind, std::optional<AccountKind>(AccountKind::org));
  EXPECT_TRUE(f->owner_create_on_push);
  EXPECT_EQ(f->org_role, std::optional<std::string>("member"));
  EXPECT_EQ(f->package_role, std::nullopt);
}

TEST_P(MetaIdentitySuite, AccessFactsOfAUserOwnedPackage) {
  add_user("alice");
  add_user("bob");
  add_org("acme");
  ASSERT_TRUE(ids->set_membership("acme", "bob", "admin").ok());  // unrelated to alice's packages
  ASSERT_TRUE(meta->ensure_repository("alice/tool").ok());
  ASSERT_TRUE(ids->set_package_role("alice/tool", "bob", "admin").ok());
  auto f = ids->access_facts("alice/tool", "alice", "bob");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->visibility, std::optional<std::string>("private"));  // as the registry created it
  EXPECT_EQ(f->owner_kind, std::optional<AccountKind>(AccountKind::user));
  EXPECT_EQ(f->org_role, std::nullopt);  // a user has no members
  EXPECT_EQ(f->package_role, std::optional<std::string>("admin"));
  auto own = ids->access_facts("alice/tool", "alice", "alice");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(own->owner_kind, std::optional<AccountKind>(AccountKind::user));
  EXPECT_EQ(own->package_role, std::nullopt);
}

TEST_P(MetaIdentitySuite, AccessFactsWithoutAnOwnerAccountOrMembership) {
  add_user("alice");
  add_org("acme");
  ASSERT_TRUE(ids->set_repository_visibility("ghost/app", "public").ok());  // no account "ghost"
  ASSERT_TRUE(ids->set_package_role("ghost/app", "alice", "write").ok());
  auto f = ids->access_facts("ghost/app", "ghost", "alice");
  ASSERT_TRUE(f.ok()) << f.status().message();
  EXPECT_EQ(f->visibility, std::optional<std::string>("public"));
  EXPECT_EQ(f->owner_kind, std::nullopt);
  EXPECT_TRUE(f->owner_create_on_push);
  EXPECT_EQ(f->owner_default_visibility, "private");
  EXPECT_EQ(f->package_role, std::optional<std::string>("write"));
  // An org package of an org alice does not belong to: no membership, no role.
  ASSERT_TRUE(ids->set_repository_visibility("acme/app", "private").ok());
  auto g = ids->access_facts("acme/app", "acme", "alice");
  ASSERT_TRUE(g.ok());
  EXPECT_EQ(g->owner_kind, std::optional<AccountKind>(AccountKind::org));
  EXPECT_EQ(g->org_role, std::nullopt);
  EXPECT_EQ(g->package_role, std::nullopt);
  // Roles are per repository and per owner: no prefix matching, no leaking across packages.
  EXPECT_EQ(ids->access_facts("ghost/app/sub", "ghost", "alice")->package_role, std::nullopt);
  EXPECT_EQ(ids->access_facts("ghost/app/sub", "ghost", "alice")->visibility, std::nullopt);
}

TEST_P(MetaIdentitySuite, ReadableCandidatesAreTheRowsAUserMightReadWithTheSameFactsAsAccessFacts) {
  add_org("acme");
  add_org("other");
  for (const char* u : {"alice", "bob"}) add_user(u);
  ASSERT_TRUE(ids->set_membership("acme", "alice", "member").ok());
  for (const char* r : {"acme/app", "acme/lib/deep", "alice/tool", "bob/secret", "bob/shared", "other/app",
                        "other/pub", "zzz/none"}) {
    ASSERT_TRUE(meta->ensure_repository(r).ok()) << r;
  }
  ASSERT_TRUE(ids->set_repository_visibility("other/pub", "public").ok());
  ASSERT_TRUE(ids->set_package_role("bob/shared", "alice", "read").ok());
  auto names = [](const std::vector<RepositoryFacts>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.repository);
    return out;
  };
  auto alice = ids->readable_candidates("", 100, "alice");
  ASSERT_TRUE(alice.ok()) << alice.status().message();
  EXPECT_EQ(names(*alice), (std::vector<std::string>{"acme/app", "acme/lib/deep", "alice/tool", "bob/shared",
                                                     "other/pub"}));
  for (const auto& row : *alice) {  // one statement for the page, the same facts as one read per name
    SCOPED_TRACE(row.repository);
    auto single = ids->access_facts(row.repository, row.repository.substr(0, row.repository.find('/')), "alice");
    ASSERT_TRUE(single.ok());
    EXPECT_EQ(row.facts.visibility, single->visibility);
    EXPECT_EQ(row.facts.owner_kind, single->owner_kind);
    EXPECT_EQ(row.facts.org_role, single->org_role);
    EXPECT_EQ(row.facts.package_role, single->package_role);
    EXPECT_EQ(row.facts.team_role, single->team_role);
  }
  EXPECT_EQ(names(*ids->readable_candidates("", 100, "")), (std::vector<std::string>{"other/pub"}));
  EXPECT_EQ(names(*ids->readable_candidates("alice/tool", 2, "alice")),
            (std::vector<std::string>{"bob/shared", "other/pub"}));
  EXPECT_EQ(names(*ids->readable_candidates("", 100, "bob")),
            (std::vector<std::string>{"bob/secret", "bob/shared", "other/pub"}));
}

TEST_P(MetaIdentitySuite, RevocationEpochsGrowWhenRightsAreTakenAwayOnly) {
  add_org("acme");
  for (const char* u : {"alice", "bob"}) add_user(u);
  ASSERT_TRUE(meta->ensure_repository("acme/app").ok());
  auto epoch = [&](const std::string& user) {
    auto e = ids->revocation_epoch(user);
    EXPECT_TRUE(e.ok()) << e.status().message();
    return e.ok() ? *e : -1;
  };
  const int64_t start = epoch("alice");
  ASSERT_TRUE(ids->set_membership("acme", "alice", "admin").ok());  // joining takes nothing away
  ASSERT_TRUE(ids->set_package_role("acme/app", "alice", "write").ok());
  EXPECT_EQ(epoch("alice"), start);
  ASSERT_TRUE(ids->set_package_role("acme/app", "alice", "read").ok());  // lowered
  const int64_t lowered = epoch("alice");
  EXPECT_GT(lowered, start);
  ASSERT_TRUE(*ids->remove_package_role("acme/app", "alice"));
  EXPECT_GT(epoch("alice"), lowered);
  const int64_t before_org = epoch("alice");
  ASSERT_TRUE(ids->set_membership("acme", "alice", "member").ok());
  EXPECT_GT(epoch("alice"), before_org);
  EXPECT_EQ(epoch("bob"), 0) << "nothing happened to bob";
  // A revoked token bumps its owner's epoch.
  const int64_t before_revoke = epoch("bob");
  TokenRecord t{.user = "bob", .hash = "h-bob", .hint = "x", .name = "n", .kind = "pat", .created_at = 1};
  auto id = ids->create_token(t);
  ASSERT_TRUE(id.ok()) << id.status().message();
  ASSERT_TRUE(*ids->revoke_token(*id, 2));
  EXPECT_GT(epoch("bob"), before_revoke);
  // A package that stops being public moves everyone's epoch (anonymous JWTs name no user).
  ASSERT_TRUE(ids->set_repository_visibility("acme/app", "public").ok());
  const int64_t anon = epoch(""), bob = epoch("bob");
  ASSERT_TRUE(ids->set_repository_visibility("acme/app", "private").ok());
  EXPECT_GT(epoch(""), anon);
  EXPECT_GT(epoch("bob"), bob);
}

// ---- Audit log ----

TEST_P(MetaIdentitySuite, AuditEventsRoundTripOldestFirst) {
  EXPECT_TRUE(ids->list_audit(0, 10, std::nullopt)->empty());
  AuditEvent e{.at = 77,
               .actor = "ci:alice",
               .action = "push",
               .target = "acme/app:v1",
               .outcome = "denied",
               .remote = "2001:db8::1",
               .detail = "scope lacks write:packages"};
  ASSERT_TRUE(ids->record_audit(e).ok());
  ASSERT_TRUE(ids->record_audit(event("alice", "delete", 78)).ok());
  auto all = ids->list_audit(0, 10, std::nullopt);
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  const AuditEvent& g = (*all)[0];
  EXPECT_GT(g.id, 0);
  EXPECT_EQ(g.at, 77);
  EXPECT_EQ(g.actor, "ci:alice");
  EXPECT_EQ(g.action, "push");
  EXPECT_EQ(g.target, "acme/app:v1");
  EXPECT_EQ(g.outcome, "denied");
  EXPECT_EQ(g.remote, "2001:db8::1");
  EXPECT_EQ(g.detail, "scope lacks write:packages");
  EXPECT_GT((*all)[1].id, g.id);
  EXPECT_EQ((*all)[1].action, "delete");
}

TEST_P(MetaIdentitySuite, AuditPaginatesStrictlyAfterId) {
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(ids->record_audit(event("alice", "a" + std::to_string(i), i)).ok());
  auto page1 = ids->list_audit(0, 2, std::nullopt);
  ASSERT_TRUE(page1.ok());
  EXPECT_EQ(actions(*page1), (std::vector<std::string>{"a0", "a1"}));
  auto page2 = ids->list_audit(page1->back().id, 2, std::nullopt);
  EXPECT_EQ(actions(*page2), (std::vector<std::string>{"a2", "a3"}));
  auto page3 = ids->list_audit(page2->back().id, 2, std::nullopt);
  EXPECT_EQ(actions(*page3), (std::vector<std::string>{"a4"}));
  EXPECT_TRUE(ids->list_audit(page3->back().id, 2, std::nullopt)->empty());
  EXPECT_TRUE(ids->list_audit(0, 0, std::nullopt)->empty());
}

TEST_P(MetaIdentitySuite, AuditFiltersByActor) {
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(ids->record_audit(event(i % 2 ? "bob" : "alice", "a" + std::to_string(i), i)).ok());
  }
  auto bob = ids->list_audit(0, 10, std::string("bob"));
  ASSERT_TRUE(bob.ok());
  EXPECT_EQ(actions(*bob), (std::vector<std::string>{"a1", "a3", "a5"}));
  for (const auto& e : *bob) EXPECT_EQ(e.actor, "bob");
  auto page = ids->list_audit(0, 2, std::string("alice"));
  EXPECT_EQ(actions(*page), (std::vector<std::string>{"a0", "a2"}));
  page = ids->list_audit(page->back().id, 2, std::string("alice"));
  EXPECT_EQ(actions(*page), (std::vector<std::string>{"a4"}));
  EXPECT_TRUE(ids->list_audit(0, 10, std::string("carol"))->empty());
  EXPECT_TRUE(ids->list_audit(0, 10, std::string("ali"))->empty());  // exact match, not prefix
}

}  // namespace berth::meta::suite
