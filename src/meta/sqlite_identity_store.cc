#include "meta/sqlite_identity_store.h"

#include "meta/sql_identity_store_impl.h"
#include "meta/sqlite_db.h"

namespace berth::meta {

// The method bodies, over sqlite::transact. Audit ids need no extra care: SQLite's single writer
// commits them in the order it draws them.
template class SqlIdentityStore<sqlite::Pool>;

}  // namespace berth::meta
