// `berth admin` as operators type it: --data/--config before or after the subcommand, and every change
// it makes written to the audit log under the operator's name, so `audit --actor USER` tells what a user
// did and what was done to their account and tokens.
#include <pwd.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "support/admin_cli.h"
#include "support/api_helpers.h"
#include "support/auth_helpers.h"

namespace berth::test {
namespace {

// One line of `berth admin audit`: id, time, actor, action, target, outcome, remote, detail.
struct AuditLine {
  std::string actor, action, target, outcome, detail;
};

std::vector<AuditLine> parse_audit(const std::string& out) {
  std::vector<AuditLine> lines;
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> fields;
    std::istringstream cells(line);
    std::string cell;
    while (std::getline(cells, cell, '\t')) fields.push_back(cell);
    fields.resize(8);
    lines.push_back({fields[2], fields[3], fields[4], fields[5], fields[7]});
  }
  return lines;
}

// What the CLI must record as the actor: the Unix account running it (this test's).
std::string expected_actor() {
  const passwd* pw = ::getpwuid(::geteuid());
  return pw && pw->pw_name && *pw->pw_name ? std::string("admin:") + pw->pw_name : "admin";
}

class AdminCli : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<RegistryProcess>(RegistryProcess::Options{.env = {{"BERTH_AUTH_ENABLED", "true"}}});
    if (server_->external()) GTEST_SKIP() << "needs a server started by the test";
    dir_ = server_->data_dir();
  }

  // `berth admin ARGS…` with the arguments exactly in this order.
  CliResult admin(std::vector<std::string> args, std::string stdin_text = "") {
    args.insert(args.begin(), "admin");
    return run_berth(BerthCall{.args = std::move(args), .stdin_text = std::move(stdin_text), .data_dir = dir_});
  }

  // The id of the user's newest token (from `token list`).
  std::string newest_token_id(const std::string& user) {
    std::istringstream rows(admin_or_throw(dir_, {"token", "list", "--user", user}));
    std::string row, id;
    std::getline(rows, row);  // header
    while (std::getline(rows, row)) id = row.substr(0, row.find('\t'));
    return id;
  }

  std::vector<AuditLine> audit(std::vector<std::string> filter = {}) {
    filter.insert(filter.begin(), "audit");
    return parse_audit(admin_or_throw(dir_, filter));
  }

  std::unique_ptr<RegistryProcess> server_;
  std::filesystem::path dir_;
};

TEST_F(AdminCli, DataMayFollowTheSubcommand) {
  const std::string data = dir_.string();
  CliResult user = admin({"user", "create", "alice", "--data", data});
  ASSERT_EQ(user.exit_code, 0) << user.describe();
  CliResult token = admin({"token", "create", "--user", "alice", "--data", data, "--scopes", "read:packages"});
  ASSERT_EQ(token.exit_code, 0) << token.describe();
  std::string secret = token.out.substr(0, token.out.find('\n'));
  EXPECT_EQ(secret.rfind("berth_pat_", 0), 0u) << "only the secret is printed: " << token.out;
  // It landed in the server's data directory: the server accepts the token.
  Response base = server_->client().get("/v2/", basic_auth("alice", secret));
  EXPECT_EQ(base.status, 200) << base.describe();

  // Nested commands, with --data anywhere after `admin`.
  ASSERT_EQ(admin({"user", "create", "bob", "--data", data}).exit_code, 0);
  CliResult org = admin({"org", "create", "acme", "--data", data, "--admin", "alice"});
  ASSERT_EQ(org.exit_code, 0) << org.describe();
  CliResult add = admin({"org", "add-member", "acme", "bob", "--role", "member", "--data", data});
  ASSERT_EQ(add.exit_code, 0) << add.describe();
  CliResult grant = admin({"package", "visibility", "acme/app", "public", "--data", data});
  ASSERT_EQ(grant.exit_code, 0) << grant.describe();

  // Before the subcommand, as always.
  CliResult members = admin({"--data", data, "org", "members", "acme"});
  ASSERT_EQ(members.exit_code, 0) << members.describe();
  EXPECT_EQ(members.out, "alice\tadmin\nbob\tmember\n");
}

TEST_F(AdminCli, ConfigMayFollowTheSubcommand) {
  const auto config = dir_.parent_path() / "admin-cli.yaml";
  std::ofstream(config) << "data: " << dir_.string() << "\n";
  CliResult user = admin({"user", "create", "carol", "--config", config.string()});
  ASSERT_EQ(user.exit_code, 0) << user.describe();
  CliResult list = admin({"user", "list", "-c", config.string()});
  ASSERT_EQ(list.exit_code, 0) << list.describe();
  EXPECT_NE(list.out.find("carol\tuser"), std::string::npos) << list.out;
  // An option nobody knows is still refused, wherever it is.
  EXPECT_NE(admin({"user", "list", "--data", dir_.string(), "--no-such-option"}).exit_code, 0);
}

TEST_F(AdminCli, EveryChangeIsAuditedUnderTheOperatorsName) {
  const auto d = dir_;
  admin_or_throw(d, {"user", "create", "alice"});
  admin_or_throw(d, {"user", "create", "bob"});
  CliResult passwd = admin({"--data", d.string(), "user", "passwd", "alice"}, "correct horse battery\n");
  ASSERT_EQ(passwd.exit_code, 0) << passwd.describe();
  admin_or_throw(d, {"org", "create", "acme", "--admin", "alice"});
  admin_or_throw(d, {"org", "add-member", "acme", "bob", "--role", "member"});
  admin_or_throw(d, {"org", "remove-member", "acme", "bob"});
  admin_or_throw(d, {"owner", "acme", "--default-visibility", "public"});
  const std::string secret = admin_or_throw(d, {"token", "create", "--user", "alice"});
  const std::string token_id = newest_token_id("alice");
  admin_or_throw(d, {"token", "revoke", token_id});
  admin_or_throw(d, {"package", "visibility", "acme/app", "private"});
  admin_or_throw(d, {"package", "grant", "acme/app", "bob", "write"});
  admin_or_throw(d, {"package", "revoke", "acme/app", "bob"});
  admin_or_throw(d, {"pull-secret", "--user", "alice", "--name", "regcred"});
  const std::string pull_token_id = newest_token_id("alice");

  const std::string alice_token = "alice/token:" + token_id;
  const std::set<std::pair<std::string, std::string>> expected = {
      {"user.create", "alice"},          {"user.create", "bob"},
      {"user.passwd", "alice"},          {"org.create", "acme"},
      {"org.member.add", "acme"},        {"org.member.remove", "acme"},
      {"owner.settings", "acme"},        {"token.create", alice_token},
      {"token.revoke", alice_token},     {"package.visibility", "acme/app"},
      {"package.grant", "acme/app"},     {"package.revoke", "acme/app"},
      {"token.create", "alice/token:" + pull_token_id},
      {"pull-secret.create", "alice/token:" + pull_token_id}};
  std::set<std::pair<std::string, std::string>> recorded;
  const std::string raw = admin_or_throw(d, {"audit"});
  for (const auto& e : parse_audit(raw)) {
    EXPECT_EQ(e.actor, expected_actor()) << e.action << " " << e.target;
    EXPECT_EQ(e.outcome, "allowed") << e.action << " " << e.target;
    recorded.emplace(e.action, e.target);
  }
  EXPECT_EQ(recorded, expected) << raw;

  // What changed is in the detail; no secret, nor any part of one, is.
  for (const auto& e : parse_audit(raw)) {
    if (e.action == "package.grant") EXPECT_EQ(e.detail, "user=bob role=write");
    if (e.action == "org.member.add") EXPECT_EQ(e.detail, "user=bob role=member");
  }
  EXPECT_EQ(raw.find(secret.substr(10, 12)), std::string::npos) << "a token's secret is in the audit log";
  EXPECT_EQ(raw.find("berth_pat_"), std::string::npos) << "a token's prefix or hint is in the audit log";
  EXPECT_EQ(raw.find("correct horse"), std::string::npos);
}

TEST_F(AdminCli, AuditForAUserListsWhatTheyDidAndWhatWasDoneToTheirAccountAndTokens) {
  const auto d = dir_;
  admin_or_throw(d, {"user", "create", "alice"});
  admin_or_throw(d, {"user", "create", "alicia"});  // a longer name with alice's as a prefix
  const std::string pat = admin_or_throw(d, {"token", "create", "--user", "alice", "--scopes",
                                             "read:packages,write:packages"});
  const std::string alice_token = "alice/token:" + newest_token_id("alice");
  admin_or_throw(d, {"token", "create", "--user", "alicia"});
  push_image_as(server_->client(), basic_auth("alice", pat), "alice/app", "v1");

  std::set<std::tuple<std::string, std::string, std::string>> seen;
  // A push is recorded once its answer is sent: the entry may land just after the client has its 201.
  EXPECT_TRUE(eventually([&] {
    seen.clear();
    for (const auto& e : audit({"--actor", "alice"})) seen.emplace(e.actor, e.action, e.target);
    return seen.count({"alice", "push", "alice/app:v1"}) > 0;
  }, std::chrono::seconds(5)));
  EXPECT_TRUE(seen.count({expected_actor(), "user.create", "alice"}));
  EXPECT_TRUE(seen.count({expected_actor(), "token.create", alice_token})) << "done to alice by the admin";
  EXPECT_TRUE(seen.count({"alice", "push", "alice/app:v1"})) << "done by alice";
  for (const auto& [actor, action, target] : seen) {
    EXPECT_TRUE(actor == "alice" || target == "alice" || target.rfind("alice/token:", 0) == 0)
        << actor << " " << action << " " << target << " is not about alice";
  }
  EXPECT_FALSE(seen.count({expected_actor(), "user.create", "alicia"}));

  // --limit counts the matching events.
  EXPECT_EQ(audit({"--actor", "alice", "--limit", "1"}).size(), 1u);
}

}  // namespace
}  // namespace berth::test
