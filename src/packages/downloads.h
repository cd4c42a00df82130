// Download counts without slowing pulls: a manifest GET adds one to an in-memory count on its node, and
// the housekeeping thread writes the counts to the PackageStore in one transaction every few seconds.
// A crash loses at most the counts since the last flush, never a pull.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

#include "common/status.h"
#include "meta/package_store.h"
#include "oci/digest.h"

namespace berth::packages {

class DownloadCounter {
 public:
  // One pull of the manifest `digest` of `repository`. Counts only when it is a version's top-level
  // manifest (the store decides at flush time). Thread safe, no I/O.
  void record(const std::string& repository, const oci::Digest& digest);
  // Writes and forgets what was recorded since the last flush; on failure keeps it for the next one.
  Status flush(meta::PackageStore& store);
  // Counts waiting to be flushed (for tests and metrics).
  size_t pending() const;

 private:
  // Keyed by "repository@digest": one allocation per pull of a new key, none for a repeated one.
  mutable std::mutex mu_;
  std::unordered_map<std::string, uint64_t> counts_;
};

}  // namespace berth::packages
