#include "cli/admin_webhooks.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>

#include "cli/admin_support.h"
#include "common/random.h"
#include "common/time.h"
#include "oci/name.h"

namespace berth::cli {
namespace {

std::vector<std::string> split_events(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string e; std::getline(in, e, ',');) {
    if (!e.empty()) out.push_back(e);
  }
  return out;
}

const char* state_name(meta::DeliveryState s) {
  switch (s) {
    case meta::DeliveryState::pending: return "pending";
    case meta::DeliveryState::delivered: return "delivered";
    case meta::DeliveryState::failed: return "failed";
  }
  return "?";
}

}  // namespace

void add_webhook_commands(CLI::App& admin, std::function<int()>& run) {
  auto on_run = [&run](CLI::App* cmd, std::function<int()> action) { on_admin_run(run, cmd, std::move(action)); };
  auto* hook = admin.add_subcommand("webhook", "Webhooks: signed POSTs on push, delete and restore")->require_subcommand(1);
  {
    auto owner = std::make_shared<std::string>();
    auto package = std::make_shared<std::string>();
    auto url = std::make_shared<std::string>();
    auto secret_file = std::make_shared<std::string>();
    auto events = std::make_shared<std::string>("push,delete,restore");
    auto* add = hook->add_subcommand("add", "Add a webhook; prints its id (and the secret, when one is generated)");
    add->add_option("--owner", *owner, "every package of this user or org");
    add->add_option("--package", *package, "only this package (OWNER/NAME)");
    add->add_option("--url", *url, "where to POST (http:// or https://)")->required();
    add->add_option("--secret-file", *secret_file,
                    "a file holding the HMAC secret (default: a new random secret, printed once)");
    add->add_option("--events", *events, "comma-separated: push, delete, restore")->capture_default_str();
    on_run(add, [=, cmd = add] {
      if (owner->empty() == package->empty()) return admin_fail("give exactly one of --owner and --package");
      if (!package->empty() && !oci::is_valid_repository_name(*package)) {
        return admin_fail("invalid package name: " + *package);
      }
      meta::Webhook w;
      w.owner = owner->empty() ? package->substr(0, package->find('/')) : *owner;
      if (!package->empty()) w.package = *package;
      w.url = *url;
      w.events = split_events(*events);
      w.created_at = admin_now();
      w.created_by = admin_actor();
      const bool generated = secret_file->empty();
      if (generated) {
        w.secret = random_hex(32);
      } else {
        std::ifstream in(*secret_file);
        if (!in) return admin_fail("cannot read " + *secret_file);
        std::getline(in, w.secret);
        if (w.secret.empty()) return admin_fail(*secret_file + " holds no secret on its first line");
      }
      return with_admin_metadata(cmd, [&](Backends& b) {
        auto id = b.webhooks->add_webhook(w);
        if (!id.ok()) return admin_fail(id.status().message());
        record_admin_change(*b.identity, "webhook.add", w.package.value_or(w.owner),
                            "id=" + std::to_string(*id) + " url=" + w.url);
        std::cout << *id << "\n";
        if (generated) std::cout << "secret: " << w.secret << "\n";
        return 0;
      });
    });
  }
  {
    auto owner = std::make_shared<std::string>();
    auto* list = hook->add_subcommand("list", "List the webhooks of an owner and of its packages");
    list->add_option("--owner", *owner, "user or org")->required();
    on_run(list, [=, cmd = list] {
      return with_admin_metadata(cmd, [&](Backends& b) {
        auto hooks = b.webhooks->list_webhooks(*owner);
        if (!hooks.ok()) return admin_fail(hooks.status().message());
        std::cout << "ID\tSCOPE\tEVENTS\tURL\tBY\n";
        for (const auto& h : *hooks) {
          std::string events;
          for (const auto& e : h.events) (events += events.empty() ? "" : ",") += e;
          std::cout << h.id << "\t" << (h.package ? *h.package : "owner " + h.owner) << "\t" << events << "\t" << h.url
                    << "\t" << h.created_by << "\n";
        }
        return 0;
      });
    });
  }
  {
    auto owner = std::make_shared<std::string>();
    auto id = std::make_shared<int64_t>(0);
    auto* remove = hook->add_subcommand("remove", "Remove a webhook (and its pending deliveries)");
    remove->add_option("--owner", *owner, "the user or org the webhook belongs to")->required();
    remove->add_option("ID", *id)->required();
    on_run(remove, [=, cmd = remove] {
      return with_admin_metadata(cmd, [&](Backends& b) {
        auto removed = b.webhooks->remove_webhook(*owner, *id);
        if (!removed.ok()) return admin_fail(removed.status().message());
        if (!*removed) return admin_fail("no webhook " + std::to_string(*id) + " of " + *owner);
        record_admin_change(*b.identity, "webhook.remove", *owner, "id=" + std::to_string(*id));
        return 0;
      });
    });
  }
  {
    auto id = std::make_shared<int64_t>(0);
    auto limit = std::make_shared<size_t>(50);
    auto* log = hook->add_subcommand("deliveries", "The delivery log of a webhook, newest first");
    log->add_option("ID", *id)->required();
    log->add_option("--limit", *limit)->capture_default_str();
    on_run(log, [=, cmd = log] {
      return with_admin_metadata(cmd, [&](Backends& b) {
        auto deliveries = b.webhooks->list_deliveries(*id, *limit);
        if (!deliveries.ok()) return admin_fail(deliveries.status().message());
        std::cout << "ID\tACTION\tSTATE\tATTEMPTS\tLAST STATUS\tLAST ERROR\tCREATED\tGUID\n";
        for (const auto& d : *deliveries) {
          std::cout << d.id << "\t" << d.action << "\t" << state_name(d.state) << "\t" << d.attempts << "\t"
                    << d.last_status << "\t" << (d.last_error.empty() ? "-" : d.last_error) << "\t"
                    << utc_timestamp(d.created_at) << "\t" << d.guid << "\n";
        }
        return 0;
      });
    });
  }
}

}  // namespace berth::cli
