#include "cli/gc_command.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <iostream>
#include <memory>

#include "cli/admin_support.h"
#include "cli/backends.h"
#include "cli/config.h"

namespace berth::cli {
namespace {

struct GcOptions {
  std::string config_file;
  std::string data;
  bool dry_run = false;
  int64_t grace_seconds = -1;  // -1: the configuration's
  size_t page = 500;
};

int fail(const std::string& message) {
  std::cerr << "berth gc: " << message << "\n";
  return 1;
}

int run_gc(const GcOptions& o) {
  auto config = load_config_file(o.config_file);
  if (!config.ok()) return fail(config.status().message());
  if (Status s = apply_environment(*config); !s.ok()) return fail(s.message());
  if (!o.data.empty()) config->data = o.data;
  auto backends = open_backends(*config);
  if (!backends.ok()) return fail(backends.status().message());
  const int64_t now = static_cast<int64_t>(std::time(nullptr));

  // What the restore window has released is purged first, so its blobs can go in this same pass.
  meta::PurgeStats purged;
  if (!o.dry_run) {
    for (;;) {
      auto p = backends->packages->purge(now - config->packages_restore_window_seconds, 500);
      if (!p.ok()) return fail("purge: " + p.status().message());
      purged.versions += p->versions;
      purged.manifests += p->manifests;
      purged.packages += p->packages;
      if (p->versions + p->manifests + p->packages == 0) break;
    }
  }
  lifecycle::CollectorOptions options;
  options.grace_seconds = o.grace_seconds >= 0 ? o.grace_seconds : config->gc_grace_seconds;
  options.stale_upload_seconds = config->upload_expire_after_seconds;
  options.holder = collector_node_name();
  options.holder_gone = collector_node_gone;
  options.page = std::max<size_t>(1, o.page);
  lifecycle::Collector collector(*backends->blobs, *backends->metadata, *backends->collector, options);
  auto stats = o.dry_run ? collector.dry_run() : collector.run();
  if (!stats.ok()) return fail(stats.status().message());
  const auto& s = *stats;
  const char* verb = o.dry_run ? "would reclaim" : "reclaimed";
  std::cout << verb << " " << s.blobs_deleted << " objects, " << s.bytes_deleted << " bytes ("
            << human_bytes(s.bytes_deleted) << ")\n";
  std::cout << "  of which " << s.orphans_deleted << " objects the metadata did not know\n";
  std::cout << (o.dry_run ? "would remove " : "removed ") << s.links_removed << " unused links, " << s.uploads_removed
            << " upload leftovers\n";
  if (!o.dry_run) {
    std::cout << "purged " << purged.versions << " versions, " << purged.manifests << " manifests, "
              << purged.packages << " packages past the restore window\n";
  }
  std::cout << "kept " << s.blobs_in_grace << " unreferenced blobs (" << human_bytes(s.bytes_in_grace)
            << ") still in the " << options.grace_seconds << " s grace period\n";
  std::cout << "examined " << s.examined << " rows and objects in " << s.seconds << " s\n";
  if (!o.dry_run) record_gc_pass(*backends->identity, admin_actor(), options.holder, s);
  return 0;
}

}  // namespace

std::string collector_node_name() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || !*host) std::snprintf(host, sizeof host, "node");
  return std::string(host) + ":" + std::to_string(::getpid());
}

bool collector_node_gone(const std::string& holder) {
  const std::string self = collector_node_name();
  const auto colon = holder.rfind(':');
  if (colon == std::string::npos || holder.substr(0, colon) != self.substr(0, self.rfind(':'))) return false;
  pid_t pid = 0;
  try {
    pid = static_cast<pid_t>(std::stol(holder.substr(colon + 1)));
  } catch (...) {
    return false;
  }
  return pid > 0 && ::kill(pid, 0) != 0 && errno == ESRCH;
}

void record_gc_pass(meta::IdentityStore& identity, const std::string& actor, const std::string& node,
                    const lifecycle::CollectorStats& s) {
  std::string detail = "objects=" + std::to_string(s.blobs_deleted) + " bytes=" + std::to_string(s.bytes_deleted) +
                       " orphans=" + std::to_string(s.orphans_deleted) + " links=" + std::to_string(s.links_removed) +
                       " uploads=" + std::to_string(s.uploads_removed) + " in_grace=" +
                       std::to_string(s.blobs_in_grace) + " examined=" + std::to_string(s.examined);
  meta::AuditEvent event{0, static_cast<int64_t>(std::time(nullptr)), actor, "gc.pass", node, "allowed", "local",
                         std::move(detail)};
  (void)identity.record_audit(event);  // a pass is done whether or not it could be written down
}

void add_gc_command(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<GcOptions>();
  auto* gc = app.add_subcommand("gc", "Garbage-collect now: delete blobs no manifest needs (online, safe while serving)");
  gc->add_option("-c,--config", o->config_file, "the registry's YAML configuration file");
  gc->add_option("--data", o->data, "the registry's data directory (overrides the config)");
  gc->add_flag("--dry-run", o->dry_run, "print what a pass would reclaim, change nothing");
  gc->add_option("--grace", o->grace_seconds,
                 "seconds a blob must have been unreferenced and unread (default: gc.grace_period_seconds)");
  gc->add_option("--page", o->page, "rows or objects read at a time (default 500)");
  gc->callback([&run, o] { run = [o] { return run_gc(*o); }; });
}

}  // namespace berth::cli
