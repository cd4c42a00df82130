// WebhookStore: webhooks of owners and packages, and the outbox of their deliveries (docs/webhooks.md).
//
// The outbox: a push by tag, a delete and a restore of a version or a package record one package event
// in the transaction that makes the change (meta/webhook_events_impl.h), with one delivery row per
// webhook subscribed to it — so an event is never lost to a crash between the change and its
// announcement, and none is announced for a change that rolled back. hooks/Deliverer then claims due
// deliveries (a claim is a row update: in a fleet, one node sends each), POSTs them, and records the
// outcome or the next attempt.
//
// Contract as MetadataStore's: thread safe, nullopt/false for absent, times in Unix seconds.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::meta {

// What webhooks subscribe to, as stored and as named in `berth admin webhook add --events`.
inline constexpr const char* kWebhookEvents[] = {"push", "delete", "restore"};

struct Webhook {
  int64_t id = 0;
  std::string owner;
  std::optional<std::string> package;  // the whole name; unset: every package of the owner
  std::string url;
  std::string secret;                  // the HMAC key; never logged, never shown back
  std::vector<std::string> events;     // a subset of kWebhookEvents
  bool active = true;
  int64_t created_at = 0;
  std::string created_by;
};

// A change to a package, as recorded with it.
struct PackageEvent {
  int64_t id = 0;
  std::string owner;
  std::string package;    // whole name
  std::string action;     // published | deleted | restored
  std::string digest;     // the version's top-level manifest ("" for a whole package)
  std::vector<std::string> tags;
  int64_t version_id = 0;  // 0 for a whole package
  int64_t at = 0;
};

enum class DeliveryState : int64_t { pending = 0, delivered = 1, failed = 2 };

struct Delivery {
  int64_t id = 0;
  int64_t webhook_id = 0;
  int64_t event_id = 0;
  std::string action;
  std::string guid;  // X-GitHub-Delivery, the same on every attempt
  DeliveryState state = DeliveryState::pending;
  int64_t attempts = 0;
  int64_t next_attempt_at = 0;
  int64_t last_status = 0;  // HTTP status of the last attempt (0: no answer)
  std::string last_error;
  int64_t created_at = 0;
  int64_t delivered_at = 0;  // 0 until delivered
};

// A delivery claimed for sending, with what it needs.
struct DueDelivery {
  Delivery delivery;
  Webhook hook;
  PackageEvent event;
};

class WebhookStore {
 public:
  virtual ~WebhookStore() = default;

  // The URL must be http(s); events a non-empty subset of kWebhookEvents (invalid_argument otherwise).
  virtual Result<int64_t> add_webhook(const Webhook& hook) = 0;
  // false when the owner has no webhook with this id. Its pending deliveries go with it.
  virtual Result<bool> remove_webhook(const std::string& owner, int64_t id) = 0;
  // The owner's webhooks and those of its packages, oldest first.
  virtual Result<std::vector<Webhook>> list_webhooks(const std::string& owner) = 0;

  // Claims up to `limit` pending deliveries due at `now` that no one holds a claim on, for
  // `claim_seconds` (a sender that dies leaves them to be claimed again then).
  virtual Result<std::vector<DueDelivery>> claim_due(int64_t now, size_t limit, int64_t claim_seconds) = 0;
  // The outcome of one attempt: delivered; or a failure with the next attempt's time (nullopt: give up).
  virtual Status record_attempt(int64_t delivery_id, bool delivered, int64_t status, const std::string& error,
                                std::optional<int64_t> next_attempt_at, int64_t now) = 0;
  // The newest deliveries of a webhook, newest first.
  virtual Result<std::vector<Delivery>> list_deliveries(int64_t webhook_id, size_t limit) = 0;
  // Forgets settled deliveries (delivered or given up) created before `before`, and events none needs.
  virtual Status prune(int64_t before) = 0;
};

}  // namespace berth::meta
