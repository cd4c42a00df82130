#include "cli/admin_teams.h"

#include <algorithm>
#include <ctime>
#include <iostream>
#include <memory>
#include <string>

#include "cli/admin_support.h"
#include "cli/backends.h"
#include "cli/config.h"
#include "oci/name.h"

namespace berth::cli {

namespace {

int fail(const std::string& message) { return admin_fail(message); }

int with_identity(const CLI::App* cmd, const std::function<int(meta::IdentityStore&)>& body) {
  return with_admin_metadata(cmd, [&](Backends& b) { return body(*b.identity); });
}

void record(meta::IdentityStore& ids, std::string action, std::string target, std::string detail) {
  record_admin_change(ids, std::move(action), std::move(target), std::move(detail));
}

// Checked when the command line is parsed, before any store is opened. Team names follow the grammar of
// user and org names (one path component of a repository name).
const CLI::Validator kTeamName(
    [](const std::string& name) {
      return oci::is_valid_repository_name(name) && name.find('/') == std::string::npos
                 ? std::string()
                 : "team names are lowercase letters, digits and separators . _ -";
    },
    "");
const CLI::Validator kPackageName(
    [](const std::string& name) {
      return oci::is_valid_repository_name(name) ? std::string() : "invalid package name: " + name;
    },
    "");

// not_found unless the org has this team (list_team_members says nothing about a missing team).
Status team_exists(meta::IdentityStore& ids, const std::string& org, const std::string& team) {
  auto teams = ids.list_teams(org);
  if (!teams.ok()) return teams.status();
  bool found = std::any_of(teams->begin(), teams->end(), [&](const meta::Team& t) { return t.name == team; });
  return found ? Status::Ok() : Status(Errc::not_found, "no such team: " + org + "/" + team);
}

}  // namespace

void add_team_commands(CLI::App& admin, std::function<int()>& run) {
  auto* team = admin.add_subcommand("team", "Teams of an org: their members and roles on the org's packages");
  team->require_subcommand(1);
  struct Args {
    std::string org, team, user, package, role;
    std::string team_path() const { return org + "/" + team; }
  };
  auto args = std::make_shared<Args>();
  // What `cmd` does when it is the subcommand chosen (run after parsing), on the opened store.
  auto on_run = [&run](CLI::App* cmd, std::function<int(meta::IdentityStore&)> action) {
    cmd->callback([&run, cmd, action = std::move(action)] { run = [cmd, action] { return with_identity(cmd, action); }; });
  };
  auto org_and_team = [&args](CLI::App* cmd) {
    cmd->add_option("ORG", args->org)->required();
    cmd->add_option("TEAM", args->team)->required();
  };

  auto* create = team->add_subcommand("create", "Create a team in an org");
  create->add_option("ORG", args->org)->required();
  create->add_option("TEAM", args->team)->required()->check(kTeamName);
  on_run(create, [args](meta::IdentityStore& ids) {
    auto id = ids.create_team(args->org, args->team, admin_now());
    if (!id.ok()) return fail(id.status().message());
    record(ids, "team.create", args->team_path(), "");
    std::cerr << "created team " << args->team_path() << "\n";
    return 0;
  });

  auto* remove = team->add_subcommand("delete", "Delete a team, its memberships and its package roles");
  org_and_team(remove);
  on_run(remove, [args](meta::IdentityStore& ids) {
    auto deleted = ids.delete_team(args->org, args->team);
    if (!deleted.ok()) return fail(deleted.status().message());
    if (!*deleted) return fail("no such team: " + args->team_path());
    record(ids, "team.delete", args->team_path(), "");
    return 0;
  });

  auto* list = team->add_subcommand("list", "List an org's teams");
  list->add_option("ORG", args->org)->required();
  on_run(list, [args](meta::IdentityStore& ids) {
    auto account = ids.get_account(args->org);
    if (!account.ok()) return fail(account.status().message());
    if (!*account || (*account)->kind != meta::AccountKind::org) return fail("no such org: " + args->org);
    auto teams = ids.list_teams(args->org);
    if (!teams.ok()) return fail(teams.status().message());
    for (const auto& t : *teams) std::cout << t.name << "\n";
    return 0;
  });

  auto* add = team->add_subcommand("add-member", "Add a member of the org to a team");
  org_and_team(add);
  add->add_option("USER", args->user)->required();
  on_run(add, [args](meta::IdentityStore& ids) {
    Status s = ids.add_team_member(args->org, args->team, args->user);
    if (!s.ok()) return fail(s.message());
    record(ids, "team.member.add", args->team_path(), "user=" + args->user);
    return 0;
  });

  auto* drop = team->add_subcommand("remove-member", "Remove a member from a team");
  org_and_team(drop);
  drop->add_option("USER", args->user)->required();
  on_run(drop, [args](meta::IdentityStore& ids) {
    auto removed = ids.remove_team_member(args->org, args->team, args->user);
    if (!removed.ok()) return fail(removed.status().message());
    if (!*removed) return fail(args->user + " is not a member of team " + args->team_path());
    record(ids, "team.member.remove", args->team_path(), "user=" + args->user);
    return 0;
  });

  auto* members = team->add_subcommand("members", "List a team's members");
  org_and_team(members);
  on_run(members, [args](meta::IdentityStore& ids) {
    if (Status s = team_exists(ids, args->org, args->team); !s.ok()) return fail(s.message());
    auto users = ids.list_team_members(args->org, args->team);
    if (!users.ok()) return fail(users.status().message());
    for (const auto& u : *users) std::cout << u << "\n";
    return 0;
  });

  auto* grant = team->add_subcommand("grant", "Give a team a role on a package of its org");
  org_and_team(grant);
  grant->add_option("PACKAGE", args->package, "the full repository name, e.g. acme/app")->required()->check(kPackageName);
  grant->add_option("ROLE", args->role)->required()->check(CLI::IsMember({"read", "write", "admin"}));
  on_run(grant, [args](meta::IdentityStore& ids) {
    if (args->package.rfind(args->org + "/", 0) != 0) return fail(args->package + " is not a package of " + args->org);
    Status s = ids.set_team_package_role(args->org, args->team, args->package, args->role);
    if (!s.ok()) return fail(s.message());
    record(ids, "team.grant", args->package, "team=" + args->team_path() + " role=" + args->role);
    return 0;
  });

  auto* revoke = team->add_subcommand("revoke", "Remove a team's role on a package");
  org_and_team(revoke);
  revoke->add_option("PACKAGE", args->package)->required();
  on_run(revoke, [args](meta::IdentityStore& ids) {
    auto removed = ids.remove_team_package_role(args->org, args->team, args->package);
    if (!removed.ok()) return fail(removed.status().message());
    if (!*removed) return fail("team " + args->team_path() + " has no role on " + args->package);
    record(ids, "team.revoke", args->package, "team=" + args->team_path());
    return 0;
  });
}

}  // namespace berth::cli
