#include "cli/admin.h"

#include <charconv>
#include <ctime>
#include <filesystem>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>

#include "auth/secrets.h"
#include "cli/admin_support.h"
#include "cli/admin_rules.h"
#include "cli/admin_webhooks.h"
#include "cli/admin_import.h"
#include "cli/admin_teams.h"
#include "cli/config.h"
#include "cli/backends.h"
#include "common/base64.h"
#include "common/time.h"
#include "oci/name.h"

namespace berth::cli {

namespace {

struct Target {
  std::string config_file;
  std::string data;
};

int fail(const std::string& message) { return admin_fail(message); }

// Parses "30d", "12h", "15m", "90s" (or plain seconds).
std::optional<int64_t> parse_duration(const std::string& text) {
  if (text.empty()) return std::nullopt;
  int64_t unit = 1;
  std::string_view number = text;
  switch (text.back()) {
    case 'd': unit = 86400; number.remove_suffix(1); break;
    case 'h': unit = 3600; number.remove_suffix(1); break;
    case 'm': unit = 60; number.remove_suffix(1); break;
    case 's': number.remove_suffix(1); break;
    default: break;
  }
  int64_t n = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
  if (ec != std::errc() || ptr != number.data() + number.size() || n <= 0) return std::nullopt;
  return n * unit;
}

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!item.empty()) out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}


std::string format_time(std::optional<int64_t> t) { return t ? utc_timestamp(*t) : "-"; }

int64_t now() { return admin_now(); }

// How token events name their object: the owner's name first, so `audit --actor USER` finds them.
std::string token_target(const std::string& user, int64_t id) { return user + "/token:" + std::to_string(id); }

// Opens the registry's metadata the way `serve` would find it (SQLite in the data directory, or the
// fleet's PostgreSQL).
struct Stores {
  Backends backends;
  Config config;
  meta::IdentityStore& identity() { return *backends.identity; }
};

Result<Stores> open_stores(const Target& target) {
  auto config = load_config_file(target.config_file);
  if (!config.ok()) return config.status();
  BERTH_RETURN_IF_ERROR(apply_environment(*config));
  if (!target.data.empty()) config->data = target.data;
  auto backends = open_metadata(*config);
  if (!backends.ok()) return backends.status();
  return Stores{std::move(*backends), std::move(*config)};
}

// Opens the stores and runs `body` on them; a failure to open them is reported like any other.
int with_stores(const Target& target, const std::function<int(Stores&)>& body) {
  auto stores = open_stores(target);
  if (!stores.ok()) return fail(stores.status().message());
  return body(*stores);
}

void record_change(Stores& stores, std::string action, std::string target, std::string detail = "") {
  record_admin_change(stores.identity(), std::move(action), std::move(target), std::move(detail));
}

// `audit --actor NAME`: what NAME did (as a user or through a CI token) and what was done to NAME's
// account and tokens.
bool concerns(const meta::AuditEvent& e, const std::string& name) {
  return e.actor == name || e.actor == "ci:" + name || e.target == name || e.target.starts_with(name + "/token:");
}

bool valid_scopes(const std::vector<std::string>& scopes) {
  for (const auto& s : scopes) {
    if (s != "read:packages" && s != "write:packages" && s != "delete:packages") return false;
  }
  return !scopes.empty();
}

// Creates a token and prints only the secret (or hands it and its id to the caller).
int create_token(Stores& stores, const std::string& user, std::vector<std::string> scopes, std::optional<int64_t> ttl,
                 const std::string& name, bool ci, std::vector<std::string> packages, std::string* secret_out = nullptr,
                 int64_t* id_out = nullptr) {
  auto account = stores.identity().get_account(user);
  if (!account.ok()) return fail(account.status().message());
  if (!*account || (*account)->kind != meta::AccountKind::user) return fail("no such user: " + user);
  if (!valid_scopes(scopes)) return fail("scopes must be among read:packages, write:packages, delete:packages");
  for (const auto& p : packages) {
    if (!oci::is_valid_repository_name(p)) return fail("invalid package name: " + p);
  }
  std::string secret = auth::new_token(ci ? auth::kCiPrefix : auth::kPatPrefix);
  meta::TokenRecord record;
  record.user = user;
  record.hash = auth::token_hash(secret);
  record.hint = auth::token_hint(secret);
  record.name = name;
  record.kind = ci ? "ci" : "pat";
  record.scopes = std::move(scopes);
  record.packages = std::move(packages);
  record.created_at = now();
  if (ttl) record.expires_at = record.created_at + *ttl;
  auto id = stores.identity().create_token(record);
  if (!id.ok()) return fail(id.status().message());
  // What the token may do, never any part of the secret (not even the hint).
  std::string detail = "kind=" + record.kind + " scopes=";
  for (size_t i = 0; i < record.scopes.size(); ++i) detail += (i ? "," : "") + record.scopes[i];
  for (size_t i = 0; i < record.packages.size(); ++i) detail += (i ? "," : " packages=") + record.packages[i];
  if (record.expires_at) detail += " expires=" + format_time(record.expires_at);
  record_change(stores, "token.create", token_target(user, *id), std::move(detail));
  if (id_out) *id_out = *id;
  if (secret_out) {
    *secret_out = secret;
  } else {
    std::cout << secret << "\n";
  }
  return 0;
}

}  // namespace

void add_admin_commands(CLI::App& app, std::function<int()>& run) {
  auto target = std::make_shared<Target>();
  auto* admin = app.add_subcommand("admin", "Manage users, orgs, tokens, packages and the audit log");
  admin->add_option("-c,--config", target->config_file, "the registry's YAML configuration file (here or after the "
                                                      "subcommand)");
  admin->add_option("--data", target->data, "the registry's data directory, overrides the config (here or after the "
                                            "subcommand)");
  admin->require_subcommand(1);
  // People write `berth admin user create alice --data ./data` as often as `--data` first: options a
  // subcommand does not know go up to its parent, down to `admin`'s own. Set before any subcommand is
  // added, since subcommands copy the setting when they are created.
  admin->fallthrough();
  // What `cmd` does when it is the subcommand chosen (run after parsing).
  auto on_run = [&run](CLI::App* cmd, std::function<int()> action) {
    cmd->callback([&run, action = std::move(action)] { run = action; });
  };

  // ---- users ----
  auto* user = admin->add_subcommand("user", "Users")->require_subcommand(1);
  {
    auto name = std::make_shared<std::string>();
    auto password_stdin = std::make_shared<bool>(false);
    auto* create = user->add_subcommand("create", "Create a user");
    create->add_option("NAME", *name)->required();
    create->add_flag("--password-stdin", *password_stdin, "read a password (for the UI) from stdin");
    on_run(create, [=] {
      if (!oci::is_valid_repository_name(*name) || name->find('/') != std::string::npos) {
        return fail("user names are lowercase letters, digits and separators . _ -");
      }
      return with_stores(*target, [&](Stores& stores) {
        meta::Account account;
        account.name = *name;
        account.kind = meta::AccountKind::user;
        account.created_at = now();
        if (*password_stdin) {
          std::string password;
          std::getline(std::cin, password);
          if (password.size() < 8) return fail("passwords need at least 8 characters");
          account.password_hash = auth::hash_password(password);
        }
        auto id = stores.identity().create_account(account);
        if (!id.ok()) return fail(id.status().message());
        record_change(stores, "user.create", *name, *password_stdin ? "with password" : "");
        std::cerr << "created user " << *name << "\n";
        return 0;
      });
    });
    on_run(user->add_subcommand("list", "List users and orgs"), [=] {
      return with_stores(*target, [](Stores& stores) {
        auto accounts = stores.identity().list_accounts();
        if (!accounts.ok()) return fail(accounts.status().message());
        for (const auto& a : *accounts) {
          std::cout << a.name << "\t" << (a.kind == meta::AccountKind::user ? "user" : "org") << "\t"
                    << a.default_visibility << "\t" << (a.create_on_push ? "create-on-push" : "must-exist") << "\n";
        }
        return 0;
      });
    });
    auto passwd_name = std::make_shared<std::string>();
    auto* passwd = user->add_subcommand("passwd", "Set a user's password (for the UI), read from stdin");
    passwd->add_option("NAME", *passwd_name)->required();
    on_run(passwd, [=] {
      std::string password;
      std::getline(std::cin, password);
      if (password.size() < 8) return fail("passwords need at least 8 characters");
      return with_stores(*target, [&](Stores& stores) {
        Status s = stores.identity().set_password_hash(*passwd_name, auth::hash_password(password));
        if (!s.ok()) return fail(s.code() == Errc::not_found ? "no such user: " + *passwd_name : s.message());
        record_change(stores, "user.passwd", *passwd_name);
        return 0;
      });
    });
  }

  // ---- orgs and members ----
  auto* org = admin->add_subcommand("org", "Organizations and their members")->require_subcommand(1);
  {
    auto name = std::make_shared<std::string>();
    auto admin_user = std::make_shared<std::string>();
    auto* create = org->add_subcommand("create", "Create an organization");
    create->add_option("NAME", *name)->required();
    create->add_option("--admin", *admin_user, "its first admin (a user)")->required();
    on_run(create, [=] {
      if (!oci::is_valid_repository_name(*name) || name->find('/') != std::string::npos) {
        return fail("invalid organization name");
      }
      return with_stores(*target, [&](Stores& stores) {
        auto admin_account = stores.identity().get_account(*admin_user);
        if (!admin_account.ok()) return fail(admin_account.status().message());
        if (!*admin_account || (*admin_account)->kind != meta::AccountKind::user) return fail("no such user: " + *admin_user);
        meta::Account account;
        account.name = *name;
        account.kind = meta::AccountKind::org;
        account.created_at = now();
        auto id = stores.identity().create_account(account);
        if (!id.ok()) return fail(id.status().message());
        Status s = stores.identity().set_membership(*name, *admin_user, "admin");
        if (!s.ok()) return fail(s.message());
        record_change(stores, "org.create", *name, "admin=" + *admin_user);
        std::cerr << "created org " << *name << " with admin " << *admin_user << "\n";
        return 0;
      });
    });

    auto org_name = std::make_shared<std::string>();
    auto member = std::make_shared<std::string>();
    auto role = std::make_shared<std::string>("member");
    auto* add = org->add_subcommand("add-member", "Add a member or change their role");
    add->add_option("ORG", *org_name)->required();
    add->add_option("USER", *member)->required();
    add->add_option("--role", *role, "member or admin")->check(CLI::IsMember({"member", "admin"}));
    on_run(add, [=] {
      return with_stores(*target, [&](Stores& stores) {
        Status s = stores.identity().set_membership(*org_name, *member, *role);
        if (!s.ok()) return fail(s.message());
        record_change(stores, "org.member.add", *org_name, "user=" + *member + " role=" + *role);
        return 0;
      });
    });
    auto* remove = org->add_subcommand("remove-member", "Remove a member");
    remove->add_option("ORG", *org_name)->required();
    remove->add_option("USER", *member)->required();
    on_run(remove, [=] {
      return with_stores(*target, [&](Stores& stores) {
        auto removed = stores.identity().remove_membership(*org_name, *member);
        if (!removed.ok()) return fail(removed.status().message());
        if (!*removed) return fail(*member + " is not a member of " + *org_name);
        record_change(stores, "org.member.remove", *org_name, "user=" + *member);
        return 0;
      });
    });
    auto* members = org->add_subcommand("members", "List members");
    members->add_option("ORG", *org_name)->required();
    on_run(members, [=] {
      return with_stores(*target, [&](Stores& stores) {
        auto list = stores.identity().list_members(*org_name);
        if (!list.ok()) return fail(list.status().message());
        for (const auto& m : *list) std::cout << m.user << "\t" << m.role << "\n";
        return 0;
      });
    });
  }

  // ---- owner settings ----
  {
    auto owner = std::make_shared<std::string>();
    auto visibility = std::make_shared<std::string>();
    auto create_on_push = std::make_shared<std::string>();
    auto* settings = admin->add_subcommand("owner", "Settings of a user or org as package owner");
    settings->add_option("OWNER", *owner)->required();
    settings->add_option("--default-visibility", *visibility, "of new packages")->check(CLI::IsMember({"public", "private"}));
    settings->add_option("--create-on-push", *create_on_push, "true: packages are created by their first push; "
                                                              "false: they must be created first")
        ->check(CLI::IsMember({"true", "false"}));
    on_run(settings, [=] {
      return with_stores(*target, [&](Stores& stores) {
        auto account = stores.identity().get_account(*owner);
        if (!account.ok()) return fail(account.status().message());
        if (!*account) return fail("no such user or org: " + *owner);
        std::string vis = visibility->empty() ? (*account)->default_visibility : *visibility;
        bool cop = create_on_push->empty() ? (*account)->create_on_push : *create_on_push == "true";
        Status s = stores.identity().set_owner_settings(*owner, vis, cop);
        if (!s.ok()) return fail(s.message());
        record_change(stores, "owner.settings", *owner,
                      "default_visibility=" + vis + " create_on_push=" + (cop ? "true" : "false"));
        return 0;
      });
    });
  }

  // ---- tokens ----
  auto* token = admin->add_subcommand("token", "Personal access tokens and CI tokens")->require_subcommand(1);
  {
    struct TokenArgs {
      std::string user, scopes = "read:packages", expires, name, packages, ttl = "1h";
      bool ci = false;
    };
    auto args = std::make_shared<TokenArgs>();
    auto* create = token->add_subcommand("create", "Create a token; prints only the secret");
    create->add_option("--user", args->user)->required();
    create->add_option("--scopes", args->scopes, "comma list of read:packages, write:packages, delete:packages");
    create->add_option("--expires", args->expires, "lifetime of a PAT, e.g. 30d (default: no expiry)");
    create->add_option("--name", args->name, "a note to recognise it by");
    create->add_flag("--ci", args->ci, "a short-lived CI token limited to --packages");
    create->add_option("--packages", args->packages, "CI tokens: comma list of repositories");
    create->add_option("--ttl", args->ttl, "CI tokens: lifetime (minutes to hours), default 1h");
    on_run(create, [=] {
      return with_stores(*target, [&](Stores& stores) {
        std::optional<int64_t> ttl;
        std::vector<std::string> packages;
        if (args->ci) {
          ttl = parse_duration(args->ttl);
          if (!ttl || *ttl > 24 * 3600) return fail("--ttl must be a duration of at most 24h, e.g. 30m");
          packages = split_list(args->packages);
          if (packages.empty()) return fail("CI tokens need --packages");
        } else if (!args->expires.empty()) {
          ttl = parse_duration(args->expires);
          if (!ttl) return fail("--expires must be a duration such as 30d");
        }
        return create_token(stores, args->user, split_list(args->scopes), ttl, args->name, args->ci, packages);
      });
    });
    auto list_user = std::make_shared<std::string>();
    auto* list = token->add_subcommand("list", "List a user's tokens (never the secrets)");
    list->add_option("--user", *list_user)->required();
    on_run(list, [=] {
      return with_stores(*target, [&](Stores& stores) {
        auto tokens = stores.identity().list_tokens(*list_user);
        if (!tokens.ok()) return fail(tokens.status().message());
        std::cout << "ID\tKIND\tHINT\tSCOPES\tEXPIRES\tREVOKED\tLAST USED\tNAME\n";
        for (const auto& t : *tokens) {
          std::string scopes;
          for (const auto& s : t.scopes) scopes += (scopes.empty() ? "" : ",") + s;
          std::cout << t.id << "\t" << t.kind << "\t" << t.hint << "\t" << scopes << "\t" << format_time(t.expires_at)
                    << "\t" << format_time(t.revoked_at) << "\t" << format_time(t.last_used_at) << "\t" << t.name << "\n";
        }
        return 0;
      });
    });
    auto revoke_id = std::make_shared<int64_t>(0);
    auto* revoke = token->add_subcommand("revoke", "Revoke a token by id");
    revoke->add_option("ID", *revoke_id)->required();
    on_run(revoke, [=] {
      return with_stores(*target, [&](Stores& stores) {
        // Read first: the audit target names the token's user.
        auto token_now = stores.identity().get_token(*revoke_id);
        if (!token_now.ok()) return fail(token_now.status().message());
        if (!*token_now) return fail("no token with id " + std::to_string(*revoke_id));
        auto revoked = stores.identity().revoke_token(*revoke_id, now());
        if (!revoked.ok()) return fail(revoked.status().message());
        if (!*revoked) return fail("no token with id " + std::to_string(*revoke_id));
        record_change(stores, "token.revoke", token_target((*token_now)->user, *revoke_id));
        return 0;
      });
    });
  }

  // ---- packages ----
  auto* package = admin->add_subcommand("package", "Package visibility and roles")->require_subcommand(1);
  {
    auto repo = std::make_shared<std::string>();
    auto visibility = std::make_shared<std::string>();
    auto* vis = package->add_subcommand("visibility", "Set a package's visibility (creates the package if needed)");
    vis->add_option("PACKAGE", *repo)->required();
    vis->add_option("VISIBILITY", *visibility)->required()->check(CLI::IsMember({"public", "private"}));
    on_run(vis, [=] {
      if (!oci::is_valid_repository_name(*repo)) return fail("invalid package name");
      return with_stores(*target, [&](Stores& stores) {
        Status s = stores.identity().set_repository_visibility(*repo, *visibility);
        if (!s.ok()) return fail(s.message());
        record_change(stores, "package.visibility", *repo, *visibility);
        return 0;
      });
    });
    auto member = std::make_shared<std::string>();
    auto role = std::make_shared<std::string>();
    auto* grant = package->add_subcommand("grant", "Give a user a role on a package");
    grant->add_option("PACKAGE", *repo)->required();
    grant->add_option("USER", *member)->required();
    grant->add_option("ROLE", *role)->required()->check(CLI::IsMember({"read", "write", "admin"}));
    on_run(grant, [=] {
      return with_stores(*target, [&](Stores& stores) {
        Status s = stores.identity().set_package_role(*repo, *member, *role);
        if (!s.ok()) return fail(s.message());
        record_change(stores, "package.grant", *repo, "user=" + *member + " role=" + *role);
        return 0;
      });
    });
    auto* revoke = package->add_subcommand("revoke", "Remove a user's role on a package");
    revoke->add_option("PACKAGE", *repo)->required();
    revoke->add_option("USER", *member)->required();
    on_run(revoke, [=] {
      return with_stores(*target, [&](Stores& stores) {
        auto removed = stores.identity().remove_package_role(*repo, *member);
        if (!removed.ok()) return fail(removed.status().message());
        if (!*removed) return fail(*member + " has no role on " + *repo);
        record_change(stores, "package.revoke", *repo, "user=" + *member);
        return 0;
      });
    });
    auto* roles = package->add_subcommand("roles", "List roles on a package");
    roles->add_option("PACKAGE", *repo)->required();
    on_run(roles, [=] {
      return with_stores(*target, [&](Stores& stores) {
        auto visibility_now = stores.identity().repository_visibility(*repo);
        if (!visibility_now.ok()) return fail(visibility_now.status().message());
        if (!*visibility_now) return fail("no such package: " + *repo);
        std::cout << "visibility\t" << **visibility_now << "\n";
        auto list = stores.identity().list_package_roles(*repo);
        if (!list.ok()) return fail(list.status().message());
        for (const auto& r : *list) std::cout << r.user << "\t" << r.role << "\n";
        return 0;
      });
    });
  }

  add_team_commands(*admin, run);
  add_rule_commands(*admin, *package, run);
  add_webhook_commands(*admin, run);
  add_import_command(*admin, run);

  // ---- audit log ----
  {
    auto actor = std::make_shared<std::string>();
    auto after = std::make_shared<int64_t>(0);
    auto limit = std::make_shared<size_t>(100);
    auto* audit = admin->add_subcommand("audit", "Show the audit log, oldest first");
    audit->add_option("--actor", *actor, "only what this user did (also through CI tokens) and what was done to "
                                         "their account and tokens");
    audit->add_option("--after", *after, "only events after this id");
    audit->add_option("--limit", *limit, "at most this many events");
    on_run(audit, [=] {
      return with_stores(*target, [&](Stores& stores) {
        auto print = [](const meta::AuditEvent& e) {
          std::cout << e.id << "\t" << format_time(e.at) << "\t" << e.actor << "\t" << e.action << "\t" << e.target
                    << "\t" << e.outcome << "\t" << e.remote << "\t" << e.detail << "\n";
        };
        if (actor->empty()) {
          auto events = stores.identity().list_audit(*after, *limit, std::nullopt);
          if (!events.ok()) return fail(events.status().message());
          for (const auto& e : *events) print(e);
          return 0;
        }
        // The store filters on the actor only; events done to the user are found by reading every page.
        constexpr size_t kPage = 1000;
        int64_t cursor = *after;
        size_t shown = 0;
        while (shown < *limit) {
          auto events = stores.identity().list_audit(cursor, kPage, std::nullopt);
          if (!events.ok()) return fail(events.status().message());
          for (const auto& e : *events) {
            if (shown < *limit && concerns(e, *actor)) print(e), ++shown;
          }
          if (events->size() < kPage) break;
          cursor = events->back().id;
        }
        return 0;
      });
    });
  }

  // ---- Kubernetes pull secret ----
  {
    struct SecretArgs {
      std::string user, name = "berth-pull", ns, registry, expires = "90d";
    };
    auto args = std::make_shared<SecretArgs>();
    auto* secret = admin->add_subcommand("pull-secret",
                                         "Print a kubernetes.io/dockerconfigjson Secret holding a new read-only, "
                                         "expiring token");
    secret->add_option("--user", args->user, "the user the token acts for")->required();
    secret->add_option("--name", args->name, "the Secret's name");
    secret->add_option("--namespace", args->ns, "the Secret's namespace");
    secret->add_option("--registry", args->registry,
                       "registry host[:port] as clients name it (default: server.external_url's, else listen)");
    secret->add_option("--expires", args->expires, "token lifetime (default 90d)");
    on_run(secret, [=] {
      return with_stores(*target, [&](Stores& stores) {
        auto ttl = parse_duration(args->expires);
        if (!ttl) return fail("--expires must be a duration such as 90d");
        std::string registry = args->registry;
        if (registry.empty() && !stores.config.external_url.empty()) {
          registry = external_host(stores.config.external_url);
        }
        if (registry.empty()) registry = stores.config.listen;
        std::string token;
        int64_t token_id = 0;
        int rc = create_token(stores, args->user, {"read:packages"}, ttl, "pull-secret " + args->name, false, {},
                              &token, &token_id);
        if (rc != 0) return rc;
        std::string where = args->ns.empty() ? "" : " namespace=" + args->ns;
        record_change(stores, "pull-secret.create", token_target(args->user, token_id),
                      "name=" + args->name + where + " registry=" + registry);
        nlohmann::json config = {{"auths",
                                  {{registry,
                                    {{"username", args->user},
                                     {"password", token},
                                     {"auth", base64_encode(args->user + ":" + token)}}}}}};
        std::cout << "apiVersion: v1\nkind: Secret\nmetadata:\n  name: " << args->name << "\n";
        if (!args->ns.empty()) std::cout << "  namespace: " << args->ns << "\n";
        std::cout << "type: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: " << base64_encode(config.dump())
                  << "\n";
        return 0;
      });
    });
  }
}

}  // namespace berth::cli
