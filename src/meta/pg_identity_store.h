// PgIdentityStore: IdentityStore on the PostgreSQL database of a PgStore, so that every node of a fleet
// sees the same users, orgs, tokens, package roles and audit log.
//
// Not opened on its own: PgStore owns one (PgStore::identity()) over PgStore's connection pool, running
// its work through the same pg::transact retry loop, so both interfaces share one set of connections,
// one schema version and one retry policy, and a repository created through either is the same row.
// The methods are SqlIdentityStore's, shared with SqliteIdentityStore, except record_audit.
#pragma once

#include "meta/sql_identity_store.h"

namespace berth::meta {

namespace pg {
class Pool;
}

extern template class SqlIdentityStore<pg::Pool>;  // instantiated in pg_identity_store.cc

class PgIdentityStore final : public SqlIdentityStore<pg::Pool> {
 public:
  // `pool` must be migrated to at least version 2 and outlive this store.
  explicit PgIdentityStore(pg::Pool& pool) : SqlIdentityStore(pool) {}

  // Audit ids become visible in increasing order across the fleet (see the .cc), so a reader paging
  // with after_id never skips an event that commits late.
  Status record_audit(const AuditEvent& event) override;
};

}  // namespace berth::meta
