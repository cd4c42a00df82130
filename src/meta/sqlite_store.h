// SqliteStore: the embedded default MetadataStore, one SQLite database file in WAL mode.
#pragma once

#include <filesystem>
#include <memory>

#include "meta/collector_store.h"
#include "meta/webhook_store.h"
#include "meta/identity_store.h"
#include "meta/package_store.h"
#include "meta/sql_metadata_store.h"

namespace berth::meta {

namespace sqlite {
class Pool;
}

// The MetadataStore methods are SqlMetadataStore's, shared with PgStore; instantiated in sqlite_store.cc.
extern template class SqlMetadataStore<sqlite::Pool>;

class SqliteStore final : public SqlMetadataStore<sqlite::Pool> {
 public:
  // Opens (creating if needed) the database and applies pending migrations.
  // Errors: io_error / unavailable when the file cannot be opened or migrated.
  static Result<std::unique_ptr<SqliteStore>> open(const std::filesystem::path& file);
  ~SqliteStore() override;

  // The identity side of the same database (same file, same connection pool); lives as long as this.
  IdentityStore& identity();
  // The packages side (versions, deletes and restores, sizes), on the same pool; lives as long as this.
  PackageStore& packages();
  // What garbage collection and fsck use (blob states, links, the collector's lease); lives as long as this.
  CollectorStore& collector();
  // Webhooks and their outbox of deliveries; lives as long as this.
  WebhookStore& webhooks();

 private:
  struct Impl;
  explicit SqliteStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::meta
