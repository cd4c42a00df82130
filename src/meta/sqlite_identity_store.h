// SqliteIdentityStore: IdentityStore on the SQLite database of a SqliteStore.
//
// Not opened on its own: SqliteStore owns one (SqliteStore::identity()) built over its connection pool,
// so both interfaces see one file, one schema version and one writer lock, and a repository created
// through either is the same row. The methods are SqlIdentityStore's, shared with PgIdentityStore:
// SQLite needs nothing of its own here.
#pragma once

#include "meta/sql_identity_store.h"

namespace berth::meta {

namespace sqlite {
class Pool;
}

extern template class SqlIdentityStore<sqlite::Pool>;  // instantiated in sqlite_identity_store.cc

class SqliteIdentityStore final : public SqlIdentityStore<sqlite::Pool> {
 public:
  // `pool` must be migrated to at least version 2 and outlive this store.
  explicit SqliteIdentityStore(sqlite::Pool& pool) : SqlIdentityStore(pool) {}
};

}  // namespace berth::meta
