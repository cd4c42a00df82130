#include "cli/admin_rules.h"

#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "cli/admin_support.h"
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

void add_rule_commands(CLI::App& admin, CLI::App& package, std::function<int()>& run) {
  auto on_run = [&run](CLI::App* cmd, std::function<int()> action) {
    cmd->callback([&run, action = std::move(action)] { run = action; });
  };
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
      const meta::SemverPolicy p = *policy == "off"  ? meta::SemverPolicy::off
                                   : *policy == "on" ? meta::SemverPolicy::on
                                                     : meta::SemverPolicy::move_floating;
      return with_admin_metadata(cmd, [&](Backends& b) {
        if (Status s = b.packages->set_semver_policy(*name, p); !s.ok()) return admin_fail(s.message());
        record_admin_change(*b.identity, "package.semver", *name, "policy=" + *policy);
        return 0;
      });
    });
  }
}

}  // namespace berth::cli
