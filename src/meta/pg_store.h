// PgStore: the MetadataStore for fleets, several registry nodes sharing one PostgreSQL database.
#pragma once

#include <memory>
#include <string>

#include "meta/collector_store.h"
#include "meta/webhook_store.h"
#include "meta/identity_store.h"
#include "meta/package_store.h"
#include "meta/sql_metadata_store.h"

namespace berth::meta {

namespace pg {
class Pool;
}

// The MetadataStore methods are SqlMetadataStore's, shared with SqliteStore; instantiated in pg_store.cc.
extern template class SqlMetadataStore<pg::Pool>;

class PgStore final : public SqlMetadataStore<pg::Pool> {
 public:
  // Connects to `url` (postgresql://user[:password]@host:port/database, or any libpq connection string)
  // and applies pending migrations. Any number of processes may open the same database at once: the
  // migrations run under a PostgreSQL advisory lock, so each is applied exactly once.
  // Errors: unavailable (naming host:port, never the password) when the server cannot be reached or
  // refuses the connection; invalid_argument for a URL libpq cannot parse; io_error when a migration fails.
  //
  // Afterwards the store keeps a pool of up to 16 connections and replaces any the server drops (a
  // restart, a terminated backend): calls made while the server is down fail with unavailable, calls
  // made after it is back succeed without the caller doing anything.
  static Result<std::unique_ptr<PgStore>> open(const std::string& url);
  ~PgStore() override;

  // The identity side of the same database (same connection pool and retries); lives as long as this.
  IdentityStore& identity();
  // The packages side (versions, deletes and restores, sizes), on the same pool; lives as long as this.
  PackageStore& packages();
  // What garbage collection and fsck use (blob states, links, the collector's lease); lives as long as this.
  CollectorStore& collector();
  // Webhooks and their outbox of deliveries; lives as long as this.
  WebhookStore& webhooks();

 private:
  struct Impl;
  explicit PgStore(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace berth::meta
