// The package model's periodic work, run by `berth serve`'s housekeeping thread: flushing download
// counts, and purging what was soft-deleted longer ago than the restore window (in bounded batches, so
// one pass never holds the database for long; the next pass goes on where it stopped).
#pragma once

#include <cstdint>

#include "meta/package_store.h"
#include "packages/downloads.h"

namespace berth::packages {

struct HousekeepingOptions {
  int64_t restore_window_seconds = 30 * 24 * 3600;
  uint64_t purge_batch = 500;  // objects per purge pass
};

class Housekeeping {
 public:
  Housekeeping(meta::PackageStore& store, DownloadCounter& downloads, HousekeepingOptions options)
      : store_(store), downloads_(downloads), options_(options) {}

  // Writes pending download counts (logs a failure; they are kept for the next call).
  void flush_downloads();
  // Purges what was deleted before now - restore window; returns what went.
  meta::PurgeStats purge_expired(int64_t now);

 private:
  meta::PackageStore& store_;
  DownloadCounter& downloads_;
  HousekeepingOptions options_;
};

}  // namespace berth::packages
