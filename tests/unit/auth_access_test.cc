// AccessControl's authorization reads: permitted() decides from one IdentityStore::access_facts read,
// with the same answers as the four separate reads it replaced (visibility, owner account, org role,
// package role), checked over a matrix of callers and packages; and decide() reports whether the package
// exists, so that a push to an existing package needs no second read.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "auth/access.h"
#include "meta/sqlite_store.h"
#include "unit/sqlite_test_db.h"

namespace berth::auth {
namespace {

using meta::AccountKind;

// Forwards to a real store and counts the calls by method name.
class CountingStore : public meta::IdentityStore {
 public:
  explicit CountingStore(meta::IdentityStore& inner) : inner_(inner) {}
  std::map<std::string, int> calls;
  int total() const {
    int n = 0;
    for (const auto& [name, count] : calls) n += count;
    return n;
  }

  Result<int64_t> create_account(const meta::Account& a) override { return ++calls["create_account"], inner_.create_account(a); }
  Result<std::optional<meta::Account>> get_account(const std::string& n) override {
    return ++calls["get_account"], inner_.get_account(n);
  }
  Result<std::vector<meta::Account>> list_accounts() override { return ++calls["list_accounts"], inner_.list_accounts(); }
  Status set_password_hash(const std::string& u, const std::string& h) override {
    return ++calls["set_password_hash"], inner_.set_password_hash(u, h);
  }
  Status set_owner_settings(const std::string& o, const std::string& v, bool c) override {
    return ++calls["set_owner_settings"], inner_.set_owner_settings(o, v, c);
  }
  Status set_membership(const std::string& o, const std::string& u, const std::string& r) override {
    return ++calls["set_membership"], inner_.set_membership(o, u, r);
  }
  Result<bool> remove_membership(const std::string& o, const std::string& u) override {
    return ++calls["remove_membership"], inner_.remove_membership(o, u);
  }
  Result<std::optional<std::string>> org_role(const std::string& o, const std::string& u) override {
    return ++calls["org_role"], inner_.org_role(o, u);
  }
  Result<std::vector<meta::Membership>> list_members(const std::string& o) override {
    return ++calls["list_members"], inner_.list_members(o);
  }
  Result<int64_t> create_team(const std::string& o, const std::string& t, int64_t now) override {
    return ++calls["create_team"], inner_.create_team(o, t, now);
  }
  Result<bool> delete_team(const std::string& o, const std::string& t) override {
    return ++calls["delete_team"], inner_.delete_team(o, t);
  }
  Result<std::vector<meta::Team>> list_teams(const std::string& o) override {
    return ++calls["list_teams"], inner_.list_teams(o);
  }
  Status add_team_member(const std::string& o, const std::string& t, const std::string& u) override {
    return ++calls["add_team_member"], inner_.add_team_member(o, t, u);
  }
  Result<bool> remove_team_member(const std::string& o, const std::string& t, const std::string& u) override {
    return ++calls["remove_team_member"], inner_.remove_team_member(o, t, u);
  }
  Result<std::vector<std::string>> list_team_members(const std::string& o, const std::string& t) override {
    return ++calls["list_team_members"], inner_.list_team_members(o, t);
  }
  Status set_team_package_role(const std::string& o, const std::string& t, const std::string& r,
                               const std::string& role) override {
    return ++calls["set_team_package_role"], inner_.set_team_package_role(o, t, r, role);
  }
  Result<bool> remove_team_package_role(const std::string& o, const std::string& t, const std::string& r) override {
    return ++calls["remove_team_package_role"], inner_.remove_team_package_role(o, t, r);
  }
  Result<std::vector<meta::TeamPackageRole>> list_team_package_roles(const std::string& r) override {
    return ++calls["list_team_package_roles"], inner_.list_team_package_roles(r);
  }
  Result<int64_t> create_token(const meta::TokenRecord& t) override { return ++calls["create_token"], inner_.create_token(t); }
  Result<std::optional<meta::TokenRecord>> find_token_by_hash(const std::string& h) override {
    return ++calls["find_token_by_hash"], inner_.find_token_by_hash(h);
  }
  Result<std::optional<meta::TokenRecord>> get_token(int64_t id) override { return ++calls["get_token"], inner_.get_token(id); }
  Result<std::vector<meta::TokenRecord>> list_tokens(const std::string& u) override {
    return ++calls["list_tokens"], inner_.list_tokens(u);
  }
  Result<bool> revoke_token(int64_t id, int64_t now) override { return ++calls["revoke_token"], inner_.revoke_token(id, now); }
  Status touch_token(int64_t id, int64_t now) override { return ++calls["touch_token"], inner_.touch_token(id, now); }
  Result<std::optional<std::string>> repository_visibility(const std::string& r) override {
    return ++calls["repository_visibility"], inner_.repository_visibility(r);
  }
  Status set_repository_visibility(const std::string& r, const std::string& v) override {
    return ++calls["set_repository_visibility"], inner_.set_repository_visibility(r, v);
  }
  Status set_package_role(const std::string& r, const std::string& u, const std::string& role) override {
    return ++calls["set_package_role"], inner_.set_package_role(r, u, role);
  }
  Result<bool> remove_package_role(const std::string& r, const std::string& u) override {
    return ++calls["remove_package_role"], inner_.remove_package_role(r, u);
  }
  Result<std::optional<std::string>> package_role(const std::string& r, const std::string& u) override {
    return ++calls["package_role"], inner_.package_role(r, u);
  }
  Result<std::vector<meta::PackageRole>> list_package_roles(const std::string& r) override {
    return ++calls["list_package_roles"], inner_.list_package_roles(r);
  }
  Result<int64_t> revocation_epoch(const std::string& u) override {
    return ++calls["revocation_epoch"], inner_.revocation_epoch(u);
  }
  Result<std::vector<meta::RepositoryFacts>> readable_candidates(const std::string& a, size_t n,
                                                                 const std::string& u) override {
    return ++calls["readable_candidates"], inner_.readable_candidates(a, n, u);
  }
  Result<meta::AccessFacts> access_facts(const std::string& r, const std::string& o, const std::string& u) override {
    return ++calls["access_facts"], inner_.access_facts(r, o, u);
  }
  Status record_audit(const meta::AuditEvent& e) override { return ++calls["record_audit"], inner_.record_audit(e); }
  Result<std::vector<meta::AuditEvent>> list_audit(int64_t after, size_t limit,
                                                   const std::optional<std::string>& actor) override {
    return ++calls["list_audit"], inner_.list_audit(after, limit, actor);
  }

 private:
  meta::IdentityStore& inner_;
};

// The facts as they were read before access_facts existed: up to four separate reads (visibility, owner
// account, org role, package role), and the best role of the user's teams pieced together from the team
// listings. permitted() must decide from its one read exactly as permitted_by() decides from these.
meta::AccessFacts facts_from_separate_reads(meta::IdentityStore& store, const Identity& identity,
                                            const std::string& repository) {
  meta::AccessFacts facts;
  if (auto visibility = store.repository_visibility(repository); visibility.ok()) facts.visibility = *visibility;
  if (identity.anonymous()) return facts;
  const std::string owner = repository.substr(0, repository.find('/'));
  if (auto account = store.get_account(owner); account.ok() && *account) {
    facts.owner_kind = (*account)->kind;
    facts.owner_create_on_push = (*account)->create_on_push;
    facts.owner_default_visibility = (*account)->default_visibility;
    if ((*account)->kind == AccountKind::org) {
      if (auto role = store.org_role(owner, identity.user); role.ok()) facts.org_role = *role;
    }
  }
  if (facts.visibility) {
    if (auto role = store.package_role(repository, identity.user); role.ok()) facts.package_role = *role;
  }
  if (facts.visibility && facts.owner_kind == AccountKind::org) {
    auto rank = [](const std::string& role) { return role == "admin" ? 3 : role == "write" ? 2 : role == "read" ? 1 : 0; };
    auto held_roles = store.list_team_package_roles(repository);  // named: the loop must not outlive it
    for (const meta::TeamPackageRole& held : *held_roles) {
      if (held.org != owner) continue;
      auto members = store.list_team_members(owner, held.team);
      if (std::find(members->begin(), members->end(), identity.user) == members->end()) continue;
      if (!facts.team_role || rank(held.role) > rank(*facts.team_role)) facts.team_role = held.role;
    }
  }
  return facts;
}

std::string describe(const std::set<Action>& actions) {
  std::string s;
  for (Action a : actions) s += std::string(action_name(a)) + " ";
  return s.empty() ? "(none)" : s;
}

class AccessReadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = meta::sqlite_test::make_temp_dir("berth-access");
    ASSERT_NE(dir_, nullptr);
    auto store = meta::SqliteStore::open(*dir_ / "meta.db");
    ASSERT_TRUE(store.ok()) << store.status().message();
    store_ = std::move(*store);
    auto signer = TokenSigner::load_or_create(*dir_ / "key.pem", "berth");
    ASSERT_TRUE(signer.ok()) << signer.status().message();
    signer_ = std::move(*signer);
    counting_ = std::make_unique<CountingStore>(store_->identity());
    access_ = std::make_unique<AccessControl>(*counting_, *signer_, AuthOptions{}, [] { return int64_t{1'000'000}; });

    meta::IdentityStore& ids = store_->identity();
    for (const char* u : {"alice", "bob", "carol", "dave", "erin", "frank", "gina"}) add(u, AccountKind::user);
    for (const char* o : {"acme", "closed"}) add(o, AccountKind::org);
    ASSERT_TRUE(ids.set_membership("acme", "alice", "admin").ok());
    ASSERT_TRUE(ids.set_membership("acme", "bob", "member").ok());
    ASSERT_TRUE(ids.set_membership("closed", "bob", "admin").ok());
    ASSERT_TRUE(ids.set_owner_settings("closed", "public", false).ok());
    ASSERT_TRUE(ids.set_owner_settings("dave", "private", false).ok());
    ASSERT_TRUE(ids.set_repository_visibility("acme/app", "private").ok());
    ASSERT_TRUE(ids.set_repository_visibility("acme/pub", "public").ok());
    ASSERT_TRUE(ids.set_repository_visibility("alice/tool", "private").ok());
    ASSERT_TRUE(ids.set_repository_visibility("alice/pubtool", "public").ok());
    ASSERT_TRUE(ids.set_repository_visibility("closed/x", "private").ok());
    ASSERT_TRUE(ids.set_repository_visibility("ghost/app", "public").ok());
    ASSERT_TRUE(ids.set_repository_visibility("dave/d", "private").ok());
    ASSERT_TRUE(ids.set_package_role("acme/app", "carol", "write").ok());
    ASSERT_TRUE(ids.set_package_role("acme/pub", "dave", "admin").ok());
    ASSERT_TRUE(ids.set_package_role("alice/tool", "bob", "read").ok());
    ASSERT_TRUE(ids.set_package_role("alice/pubtool", "carol", "admin").ok());
    ASSERT_TRUE(ids.set_package_role("ghost/app", "dave", "write").ok());
    ASSERT_TRUE(ids.set_package_role("closed/x", "carol", "bogus").ok());  // an unknown word: no role

    // Teams of acme: erin, frank and gina are plain members whose rights on acme/app come from a team
    // only (write, read, admin); alice, the org admin, is in the admin team as well.
    for (const char* u : {"erin", "frank", "gina"}) ASSERT_TRUE(ids.set_membership("acme", u, "member").ok());
    for (const char* t : {"builders", "readers", "owners"}) ASSERT_TRUE(ids.create_team("acme", t, 1).ok());
    ASSERT_TRUE(ids.set_team_package_role("acme", "builders", "acme/app", "write").ok());
    ASSERT_TRUE(ids.set_team_package_role("acme", "builders", "acme/pub", "read").ok());
    ASSERT_TRUE(ids.set_team_package_role("acme", "readers", "acme/app", "read").ok());
    ASSERT_TRUE(ids.set_team_package_role("acme", "owners", "acme/app", "admin").ok());
    ASSERT_TRUE(ids.add_team_member("acme", "builders", "erin").ok());
    ASSERT_TRUE(ids.add_team_member("acme", "readers", "frank").ok());
    ASSERT_TRUE(ids.add_team_member("acme", "readers", "erin").ok());
    ASSERT_TRUE(ids.add_team_member("acme", "owners", "gina").ok());
    ASSERT_TRUE(ids.add_team_member("acme", "owners", "alice").ok());
    // closed: bob (its admin) holds admin on closed/x through a team too.
    ASSERT_TRUE(ids.create_team("closed", "core", 1).ok());
    ASSERT_TRUE(ids.set_team_package_role("closed", "core", "closed/x", "admin").ok());
    ASSERT_TRUE(ids.add_team_member("closed", "core", "bob").ok());
  }

  static Identity as_user(const std::string& name, std::set<std::string> scopes = {"read:packages", "write:packages",
                                                                                 "delete:packages"}) {
    Identity id;
    id.kind = Identity::Kind::user;
    id.user = name;
    id.scopes = std::move(scopes);
    return id;
  }

  void add(const std::string& name, AccountKind kind) {
    meta::Account a;
    a.name = name;
    a.kind = kind;
    a.created_at = 1;
    ASSERT_TRUE(store_->identity().create_account(a).ok());
  }

  static std::vector<Identity> identities() {
    std::vector<Identity> out;
    out.push_back(Identity{});  // anonymous
    const std::vector<std::set<std::string>> scope_sets = {
        {"read:packages"}, {"write:packages"}, {"read:packages", "write:packages", "delete:packages"}, {}};
    for (const char* user : {"alice", "bob", "carol", "dave", "erin", "frank", "gina", "nobody"}) {
      for (const auto& scopes : scope_sets) {
        Identity id;
        id.kind = Identity::Kind::user;
        id.user = user;
        id.scopes = scopes;
        out.push_back(id);
        Identity ci = id;
        ci.kind = Identity::Kind::ci;
        ci.packages = {"acme/app", "alice/tool", "alice/new", "acme/new", "ghost/app"};
        out.push_back(ci);
      }
    }
    return out;
  }

  static std::vector<std::string> repositories() {
    return {"acme/app",  "acme/pub", "acme/new",  "alice/tool", "alice/pubtool", "alice/new", "closed/x",
            "closed/new", "ghost/app", "ghost/new", "dave/d",    "dave/new",      "acme/app/sub"};
  }

  std::shared_ptr<std::filesystem::path> dir_;
  std::unique_ptr<meta::SqliteStore> store_;
  std::unique_ptr<TokenSigner> signer_;
  std::unique_ptr<CountingStore> counting_;
  std::unique_ptr<AccessControl> access_;
};

TEST_F(AccessReadsTest, PermittedDecidesFromOneReadAsFromTheFourSeparateReads) {
  int cells = 0, old_reads = 0, new_reads = 0;
  for (const Identity& id : identities()) {
    for (const std::string& repo : repositories()) {
      SCOPED_TRACE(id.actor() + " on " + repo);
      CountingStore reference_counter(store_->identity());
      auto expected = permitted_by(id, repo, facts_from_separate_reads(reference_counter, id, repo));
      counting_->calls.clear();
      auto got = access_->permitted(id, repo);
      EXPECT_EQ(describe(got), describe(expected)) << id.actor() << " scopes " << id.scopes.size() << " on " << repo;
      const bool outside_ci = id.kind == Identity::Kind::ci &&
                              std::find(id.packages.begin(), id.packages.end(), repo) == id.packages.end();
      EXPECT_EQ(counting_->total(), outside_ci ? 0 : 1);
      EXPECT_EQ(counting_->calls["access_facts"], outside_ci ? 0 : 1);
      ++cells;
      old_reads += reference_counter.total();
      new_reads += counting_->total();
    }
  }
  // For the record: store calls over the whole matrix.
  std::printf("permitted(): %d cells, %d store reads before, %d after\n", cells, old_reads, new_reads);
  EXPECT_GT(old_reads, 2 * new_reads);
}

TEST_F(AccessReadsTest, ATeamRoleCountsAsThePackageRoleOfItsMembers) {
  const std::string pull_push = "pull push ";
  // erin: write through a team (and read through another: the best counts); frank: read; gina: admin,
  // but deleting and restoring an org package take an org admin, as with a role of her own.
  EXPECT_EQ(describe(access_->permitted(as_user("erin"), "acme/app")), pull_push);
  EXPECT_EQ(describe(access_->permitted(as_user("frank"), "acme/app")), "pull ");
  EXPECT_EQ(describe(access_->permitted(as_user("gina"), "acme/app")), pull_push);
  EXPECT_EQ(describe(access_->permitted(as_user("alice"), "acme/app")), "pull push delete restore ");
  EXPECT_EQ(describe(access_->permitted(as_user("bob"), "closed/x")), "pull push delete restore ");
  // Only on the team's packages, and capped by the token's scopes as any role is.
  EXPECT_EQ(describe(access_->permitted(as_user("erin"), "acme/pub")), "pull ");
  EXPECT_EQ(describe(access_->permitted(as_user("erin", {"read:packages"}), "acme/app")), "pull ");
  EXPECT_EQ(describe(access_->permitted(as_user("gina", {"read:packages", "delete:packages"}), "acme/app")), "pull ");
  // A CI token acts with its user's team roles on its packages; deleting org packages stays out of reach.
  Identity ci = as_user("erin");
  ci.kind = Identity::Kind::ci;
  ci.packages = {"acme/app"};
  EXPECT_EQ(describe(access_->permitted(ci, "acme/app")), pull_push);
  ci.user = "alice";
  EXPECT_EQ(describe(access_->permitted(ci, "acme/app")), pull_push);
  // Decisions: the team member may push; the read team member is refused a push it can see.
  EXPECT_EQ(access_->decide(as_user("erin"), Action::push, "acme/app"), Decision::allow);
  EXPECT_EQ(access_->decide(as_user("frank"), Action::push, "acme/app"), Decision::deny);
  EXPECT_EQ(access_->decide(as_user("gina"), Action::del, "acme/app"), Decision::deny);
}

TEST_F(AccessReadsTest, LeavingATeamOrTheOrgTakesTheTeamsRightAway) {
  meta::IdentityStore& ids = store_->identity();
  ASSERT_EQ(access_->decide(as_user("erin"), Action::push, "acme/app"), Decision::allow);
  ASSERT_TRUE(*ids.remove_team_member("acme", "builders", "erin"));
  EXPECT_EQ(describe(access_->permitted(as_user("erin"), "acme/app")), "pull ");  // still in readers, and a member
  EXPECT_EQ(access_->decide(as_user("erin"), Action::push, "acme/app"), Decision::deny);

  ASSERT_EQ(describe(access_->permitted(as_user("gina"), "acme/app")), "pull push ");
  ASSERT_TRUE(*ids.remove_membership("acme", "gina"));
  EXPECT_EQ(describe(access_->permitted(as_user("gina"), "acme/app")), "(none)");
  EXPECT_EQ(access_->decide(as_user("gina"), Action::pull, "acme/app"), Decision::hide);

  // A revoked team role and a deleted team count no more.
  ASSERT_TRUE(*ids.remove_team_package_role("acme", "owners", "acme/app"));
  EXPECT_EQ(describe(access_->permitted(as_user("alice"), "acme/app")), "pull push delete restore ");  // org admin
  ASSERT_TRUE(*ids.delete_team("acme", "readers"));
  EXPECT_EQ(describe(access_->permitted(as_user("frank"), "acme/app")), "pull ");  // a member still reads
  EXPECT_EQ(describe(access_->permitted(as_user("frank", {"write:packages"}), "acme/app")), "pull ");
}

TEST(PermittedBy, TeamRolesCountOnlyForMembersOfTheOrgThatOwnsThePackage) {
  Identity erin;
  erin.kind = Identity::Kind::user;
  erin.user = "erin";
  erin.scopes = {"read:packages", "write:packages", "delete:packages"};
  meta::AccessFacts facts;
  facts.visibility = "private";
  facts.owner_kind = AccountKind::org;
  facts.team_role = "admin";
  // Whatever the team tables say, someone outside the org gets nothing from them.
  EXPECT_EQ(describe(permitted_by(erin, "acme/app", facts)), "(none)");
  facts.org_role = "member";
  EXPECT_EQ(describe(permitted_by(erin, "acme/app", facts)), "pull push ");
  facts.org_role = "admin";
  EXPECT_EQ(describe(permitted_by(erin, "acme/app", facts)), "pull push delete restore ");
  // A user's own packages have no teams.
  facts.owner_kind = AccountKind::user;
  facts.org_role.reset();
  EXPECT_EQ(describe(permitted_by(erin, "dave/app", facts)), "(none)");
  // A word that is no role gives nothing; a package that does not exist yet takes the right to create.
  facts.owner_kind = AccountKind::org;
  facts.org_role = "member";
  facts.team_role = "bogus";
  EXPECT_EQ(describe(permitted_by(erin, "acme/app", facts)), "pull ");
  facts.team_role = "admin";
  facts.visibility.reset();
  facts.owner_create_on_push = false;
  EXPECT_EQ(describe(permitted_by(erin, "acme/app", facts)), "pull ");
}

TEST_F(AccessReadsTest, DecideSaysWhetherThePackageExistsAndPrepareCreateMakesIt) {
  Identity alice;
  alice.kind = Identity::Kind::user;
  alice.user = "alice";
  alice.scopes = {"read:packages", "write:packages"};

  // An existing package (a PATCH to an upload in it): one read to decide, which says it exists, so the
  // router calls no prepare_create().
  counting_->calls.clear();
  bool exists = false;
  ASSERT_EQ(access_->decide(alice, Action::push, "acme/app", &exists), Decision::allow);
  EXPECT_TRUE(exists);
  EXPECT_EQ(counting_->total(), 1);

  // A new org package: one read to decide; prepare_create reads once, then creates it with the owner's
  // default visibility and makes the creating member its admin.
  Identity fresh = alice;
  counting_->calls.clear();
  ASSERT_EQ(access_->decide(fresh, Action::push, "acme/new", &exists), Decision::allow);
  EXPECT_FALSE(exists);
  ASSERT_TRUE(access_->prepare_create(fresh, "acme/new").ok());
  EXPECT_EQ(counting_->calls["access_facts"], 2);
  EXPECT_EQ(counting_->calls["set_repository_visibility"], 1);
  EXPECT_EQ(counting_->calls["set_package_role"], 1);
  EXPECT_EQ(counting_->total(), 4);
  EXPECT_EQ(*store_->identity().repository_visibility("acme/new"), std::optional<std::string>("private"));
  EXPECT_EQ(*store_->identity().package_role("acme/new", "alice"), std::optional<std::string>("admin"));

  // prepare_create on its own (a bearer grant needed no decide() read): one read, then nothing to create.
  counting_->calls.clear();
  ASSERT_TRUE(access_->prepare_create(alice, "alice/tool").ok());
  EXPECT_EQ(counting_->total(), 1);

  // A user's new package: default visibility applied, no package role (the owner is admin anyway).
  ASSERT_TRUE(store_->identity().set_owner_settings("alice", "public", true).ok());
  Identity again = alice;
  ASSERT_EQ(access_->decide(again, Action::push, "alice/new"), Decision::allow);
  ASSERT_TRUE(access_->prepare_create(again, "alice/new").ok());
  EXPECT_EQ(*store_->identity().repository_visibility("alice/new"), std::optional<std::string>("public"));
  EXPECT_EQ(*store_->identity().package_role("alice/new", "alice"), std::nullopt);

  // No owner account: created private.
  ASSERT_TRUE(access_->prepare_create(alice, "ghost/new").ok());
  EXPECT_EQ(*store_->identity().repository_visibility("ghost/new"), std::optional<std::string>("private"));
}

}  // namespace
}  // namespace berth::auth
