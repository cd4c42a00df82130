// Deliverer: sends the webhooks' due deliveries from the metadata store's outbox (meta/webhook_store.h),
// one POST each, signed, and records each outcome: delivered on a 2xx answer; otherwise attempted again
// after a delay that doubles (first_retry_seconds, 2×, 4×, … at most max_retry_seconds) until
// max_attempts, then given up (and kept in the delivery log). A claim keeps other senders of a fleet off
// a delivery while it is sent; a sender that dies mid-send leaves it to be claimed again once the claim
// expires, so a receiver may see a delivery twice (same X-GitHub-Delivery), never zero times.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "common/status.h"
#include "meta/webhook_store.h"

namespace berth::hooks {

struct DelivererOptions {
  std::string origin = "http://localhost:5000";  // how clients reach the registry, for payload URLs
  int64_t first_retry_seconds = 10;
  int64_t max_retry_seconds = 3600;
  int max_attempts = 8;
  size_t batch = 32;               // deliveries claimed per run
  int64_t timeout_seconds = 10;    // per POST: connect, send and answer
  int64_t keep_seconds = 30 * 86400;  // settled deliveries are forgotten after this
};

class Deliverer {
 public:
  using Clock = std::function<int64_t()>;
  Deliverer(meta::WebhookStore& store, DelivererOptions options, Clock clock = {});

  // Claims what is due and sends it. Returns the number of deliveries attempted.
  Result<size_t> run_once();

 private:
  int64_t now() const;

  meta::WebhookStore& store_;
  DelivererOptions options_;
  Clock clock_;
  int64_t last_prune_ = 0;
};

}  // namespace berth::hooks
