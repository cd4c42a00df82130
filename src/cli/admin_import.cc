#include "cli/admin_import.h"

#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "cli/admin_support.h"
#include "importer/importer.h"
#include "oci/name.h"

namespace berth::cli {
namespace {

struct SourceName {
  std::string registry;    // host[:port]
  std::string repository;  // as the source names it
};

// "registry.example.com:5000/team/app", "docker.io/library/alpine", "alpine" (Docker Hub, as docker
// reads names: a first component without '.' or ':' that is not "localhost" is a path on Docker Hub).
std::optional<SourceName> parse_source(const std::string& text) {
  if (text.empty()) return std::nullopt;
  SourceName s;
  const size_t slash = text.find('/');
  const std::string first = text.substr(0, slash);
  const bool is_host = slash != std::string::npos &&
                       (first.find('.') != std::string::npos || first.find(':') != std::string::npos ||
                        first == "localhost" || first.starts_with("["));
  if (is_host) {
    s.registry = first;
    s.repository = text.substr(slash + 1);
  } else {
    s.registry = "docker.io";
    s.repository = text;
  }
  if (s.registry == "docker.io" || s.registry == "index.docker.io") {
    s.registry = "registry-1.docker.io";
    if (s.repository.find('/') == std::string::npos) s.repository = "library/" + s.repository;
  }
  if (!oci::is_valid_repository_name(s.repository)) return std::nullopt;
  return s;
}

}  // namespace

void add_import_command(CLI::App& admin, std::function<int()>& run) {
  auto source = std::make_shared<std::string>();
  auto target = std::make_shared<std::string>();
  auto tags = std::make_shared<std::vector<std::string>>();
  auto all_tags = std::make_shared<bool>(false);
  auto creds = std::make_shared<std::string>();
  auto creds_file = std::make_shared<std::string>();
  auto plain_http = std::make_shared<bool>(false);
  auto ca_file = std::make_shared<std::string>();
  auto* cmd = admin.add_subcommand(
      "import", "Copy a repository from another registry (tags, manifests, indexes, referrers, blobs); run it again "
                "to continue an interrupted import");
  cmd->add_option("SOURCE", *source, "REGISTRY[:PORT]/REPO, or a Docker Hub name (alpine, team/app)")->required();
  cmd->add_option("--to", *target, "OWNER/NAME here")->required();
  cmd->add_option("--tag", *tags, "a tag to copy (repeatable; default: latest)");
  cmd->add_flag("--all-tags", *all_tags, "copy every tag of SOURCE");
  cmd->add_option("--creds", *creds, "USER:PASSWORD for the source (prefer --creds-file: the command line is visible)");
  cmd->add_option("--creds-file", *creds_file, "a file whose first line is USER:PASSWORD");
  cmd->add_flag("--plain-http", *plain_http, "the source speaks HTTP, not HTTPS");
  cmd->add_option("--ca-file", *ca_file, "PEM roots to trust for the source instead of the system's");
  cmd->callback([&run, source, target, tags, all_tags, creds, creds_file, plain_http, ca_file, cmd] {
    run = [=] {
      auto from = parse_source(*source);
      if (!from) return admin_fail("invalid source: " + *source);
      if (!oci::is_valid_repository_name(*target) || target->find('/') == std::string::npos) {
        return admin_fail("--to must be OWNER/NAME: " + *target);
      }
      importer::SourceOptions options{from->registry, *plain_http, {}, {}, *ca_file, 60};
      std::string pair = *creds;
      if (!creds_file->empty()) {
        std::ifstream in(*creds_file);
        if (!in || !std::getline(in, pair)) return admin_fail("cannot read " + *creds_file);
      }
      if (!pair.empty()) {
        const size_t colon = pair.find(':');
        if (colon == std::string::npos) return admin_fail("credentials are USER:PASSWORD");
        options.username = pair.substr(0, colon);
        options.password = pair.substr(colon + 1);
      }
      return with_admin_config(cmd, [&](const Config& config) {
        auto backends = open_backends(config);
        if (!backends.ok()) return admin_fail(backends.status().message());
        // A package created here gets its owner's default visibility, as a first push would.
        const std::string owner = target->substr(0, target->find('/'));
        auto facts = backends->identity->access_facts(*target, owner, "");
        if (!facts.ok()) return admin_fail(facts.status().message());
        if (!facts->visibility) {
          const std::string visibility = facts->owner_kind ? facts->owner_default_visibility : "private";
          if (Status s = backends->identity->set_repository_visibility(*target, visibility); !s.ok()) {
            return admin_fail(s.message());
          }
        }
        registry::Registry registry(*backends->blobs, *backends->metadata,
                                    registry::RegistryOptions{config.upload_expire_after_seconds, 0,
                                                              config.gc_grace_seconds});
        importer::Source src(options);
        std::vector<std::string> wanted = *tags;
        if (*all_tags) {
          auto listed = src.tags(from->repository);
          if (!listed.ok()) return admin_fail("tags of " + *source + ": " + listed.status().message());
          wanted = *listed;
        }
        if (wanted.empty() && !*all_tags) wanted = {"latest"};
        std::cerr << "importing " << wanted.size() << " tags of " << from->registry << "/" << from->repository
                  << " into " << *target << "\n";
        importer::Importer importer(src, registry, from->repository, *target,
                                    [](const std::string& line) { std::cerr << line << "\n"; });
        auto report = importer.run(wanted);
        if (!report.ok()) return admin_fail(report.status().message() + " (run the import again to continue)");
        record_admin_change(*backends->identity, "package.import", *target,
                            "from=" + from->registry + "/" + from->repository + " tags=" +
                                std::to_string(report->tags));
        std::cout << "imported " << report->tags << " tags: " << report->manifests_copied << " manifests copied, "
                  << report->manifests_present << " already here; " << report->blobs_copied << " blobs copied ("
                  << human_bytes(report->bytes_copied) << "), " << report->blobs_present << " already here\n";
        return 0;
      });
    };
  });
}

}  // namespace berth::cli
