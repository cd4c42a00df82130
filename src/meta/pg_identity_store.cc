#include "meta/pg_identity_store.h"

#include "meta/pg_db.h"
#include "meta/sql_identity_store_impl.h"

namespace berth::meta {

// The method bodies, over pg::transact.
template class SqlIdentityStore<pg::Pool>;

namespace {

// pg_advisory_xact_lock key serializing audit inserts across the fleet ("audit" in ASCII); distinct
// from PgStore's migration lock key, which shares the same per-database key space.
constexpr int64_t kAuditLockKey = 0x6175646974;

}  // namespace

Status PgIdentityStore::record_audit(const AuditEvent& event) {
  return pg::transact(pool(), true, [&](pg::Connection& c) -> Status {
    // Readers page by id ("after_id"), which is only safe if no event ever becomes visible after one
    // with a higher id. Identity ids are drawn at INSERT and committed whenever each node's transaction
    // ends, so two nodes inserting at once could commit out of order and a tailing reader would skip
    // the late one for good. Holding this lock from before the id is drawn until COMMIT (PostgreSQL
    // releases it only once the commit is visible) makes id order the visibility order, at the price
    // of serializing audit inserts; SQLite's single writer gives the same guarantee for free.
    {
      META_TRY(lock, c.prepare("SELECT 1 FROM pg_advisory_xact_lock(?)"));
      BERTH_RETURN_IF_ERROR(lock.bind(1, kAuditLockKey).run());
    }
    return identity_detail::insert_audit(c, event);
  });
}

}  // namespace berth::meta
