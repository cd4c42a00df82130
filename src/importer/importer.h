// Importer: copies tags of a repository from a Source into this registry (`berth admin import`,
// docs/import.md). Each manifest is copied after what it needs — blobs streamed from the source into an
// upload (never held whole), an index's children first — and then its referrers; everything goes
// through registry::Registry, so the rules of a push apply (validation, versions, tag rules, quotas).
// What is already here (a manifest by digest, a blob in the repository or mountable from another one) is
// not fetched again: an interrupted import run again continues where it stopped.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "importer/source.h"
#include "registry/registry.h"

namespace berth::importer {

struct ImportReport {
  size_t tags = 0;
  size_t manifests_copied = 0;
  size_t manifests_present = 0;
  size_t blobs_copied = 0;
  size_t blobs_present = 0;
  uint64_t bytes_copied = 0;
};

class Importer {
 public:
  using Progress = std::function<void(const std::string& line)>;
  Importer(Source& source, registry::Registry& registry, std::string source_repository, std::string target,
           Progress progress = {});

  // Copies these tags (in order); stops at the first failure, leaving what was copied.
  Result<ImportReport> run(const std::vector<std::string>& tags);

 private:
  // The manifest `reference` (a tag, or a digest) with all it needs, then its referrers; `tag` set: the
  // tag to put it under here.
  Status copy_manifest(const std::string& reference, const std::string* tag, int depth);
  Status copy_blob(const oci::Descriptor& blob);
  Status copy_referrers(const oci::Digest& subject, int depth);

  Source& source_;
  registry::Registry& registry_;
  std::string from_;
  std::string to_;
  Progress progress_;
  ImportReport report_;
  std::set<std::string> done_;  // manifests copied or found in this run
};

}  // namespace berth::importer
