#include "cli/admin_rules.h"

#include <cctype>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/admin_support.h"
#include "lifecycle/retention.h"
#include "oci/name.h"
#include "oci/tag_pattern.h"

namespace berth::cli {
namespace {

const CLI::Validator kPattern(
    [](const std::string& text) {
      auto p = oci::TagPattern::parse(text);
      return p.ok() ? std::string() : p.status().message();
    },
    "");

std::string owner_of(const std::string& package) { return package.substr(0, package.find('/')); }

}  // namespace

// Prints a plan: one line per version, then a count.
void print_plan(const lifecycle::RetentionPlan& plan, bool dry_run) {
  for (const auto& d : plan.deletions) {
    std::cout << (dry_run ? "would delete " : "deleted ") << plan.package << " version " << d.version_id << " "
              << d.digest.substr(0, 19) << " [" << (d.tags.empty() ? std::string("untagged") : [&] {
                   std::string t;
                   for (const auto& x : d.tags) t += (t.empty() ? "" : ",") + x;
                   return t;
                 }()) << "]: " << d.reason << "\n";
  }
  for (const auto& d : plan.skipped) {
    std::cout << "left " << plan.package << " version " << d.version_id << ": changed since it was selected\n";
  }
  std::cout << plan.package << ": " << plan.deletions.size() << " of " << plan.versions << " versions "
            << (dry_run ? "would be deleted" : "deleted (restorable)") << "\n";
}

void add_retention_commands(CLI::App& admin, std::function<int()>& run) {
  auto on_run = [&run](CLI::App* cmd, std::function<int()> action) { on_admin_run(run, cmd, std::move(action)); };
  auto* retention = admin.add_subcommand("retention", "Retention policies: which versions are deleted, and when")
                        ->require_subcommand(1);
  struct Scope {
    std::string owner, package;
  };
  auto scope_options = [](CLI::App* cmd, Scope& s) {
    cmd->add_option("--owner", s.owner, "the policy of every package of this user or org");
    cmd->add_option("--package", s.package, "the policy of one package (OWNER/NAME), replacing its owner's");
  };
  auto resolve = [](const Scope& s, std::string& owner, std::optional<std::string>& package) -> std::string {
    if (s.owner.empty() == s.package.empty()) return "give exactly one of --owner and --package";
    if (!s.package.empty() && !oci::is_valid_repository_name(s.package)) return "invalid package name: " + s.package;
    owner = s.owner.empty() ? owner_of(s.package) : s.owner;
    if (!s.package.empty()) package = s.package;
    return "";
  };
  {
    auto scope = std::make_shared<Scope>();
    auto policy = std::make_shared<std::string>();
    auto* set = retention->add_subcommand(
        "set", "Set a policy, as JSON: {\"keep_newest\":10, \"untagged_older_than\":\"7d\", "
               "\"delete_tags\":[\"pr-*\"], \"tagged_older_than\":\"14d\", \"keep_tags\":[\"latest\",\"v*\"]}");
    scope_options(set, *scope);
    set->add_option("POLICY", *policy, "the policy (JSON)")->required();
    on_run(set, [=, cmd = set] {
      std::string owner;
      std::optional<std::string> package;
      if (auto error = resolve(*scope, owner, package); !error.empty()) return admin_fail(error);
      auto parsed = lifecycle::RetentionPolicy::parse(*policy);
      if (!parsed.ok()) return admin_fail(parsed.status().message());
      return with_admin_metadata(cmd, [&](Backends& b) {
        const std::string canonical = parsed->to_json();
        if (Status s = b.packages->set_retention(owner, package, canonical, admin_actor(), admin_now()); !s.ok()) {
          return admin_fail(s.message());
        }
        record_admin_change(*b.identity, "retention.set", package ? *package : owner, canonical);
        return 0;
      });
    });
  }
  {
    auto scope = std::make_shared<Scope>();
    auto* show = retention->add_subcommand("show", "Print a policy (JSON), nothing when there is none");
    scope_options(show, *scope);
    on_run(show, [=, cmd = show] {
      std::string owner;
      std::optional<std::string> package;
      if (auto error = resolve(*scope, owner, package); !error.empty()) return admin_fail(error);
      return with_admin_metadata(cmd, [&](Backends& b) {
        auto record = b.packages->retention_of(owner, package);
        if (!record.ok()) return admin_fail(record.status().message());
        if (*record) std::cout << (*record)->policy_json << "\n";
        return 0;
      });
    });
  }
  {
    auto scope = std::make_shared<Scope>();
    auto* clear = retention->add_subcommand("clear", "Remove a policy");
    scope_options(clear, *scope);
    on_run(clear, [=, cmd = clear] {
      std::string owner;
      std::optional<std::string> package;
      if (auto error = resolve(*scope, owner, package); !error.empty()) return admin_fail(error);
      return with_admin_metadata(cmd, [&](Backends& b) {
        auto cleared = b.packages->clear_retention(owner, package);
        if (!cleared.ok()) return admin_fail(cleared.status().message());
        if (*cleared) record_admin_change(*b.identity, "retention.clear", package ? *package : owner);
        return 0;
      });
    });
  }
  {
    auto package = std::make_shared<std::string>();
    auto dry_run = std::make_shared<bool>(false);
    auto* run_cmd = retention->add_subcommand("run", "Apply the policy that covers a package now");
    run_cmd->add_option("PACKAGE", *package)->required();
    run_cmd->add_flag("--dry-run", *dry_run, "print exactly what a run would delete, and why; change nothing");
    on_run(run_cmd, [=, cmd = run_cmd] {
      return with_admin_metadata(cmd, [&](Backends& b) {
        lifecycle::Retention retention(*b.packages);
        auto plan = retention.plan(*package);
        if (!plan.ok()) return admin_fail(plan.status().message());
        if (*dry_run) {
          print_plan(*plan, true);
          return 0;
        }
        auto done = retention.apply(*plan);
        if (!done.ok()) return admin_fail(done.status().message());
        for (const auto& d : done->deletions) {
          record_admin_change(*b.identity, "retention.delete", *package + "@" + std::to_string(d.version_id), d.reason);
        }
        print_plan(*done, false);
        return 0;
      });
    });
  }
}

// "10GiB", "500MB", "1024" (bytes); nullopt when unreadable.
std::optional<uint64_t> parse_size(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  if (digits == 0 || digits > 15) return std::nullopt;
  const uint64_t n = std::stoull(text.substr(0, digits));
  const std::string unit = text.substr(digits);
  static const std::pair<const char*, uint64_t> kUnits[] = {
      {"", 1},           {"B", 1},          {"KB", 1000},       {"MB", 1000000},     {"GB", 1000000000},
      {"TB", 1000000000000}, {"KiB", 1ull << 10}, {"MiB", 1ull << 20}, {"GiB", 1ull << 30}, {"TiB", 1ull << 40}};
  for (const auto& [name, factor] : kUnits) {
    if (unit == name) return n * factor;
  }
  return std::nullopt;
}

void add_quota_commands(CLI::App& admin, std::function<int()>& run) {
  auto on_run = [&run](CLI::App* cmd, std::function<int()> action) { on_admin_run(run, cmd, std::move(action)); };
  auto* quota = admin.add_subcommand("quota", "Storage quotas of owners and packages (each blob counted once)")
                    ->require_subcommand(1);
  {
    auto owner = std::make_shared<std::string>();
    auto package = std::make_shared<std::string>();
    auto size = std::make_shared<std::string>();
    auto* set = quota->add_subcommand("set", "Set a limit (e.g. 10GiB, 500MB, bytes; 'none' removes it)");
    set->add_option("--owner", *owner, "every package of this user or org together");
    set->add_option("--package", *package, "one package (OWNER/NAME)");
    set->add_option("SIZE", *size)->required();
    on_run(set, [=, cmd = set] {
      if (owner->empty() == package->empty()) return admin_fail("give exactly one of --owner and --package");
      std::optional<uint64_t> limit;
      if (*size != "none") {
        limit = parse_size(*size);
        if (!limit) return admin_fail("not a size: " + *size + " (e.g. 10GiB, 500MB, 1048576)");
      }
      const std::string who = owner->empty() ? owner_of(*package) : *owner;
      std::optional<std::string> pkg;
      if (!package->empty()) pkg = *package;
      return with_admin_metadata(cmd, [&](Backends& b) {
        if (Status s = b.packages->set_quota(who, pkg, limit); !s.ok()) return admin_fail(s.message());
        record_admin_change(*b.identity, "quota.set", pkg ? *pkg : who,
                            limit ? "limit=" + std::to_string(*limit) : std::string("limit=none"));
        return 0;
      });
    });
  }
  {
    auto owner = std::make_shared<std::string>();
    auto* show = quota->add_subcommand("show", "Usage and limits of an owner and its packages");
    show->add_option("--owner", *owner, "user or org")->required();
    on_run(show, [=, cmd = show] {
      return with_admin_metadata(cmd, [&](Backends& b) {
        auto rows = b.packages->quotas(*owner);
        if (!rows.ok()) return admin_fail(rows.status().message());
        std::cout << "SCOPE\tUSAGE_BYTES\tLIMIT_BYTES\n";
        for (const auto& q : *rows) {
          std::cout << (q.package ? *q.package : "owner " + q.owner) << "\t" << q.usage_bytes << "\t"
                    << (q.limit_bytes ? std::to_string(*q.limit_bytes) : std::string("none")) << "\n";
        }
        return 0;
      });
    });
  }
}

void add_rule_commands(CLI::App& admin, CLI::App& package, std::function<int()>& run) {
  auto on_run = [&run](CLI::App* cmd, std::function<int()> action) { on_admin_run(run, cmd, std::move(action)); };
  auto* rule = admin.add_subcommand("tag-rule", "Tag patterns that are immutable once pushed")->require_subcommand(1);
  {
    auto owner = std::make_shared<std::string>();
    auto package_name = std::make_shared<std::string>();
    auto pattern = std::make_shared<std::string>();
    auto* add = rule->add_subcommand("add", "Make tags matching PATTERN (e.g. 'v*', 'release-?') immutable");
    add->add_option("--owner", *owner, "every package of this user or org");
    add->add_option("--package", *package_name, "only this package (OWNER/NAME)");
    add->add_option("PATTERN", *pattern)->required()->check(kPattern);
    on_run(add, [=, cmd = add] {
      if (owner->empty() == package_name->empty()) return admin_fail("give exactly one of --owner and --package");
      if (!package_name->empty() && !oci::is_valid_repository_name(*package_name)) {
        return admin_fail("invalid package name: " + *package_name);
      }
      const std::string who = owner->empty() ? owner_of(*package_name) : *owner;
      std::optional<std::string> pkg;
      if (!package_name->empty()) pkg = *package_name;
      return with_admin_metadata(cmd, [&](Backends& b) {
        auto id = b.packages->add_tag_rule(who, pkg, *pattern, admin_actor(), admin_now());
        if (!id.ok()) return admin_fail(id.status().message());
        record_admin_change(*b.identity, "tag-rule.add", pkg ? *pkg : who, "id=" + std::to_string(*id) + " pattern=" + *pattern);
        std::cout << *id << "\n";
        return 0;
      });
    });
  }
  {
    auto owner = std::make_shared<std::string>();
    auto id = std::make_shared<int64_t>(0);
    auto* remove = rule->add_subcommand("remove", "Remove a rule by id");
    remove->add_option("--owner", *owner, "the user or org the rule belongs to")->required();
    remove->add_option("ID", *id)->required();
    on_run(remove, [=, cmd = remove] {
      return with_admin_metadata(cmd, [&](Backends& b) {
        auto removed = b.packages->remove_tag_rule(*owner, *id);
        if (!removed.ok()) return admin_fail(removed.status().message());
        if (!*removed) return admin_fail("no rule " + std::to_string(*id) + " of " + *owner);
        record_admin_change(*b.identity, "tag-rule.remove", *owner, "id=" + std::to_string(*id));
        return 0;
      });
    });
  }
  {
    auto owner = std::make_shared<std::string>();
    auto* list = rule->add_subcommand("list", "List an owner's rules and its packages' rules");
    list->add_option("--owner", *owner, "user or org")->required();
    on_run(list, [=, cmd = list] {
      return with_admin_metadata(cmd, [&](Backends& b) {
        auto rules = b.packages->list_tag_rules(*owner);
        if (!rules.ok()) return admin_fail(rules.status().message());
        std::cout << "ID\tSCOPE\tPATTERN\tBY\n";
        for (const auto& r : *rules) {
          std::cout << r.id << "\t" << (r.package ? *r.package : "owner " + r.owner) << "\t" << r.pattern << "\t"
                    << r.created_by << "\n";
        }
        return 0;
      });
    });
  }
  {
    auto name = std::make_shared<std::string>();
    auto policy = std::make_shared<std::string>();
    auto* semver = package.add_subcommand(
        "semver", "A package's semver policy: off | on (semantic-version tags immutable, each new release newer "
                  "than the highest) | move-floating (on, and the newest release of a line moves 1.2 and 1)");
    semver->add_option("PACKAGE", *name)->required();
    semver->add_option("POLICY", *policy)->required()->check(CLI::IsMember({"off", "on", "move-floating"}));
    on_run(semver, [=, cmd = semver] {
      const meta::SemverPolicy p = *meta::parse_semver_policy(*policy);  // checked by IsMember
      return with_admin_metadata(cmd, [&](Backends& b) {
        if (Status s = b.packages->set_semver_policy(*name, p); !s.ok()) return admin_fail(s.message());
        record_admin_change(*b.identity, "package.semver", *name, "policy=" + *policy);
        return 0;
      });
    });
  }
  add_retention_commands(admin, run);
  add_quota_commands(admin, run);
}

}  // namespace berth::cli
