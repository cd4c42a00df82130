// SqlWebhookStore: the WebhookStore methods written once for every SQL driver, as SqlCollectorStore is
// for CollectorStore (bodies in sql_webhook_store_impl.h, statements in webhook_queries.h).
//
// Internal to meta/: other modules see WebhookStore, through SqliteStore / PgStore::webhooks().
#pragma once

#include "meta/webhook_store.h"

namespace berth::meta {

template <class Pool>
class SqlWebhookStore final : public WebhookStore {
 public:
  // `pool` must be migrated to at least version 10 and outlive this store.
  explicit SqlWebhookStore(Pool& pool) : pool_(pool) {}

  Result<int64_t> add_webhook(const Webhook& hook) override;
  Result<bool> remove_webhook(const std::string& owner, int64_t id) override;
  Result<std::vector<Webhook>> list_webhooks(const std::string& owner) override;
  Result<std::vector<DueDelivery>> claim_due(int64_t now, size_t limit, int64_t claim_seconds) override;
  Status record_attempt(int64_t delivery_id, bool delivered, int64_t status, const std::string& error,
                        std::optional<int64_t> next_attempt_at, int64_t now) override;
  Result<std::vector<Delivery>> list_deliveries(int64_t webhook_id, size_t limit) override;
  Status prune(int64_t before) override;

 private:
  Pool& pool_;
};

}  // namespace berth::meta
