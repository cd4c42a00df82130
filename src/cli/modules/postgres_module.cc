// berth-postgres.so: the PostgreSQL metadata driver behind driver_module.h's entry point.
#include "cli/modules/driver_module.h"
#include "meta/pg_store.h"

using namespace berth;

extern "C" __attribute__((visibility("default"))) Result<cli::modules::OpenedMetadata> berth_open_postgres(
    const std::string& url) {
  auto store = meta::PgStore::open(url);
  if (!store.ok()) return store.status();
  cli::modules::OpenedMetadata opened;
  opened.identity = &(*store)->identity();
  opened.packages = &(*store)->packages();
  opened.collector = &(*store)->collector();
  opened.webhooks = &(*store)->webhooks();
  opened.store = std::move(*store);
  return opened;
}

// The loader casts the symbol to OpenPostgresFn: the definition must have exactly that type.
static_assert(std::is_same_v<decltype(berth_open_postgres), cli::modules::OpenPostgresFn>);
