// The bodies of SqlWebhookStore's methods, for the driver .cc files that instantiate it. Every
// transaction body may run more than once (the drivers retry), so each resets what it outputs.
//
// Internal to meta/.
#pragma once

#include <algorithm>
#include <string>
#include <string_view>
#include <utility>

#include "meta/sql_common.h"
#include "meta/sql_rows.h"
#include "meta/sql_webhook_store.h"
#include "meta/webhook_events_impl.h"
#include "meta/webhook_queries.h"

namespace berth::meta {
namespace webhook_detail {

// Row readers are generic lambdas, as identity's are, so that sql::collect and one() take them without
// naming the driver's Stmt type.
inline constexpr auto webhook_row = [](const auto& st) {
  Webhook w;
  w.id = st.column_int64(0);
  w.owner = st.column_text(1);
  if (!st.column_is_null(2)) w.package = st.column_text(2);
  w.url = st.column_text(3);
  w.secret = st.column_text(4);
  w.events = webhook_events::split(st.column_text(5));
  w.active = st.column_int64(6) != 0;
  w.created_at = st.column_int64(7);
  w.created_by = st.column_text(8);
  return w;
};

inline constexpr auto delivery_row = [](const auto& st) {
  Delivery d;
  d.id = st.column_int64(0);
  d.webhook_id = st.column_int64(1);
  d.event_id = st.column_int64(2);
  d.action = st.column_text(3);
  d.guid = st.column_text(4);
  d.state = static_cast<DeliveryState>(st.column_int64(5));
  d.attempts = st.column_int64(6);
  d.next_attempt_at = st.column_int64(7);
  d.last_status = st.column_int64(8);
  d.last_error = st.column_text(9);
  d.created_at = st.column_int64(10);
  d.delivered_at = st.column_int64(11);
  return d;
};

inline constexpr auto event_row = [](const auto& st) {
  return PackageEvent{st.column_int64(0), st.column_text(1), st.column_text(2), st.column_text(3), st.column_text(4),
                      webhook_events::split(st.column_text(5)), st.column_int64(6), st.column_int64(7)};
};

// The first row read by `read` (webhook_row, delivery_row); nullopt when there is none.
template <class Row, class Connection, class Read, class... Args>
Result<std::optional<Row>> one(Connection& c, std::string_view query, Read&& read, const Args&... args) {
  META_TRY(st, c.prepare(query));
  sql::bind_all(st, 1, args...);
  META_TRY(row, st.step());
  if (!row) return std::optional<Row>();
  return std::optional<Row>(read(st));
}

inline bool valid_events(const std::vector<std::string>& events) {
  if (events.empty()) return false;
  for (const auto& e : events) {
    if (std::none_of(std::begin(kWebhookEvents), std::end(kWebhookEvents), [&](const char* k) { return e == k; })) {
      return false;
    }
  }
  return true;
}

}  // namespace webhook_detail

template <class Pool>
Result<int64_t> SqlWebhookStore<Pool>::add_webhook(const Webhook& hook) {
  if (!hook.url.starts_with("http://") && !hook.url.starts_with("https://")) {
    return Status(Errc::invalid_argument, "a webhook URL starts with http:// or https://");
  }
  if (!webhook_detail::valid_events(hook.events)) {
    return Status(Errc::invalid_argument, "a webhook takes one or more of the events push, delete, restore");
  }
  if (hook.secret.empty()) return Status(Errc::invalid_argument, "a webhook needs a secret to sign its deliveries");
  int64_t id = 0;
  BERTH_RETURN_IF_ERROR(transact(pool_, true, [&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kInsertWebhook));
    st.bind(1, hook.owner).bind_optional(2, hook.package).bind(3, hook.url).bind(4, hook.secret);
    st.bind(5, webhook_events::join(hook.events)).bind(6, hook.created_at).bind(7, hook.created_by);
    META_TRY(row, st.step());
    if (!row) return Status(Errc::internal, "webhook insert returned no id");
    id = st.column_int64(0);
    return Status::Ok();
  }));
  return id;
}

template <class Pool>
Result<bool> SqlWebhookStore<Pool>::remove_webhook(const std::string& owner, int64_t id) {
  bool removed = false;
  BERTH_RETURN_IF_ERROR(transact(pool_, true, [&](auto& c) -> Status {
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kDeleteWebhook, owner, id));
    removed = c.changes() > 0;
    if (removed) BERTH_RETURN_IF_ERROR(sql::run(c, sql::kDeleteDeliveriesOf, id));
    return Status::Ok();
  }));
  return removed;
}

template <class Pool>
Result<std::vector<Webhook>> SqlWebhookStore<Pool>::list_webhooks(const std::string& owner) {
  std::vector<Webhook> out;
  BERTH_RETURN_IF_ERROR(transact(pool_, false, [&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kListWebhooks));
    st.bind(1, owner);
    return sql::collect(st, out, webhook_detail::webhook_row);
  }));
  return out;
}

template <class Pool>
Result<std::vector<DueDelivery>> SqlWebhookStore<Pool>::claim_due(int64_t now, size_t limit, int64_t claim_seconds) {
  std::vector<DueDelivery> out;
  BERTH_RETURN_IF_ERROR(transact(pool_, true, [&](auto& c) -> Status {
    out.clear();
    META_TRY(due, sql::ints(c, sql::kDueDeliveries, now, now, sql::to_sql(limit)));
    for (int64_t id : due) {
      BERTH_RETURN_IF_ERROR(sql::run(c, sql::kClaimDelivery, now + claim_seconds, id, now));
      if (c.changes() == 0) continue;  // another sender claimed it first
      META_TRY(delivery, webhook_detail::one<Delivery>(c, sql::kDeliveryById, webhook_detail::delivery_row, id));
      if (!delivery) continue;
      META_TRY(hook, webhook_detail::one<Webhook>(c, sql::kWebhookById, webhook_detail::webhook_row, delivery->webhook_id));
      if (!hook) continue;
      META_TRY(event, webhook_detail::one<PackageEvent>(c, sql::kPackageEventById, webhook_detail::event_row,
                                                        delivery->event_id));
      if (!event) continue;
      out.push_back(DueDelivery{std::move(*delivery), std::move(*hook), std::move(*event)});
    }
    return Status::Ok();
  }));
  return out;
}

template <class Pool>
Status SqlWebhookStore<Pool>::record_attempt(int64_t delivery_id, bool delivered, int64_t status,
                                             const std::string& error, std::optional<int64_t> next_attempt_at,
                                             int64_t now) {
  const DeliveryState state = delivered           ? DeliveryState::delivered
                              : next_attempt_at   ? DeliveryState::pending
                                                  : DeliveryState::failed;
  return transact(pool_, true, [&](auto& c) {
    return sql::run(c, sql::kRecordAttempt, static_cast<int64_t>(state), status, error, next_attempt_at.value_or(now),
                    delivered ? now : int64_t{0}, delivery_id);
  });
}

template <class Pool>
Result<std::vector<Delivery>> SqlWebhookStore<Pool>::list_deliveries(int64_t webhook_id, size_t limit) {
  std::vector<Delivery> out;
  BERTH_RETURN_IF_ERROR(transact(pool_, false, [&](auto& c) -> Status {
    META_TRY(st, c.prepare(sql::kDeliveriesOf));
    st.bind(1, webhook_id).bind(2, sql::to_sql(limit));
    return sql::collect(st, out, webhook_detail::delivery_row);
  }));
  return out;
}

template <class Pool>
Status SqlWebhookStore<Pool>::prune(int64_t before) {
  return transact(pool_, true, [&](auto& c) -> Status {
    BERTH_RETURN_IF_ERROR(sql::run(c, sql::kPruneDeliveries, before));
    return sql::run(c, sql::kPruneEvents, before);
  });
}

}  // namespace berth::meta
