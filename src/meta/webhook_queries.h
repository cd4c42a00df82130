// The statements of webhooks and their outbox (migration 10), shared by both drivers.
//
// Internal to meta/.
#pragma once

#include <string_view>

namespace berth::meta::sql {

// The webhooks a change to the package `repository_id` reaches (one indexed read when the owner has none),
// with the package's name.
inline constexpr std::string_view kHooksForPackage =
    "SELECT w.id, w.events, r.name FROM webhook w JOIN repository r ON r.id = ? "
    "WHERE w.owner = ? AND w.active = 1 AND (w.package IS NULL OR w.package = r.name) ORDER BY w.id";
inline constexpr std::string_view kInsertPackageEvent =
    "INSERT INTO package_event (owner, package, action, digest, tags, version_id, at) VALUES (?, ?, ?, ?, ?, ?, ?) "
    "RETURNING id";
inline constexpr std::string_view kInsertDelivery =
    "INSERT INTO webhook_delivery (webhook_id, event_id, guid, next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?)";

inline constexpr std::string_view kInsertWebhook =
    "INSERT INTO webhook (owner, package, url, secret, events, active, created_at, created_by) "
    "VALUES (?, ?, ?, ?, ?, 1, ?, ?) RETURNING id";
inline constexpr std::string_view kDeleteWebhook = "DELETE FROM webhook WHERE owner = ? AND id = ?";
inline constexpr std::string_view kDeleteDeliveriesOf = "DELETE FROM webhook_delivery WHERE webhook_id = ?";
#define BERTH_META_WEBHOOK "SELECT id, owner, package, url, secret, events, active, created_at, created_by FROM webhook "
inline constexpr std::string_view kListWebhooks = BERTH_META_WEBHOOK "WHERE owner = ? ORDER BY id";
inline constexpr std::string_view kWebhookById = BERTH_META_WEBHOOK "WHERE id = ?";
#undef BERTH_META_WEBHOOK

inline constexpr std::string_view kDueDeliveries =
    "SELECT id FROM webhook_delivery WHERE state = 0 AND next_attempt_at <= ? AND claimed_until <= ? "
    "ORDER BY next_attempt_at, id LIMIT ?";
// A claim is won by the one update that still finds the row unclaimed.
inline constexpr std::string_view kClaimDelivery =
    "UPDATE webhook_delivery SET claimed_until = ? WHERE id = ? AND state = 0 AND claimed_until <= ?";
#define BERTH_META_DELIVERY                                                                                   \
  "SELECT d.id, d.webhook_id, d.event_id, e.action, d.guid, d.state, d.attempts, d.next_attempt_at, "        \
  "d.last_status, d.last_error, d.created_at, d.delivered_at FROM webhook_delivery d "                        \
  "JOIN package_event e ON e.id = d.event_id "
inline constexpr std::string_view kDeliveryById = BERTH_META_DELIVERY "WHERE d.id = ?";
inline constexpr std::string_view kDeliveriesOf = BERTH_META_DELIVERY "WHERE d.webhook_id = ? ORDER BY d.id DESC LIMIT ?";
#undef BERTH_META_DELIVERY
inline constexpr std::string_view kPackageEventById =
    "SELECT id, owner, package, action, digest, tags, version_id, at FROM package_event WHERE id = ?";
inline constexpr std::string_view kRecordAttempt =
    "UPDATE webhook_delivery SET attempts = attempts + 1, state = ?, last_status = ?, last_error = ?, "
    "next_attempt_at = ?, claimed_until = 0, delivered_at = ? WHERE id = ?";

// Settled deliveries past their keeping time, then events no delivery needs any more.
inline constexpr std::string_view kPruneDeliveries = "DELETE FROM webhook_delivery WHERE state <> 0 AND created_at < ?";
inline constexpr std::string_view kPruneEvents =
    "DELETE FROM package_event WHERE at < ? AND NOT EXISTS "
    "(SELECT 1 FROM webhook_delivery d WHERE d.event_id = package_event.id)";

}  // namespace berth::meta::sql
