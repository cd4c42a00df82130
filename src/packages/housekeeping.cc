#include "packages/housekeeping.h"

#include <spdlog/spdlog.h>

namespace berth::packages {

void Housekeeping::flush_downloads() {
  Status s = downloads_.flush(store_);
  if (!s.ok()) spdlog::warn("download counts not written yet: {}", s.message());
}

meta::PurgeStats Housekeeping::purge_expired(int64_t now) {
  auto purged = store_.purge(now - options_.restore_window_seconds, options_.purge_batch);
  if (!purged.ok()) {
    spdlog::warn("purge of deleted versions failed: {}", purged.status().message());
    return {};
  }
  if (purged->versions + purged->manifests + purged->packages > 0) {
    spdlog::info("purged deleted content: versions={} manifests={} packages={}", purged->versions,
                 purged->manifests, purged->packages);
  }
  return *purged;
}

}  // namespace berth::packages
