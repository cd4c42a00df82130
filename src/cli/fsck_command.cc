#include "cli/fsck_command.h"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "cli/admin_support.h"
#include "cli/backends.h"
#include "cli/config.h"
#include "cli/gc_command.h"
#include "lifecycle/fsck.h"

namespace berth::cli {
namespace {

constexpr int kExitDamage = 2;
constexpr size_t kAuditDigests = 10;  // named in the audit entry; the rest counted

struct FsckCommandOptions {
  std::string config_file;
  std::string data;
  bool verify = false;
  bool repair = false;
};

int fail(const std::string& message) {
  std::cerr << "berth fsck: " << message << "\n";
  return 1;
}

std::string join(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : separator) + p;
  return out;
}

// How a version is named: its tags (of the manifest, or of the index whose platform it is), else the
// digest a client would pull by.
std::string version_of(const meta::BlobUse& use) {
  std::string label = !use.tags.empty() ? join(use.tags, ", ")
                                        : (use.listed_by ? *use.listed_by : use.manifest).str() + " (untagged)";
  if (use.deleted) label += " (deleted, restorable)";
  return label;
}

std::string blob_line(const lifecycle::FsckFinding& f, const meta::BlobUse* use) {
  std::ostringstream line;
  char problem[16];
  std::snprintf(problem, sizeof problem, "%-10s", lifecycle::to_string(f.problem));
  line << "    " << problem << ' ' << f.digest.str() << "  " << f.size << " bytes";
  if (f.problem == lifecycle::FsckProblem::wrong_size && f.stored_size) line << " (stored: " << *f.stored_size << ")";
  if (use && use->listed_by) line << "  in platform manifest " << use->manifest.str();
  if (!f.note.empty()) line << "  -- " << f.note;
  return line.str();
}

// package -> version -> lines, in name order; the blobs no manifest names after them.
void print_findings(const lifecycle::FsckReport& report, std::ostream& out) {
  std::map<std::string, std::map<std::string, std::vector<std::string>>> packages;
  std::vector<std::string> unreferenced, truncated;
  for (const auto& f : report.findings) {
    if (f.uses.empty()) {
      unreferenced.push_back(blob_line(f, nullptr));
      continue;
    }
    for (const auto& use : f.uses) packages[use.repository][version_of(use)].push_back(blob_line(f, &use));
    if (f.more_uses) truncated.push_back(f.digest.str());
  }
  for (const auto& [package, versions] : packages) {
    out << package << "\n";
    for (const auto& [version, lines] : versions) {
      out << "  " << version << "\n";
      for (const auto& l : lines) out << l << "\n";
    }
  }
  if (!unreferenced.empty()) {
    out << "(not named by any manifest: garbage collection removes these)\n";
    for (const auto& l : unreferenced) out << l << "\n";
  }
  for (const auto& d : truncated) out << "(" << d << " is named by more manifests than shown)\n";
}

void print_summary(const lifecycle::FsckReport& report, bool verify, std::ostream& out) {
  const auto& s = report.stats;
  char seconds[32];
  std::snprintf(seconds, sizeof seconds, "%.2f", s.seconds);
  out << "checked " << s.checked << " blobs";
  out << (verify ? " (" + human_bytes(s.bytes_verified) + " re-hashed)" : " (sizes only; --verify re-hashes content)");
  out << " in " << seconds << " s: " << s.missing << " missing, " << s.corrupt << " corrupt, " << s.wrong_size
      << " wrong size, " << s.still_damaged << " still damaged";
  if (s.unreferenced > 0) out << " (" << s.unreferenced << " of them in blobs no manifest names)";
  out << ", " << s.repaired << " repaired";
  if (s.skipped > 0) out << ", " << s.skipped << " in flight skipped";
  out << "\n";
}

void record_repair(meta::IdentityStore& identity, const lifecycle::FsckReport& report, bool verify) {
  const auto& s = report.stats;
  std::vector<std::string> digests;
  for (const auto& f : report.findings) {
    if (f.repaired && digests.size() < kAuditDigests) digests.push_back(f.digest.str());
  }
  std::string detail = "repaired=" + std::to_string(s.repaired) + " missing=" + std::to_string(s.missing) +
                       " corrupt=" + std::to_string(s.corrupt) + " wrong_size=" + std::to_string(s.wrong_size) +
                       " still_damaged=" + std::to_string(s.still_damaged) + " checked=" + std::to_string(s.checked) +
                       " verify=" + (verify ? "true" : "false") + " digests=" + join(digests, ",") +
                       (s.repaired > digests.size() ? ",..." : "");
  record_admin_change(identity, "fsck", "blobs", std::move(detail));
}

int run_fsck(const FsckCommandOptions& o) {
  auto config = load_config_file(o.config_file);
  if (!config.ok()) return fail(config.status().message());
  if (Status s = apply_environment(*config); !s.ok()) return fail(s.message());
  if (!o.data.empty()) config->data = o.data;
  // Opening the stores creates them: a mistyped --data would otherwise be a new, empty and clean registry.
  if (config->metadata == "sqlite" && !std::filesystem::exists(std::filesystem::path(config->data) / "berth.db")) {
    return fail("no registry in " + config->data + " (no berth.db): check --data or the configuration");
  }
  auto backends = open_backends(*config);
  if (!backends.ok()) return fail(backends.status().message());

  lifecycle::FsckOptions options;
  options.verify = o.verify;
  options.repair = o.repair;
  // Beside the blob tree, outside what the store lists: kept for inspection, deleted by hand. On object
  // storage a local copy of a large object could fill this host's disk, so there it is only removed.
  if (config->storage == "filesystem") {
    std::error_code ec;
    auto dir = std::filesystem::absolute(std::filesystem::path(config->data) / "blobs" / "quarantine", ec);
    options.quarantine_dir = ec ? config->data + "/blobs/quarantine" : dir.lexically_normal().string();
  }
  // A repair makes rows `deleting` for a moment, which a collector would take for its own: it holds the
  // collector's lease (berth serve's background steps wait, `berth gc` is refused) for the whole run.
  const std::string holder = collector_node_name() + ":fsck";
  if (o.repair) {
    const int64_t now = static_cast<int64_t>(std::time(nullptr));
    auto held = backends->collector->acquire_lease("gc", holder, now, 24 * 3600);
    if (!held.ok()) return fail(held.status().message());
    if (!*held) {
      auto who = backends->collector->lease_holder("gc", now);
      return fail("garbage collection is running on " + (who.ok() && *who ? (*who)->holder : std::string("another node")) +
                  "; repair after it (read-only checks need no wait)");
    }
  }
  lifecycle::Fsck fsck(*backends->blobs, *backends->collector, options);
  auto report = fsck.run();
  if (o.repair) (void)backends->collector->release_lease("gc", holder);
  if (!report.ok()) return fail(report.status().message());

  print_findings(*report, std::cout);
  print_summary(*report, o.verify, std::cout);
  if (report->stats.repaired > 0) record_repair(*backends->identity, *report, o.verify);
  if (!report->image_damage()) return 0;
  // Advice for what is left to do: blobs still served as they are need --repair first; blobs already
  // out of service only need their bytes pushed again.
  bool still_served = false;
  for (const auto& f : report->findings) {
    still_served = still_served || (f.referenced && !f.repaired && f.problem != lifecycle::FsckProblem::damaged);
  }
  std::cout << "damage found: "
            << (still_served ? "--repair takes damaged blobs out of service so that a push heals them"
                             : "pushing the listed blobs again (same digest) heals them")
            << "\n";
  return kExitDamage;
}

}  // namespace

void add_fsck_command(CLI::App& app, std::function<int()>& run) {
  auto o = std::make_shared<FsckCommandOptions>();
  auto* fsck = app.add_subcommand(
      "fsck", "Check that every blob exists with its size (and content, with --verify); report damage by package");
  fsck->add_option("-c,--config", o->config_file, "the registry's YAML configuration file");
  fsck->add_option("--data", o->data, "the registry's data directory (overrides the config)");
  fsck->add_flag("--verify", o->verify, "also re-hash every blob's content (reads all of it, S3 too)");
  fsck->add_flag("--repair", o->repair,
                 "take missing and corrupt blobs out of service (a push of the same digest heals them) and set "
                 "corrupt objects aside (filesystem: DATA/blobs/quarantine; S3: removed)");
  fsck->footer(
      "Reads only, unless --repair. Safe while the registry serves.\n"
      "Exit status: 0 no damage to any image, 1 usage or backend error, 2 damage to a blob a manifest names\n"
      "(damage only in blobs no manifest names is reported but exits 0).");
  // Unknown arguments are this command's usage error (exit 1, as the help says), not CLI11's own code.
  fsck->allow_extras();
  fsck->callback([&run, o, fsck] {
    std::vector<std::string> extra = fsck->remaining();
    if (!extra.empty()) {
      run = [extra] { return fail("unexpected argument " + extra.front() + " (see berth fsck --help)"); };
      return;
    }
    run = [o] { return run_fsck(*o); };
  });
}

}  // namespace berth::cli
