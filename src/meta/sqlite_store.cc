#include "meta/sqlite_store.h"

#include "meta/migrations.h"
#include "meta/queries.h"
#include "meta/sql_collector_store_impl.h"
#include "meta/sql_webhook_store_impl.h"
#include "meta/sql_metadata_store_impl.h"
#include "meta/sql_package_policies_impl.h"
#include "meta/sql_package_store_impl.h"
#include "meta/sqlite_db.h"
#include "meta/sqlite_identity_store.h"

// What is SQLite's own: the file, the pool, and how migrations run. The MetadataStore methods are
// SqlMetadataStore's (sql_metadata_store_impl.h), running through sqlite::transact.

namespace berth::meta {

template class SqlMetadataStore<sqlite::Pool>;
template class SqlPackageStore<sqlite::Pool>;
template class SqlCollectorStore<sqlite::Pool>;
template class SqlWebhookStore<sqlite::Pool>;

using sqlite::Connection;

namespace {

// SQLite serializes writers anyway; more connections only help concurrent readers.
constexpr size_t kMaxConnections = 16;

Status apply_migrations(Connection& c) {
  BERTH_RETURN_IF_ERROR(c.exec(std::string(kSchemaMigrationsTable)));
  for (const Migration& m : migrations()) {
    // The check and the change share one write transaction, so two processes opening the same new
    // file cannot both apply a migration.
    BERTH_RETURN_IF_ERROR(c.exec("BEGIN IMMEDIATE"));
    Status s = store_detail::apply_migration(c, m, Dialect::sqlite);
    if (s.ok()) s = c.exec("COMMIT");
    if (!s.ok()) {
      if (c.in_transaction()) (void)c.exec("ROLLBACK");
      return s;
    }
  }
  return Status::Ok();
}

}  // namespace

struct SqliteStore::Impl {
  explicit Impl(const std::filesystem::path& file) : pool(file, kMaxConnections), identity(pool), packages(pool), collector(pool), webhooks(pool) {}

  sqlite::Pool pool;
  SqliteIdentityStore identity;  // over the same pool: declared after it, so destroyed before it
  SqlPackageStore<sqlite::Pool> packages;
  SqlCollectorStore<sqlite::Pool> collector;
  SqlWebhookStore<sqlite::Pool> webhooks;
};

// The base runs on impl->pool, which lives on the heap: moving the pointer into impl_ does not move it.
SqliteStore::SqliteStore(std::unique_ptr<Impl> impl) : SqlMetadataStore(impl->pool), impl_(std::move(impl)) {}
SqliteStore::~SqliteStore() = default;

IdentityStore& SqliteStore::identity() { return impl_->identity; }
PackageStore& SqliteStore::packages() { return impl_->packages; }
CollectorStore& SqliteStore::collector() { return impl_->collector; }
WebhookStore& SqliteStore::webhooks() { return impl_->webhooks; }

Result<std::unique_ptr<SqliteStore>> SqliteStore::open(const std::filesystem::path& file) {
  auto conn = Connection::open(file);
  if (!conn.ok()) return conn.status();
  BERTH_RETURN_IF_ERROR(apply_migrations(**conn));
  auto impl = std::make_unique<Impl>(file);
  impl->pool.add(std::move(*conn));
  auto built = impl->packages.build_missing_versions();
  if (!built.ok()) return Status(built.status().code(), "building package versions: " + built.status().message());
  return std::unique_ptr<SqliteStore>(new SqliteStore(std::move(impl)));
}

}  // namespace berth::meta
