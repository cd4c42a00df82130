#include "meta/pg_store.h"

#include "meta/migrations.h"
#include "meta/pg_db.h"
#include "meta/pg_identity_store.h"
#include "meta/sql_collector_store_impl.h"
#include "meta/sql_webhook_store_impl.h"
#include "meta/sql_metadata_store_impl.h"
#include "meta/sql_package_policies_impl.h"
#include "meta/sql_package_store_impl.h"

// What is PostgreSQL's own: the URL, the pool, and how migrations run across a fleet. The MetadataStore
// methods are SqlMetadataStore's (sql_metadata_store_impl.h), running through pg::transact, whose retry
// rules (pg_db.h) are the other difference from SQLite.

namespace berth::meta {

template class SqlMetadataStore<pg::Pool>;
template class SqlPackageStore<pg::Pool>;
template class SqlCollectorStore<pg::Pool>;
template class SqlWebhookStore<pg::Pool>;

using pg::Connection;

namespace {

// Each registry node keeps at most this many server backends busy.
constexpr size_t kMaxConnections = 16;
// pg_advisory_xact_lock key serializing migrations across every process opening the database
// ("berth" in ASCII). Advisory locks are per database, so unrelated databases do not contend.
constexpr int64_t kMigrationLockKey = 0x6265727468;

// All pending migrations in one transaction that first takes the migration lock: concurrent openers
// queue on the lock and then find the work done. Even CREATE TABLE IF NOT EXISTS needs the lock, since
// two sessions creating the same table at once make one fail on a catalog unique index.
Status apply_migrations(Connection& c) {
  BERTH_RETURN_IF_ERROR(c.exec("BEGIN"));
  Status s = [&]() -> Status {
    BERTH_RETURN_IF_ERROR(c.exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLockKey) + ")"));
    BERTH_RETURN_IF_ERROR(c.exec(std::string(kSchemaMigrationsTable)));
    for (const Migration& m : migrations()) {
      BERTH_RETURN_IF_ERROR(store_detail::apply_migration(c, m, Dialect::postgres));
    }
    return Status::Ok();
  }();
  if (s.ok()) s = c.exec("COMMIT");
  if (!s.ok() && !c.broken() && c.in_transaction()) (void)c.exec("ROLLBACK");
  return s;
}

}  // namespace

struct PgStore::Impl {
  // The identity side runs on the same pool, through the same pg::transact: one pool, one retry policy
  // for both interfaces.
  explicit Impl(pg::Endpoint endpoint) : pool(std::move(endpoint), kMaxConnections), identity(pool), packages(pool), collector(pool), webhooks(pool) {}

  pg::Pool pool;
  PgIdentityStore identity;  // runs on `pool`: declared after it, so destroyed before it
  SqlPackageStore<pg::Pool> packages;
  SqlCollectorStore<pg::Pool> collector;
  SqlWebhookStore<pg::Pool> webhooks;
};

// The base runs on impl->pool, which lives on the heap: moving the pointer into impl_ does not move it.
PgStore::PgStore(std::unique_ptr<Impl> impl) : SqlMetadataStore(impl->pool), impl_(std::move(impl)) {}
PgStore::~PgStore() = default;

IdentityStore& PgStore::identity() { return impl_->identity; }
PackageStore& PgStore::packages() { return impl_->packages; }
CollectorStore& PgStore::collector() { return impl_->collector; }
WebhookStore& PgStore::webhooks() { return impl_->webhooks; }

Result<std::unique_ptr<PgStore>> PgStore::open(const std::string& url) {
  auto endpoint = pg::Endpoint::parse(url);
  if (!endpoint.ok()) return endpoint.status();
  // The pool owns the endpoint the connections point at: create it first, then the first connection.
  auto impl = std::make_unique<Impl>(std::move(*endpoint));
  auto conn = Connection::open(impl->pool.endpoint());
  if (!conn.ok()) return conn.status();
  BERTH_RETURN_IF_ERROR(apply_migrations(**conn));
  impl->pool.add(std::move(*conn));
  auto built = impl->packages.build_missing_versions();
  if (!built.ok()) return Status(built.status().code(), "building package versions: " + built.status().message());
  return std::unique_ptr<PgStore>(new PgStore(std::move(impl)));
}

}  // namespace berth::meta
