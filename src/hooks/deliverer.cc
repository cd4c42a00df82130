#include "hooks/deliverer.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <ctime>

#include "hooks/payload.h"
#include "http/client.h"

namespace berth::hooks {

Deliverer::Deliverer(meta::WebhookStore& store, DelivererOptions options, Clock clock)
    : store_(store), options_(std::move(options)), clock_(std::move(clock)) {}

int64_t Deliverer::now() const { return clock_ ? clock_() : static_cast<int64_t>(std::time(nullptr)); }

Result<size_t> Deliverer::run_once() {
  const int64_t start = now();
  if (start - last_prune_ > 3600) {
    if (Status s = store_.prune(start - options_.keep_seconds); !s.ok()) spdlog::warn("webhooks: prune: {}", s.message());
    last_prune_ = start;
  }
  // The claim outlasts every attempt of the batch.
  const int64_t claim = options_.timeout_seconds * 2 * static_cast<int64_t>(options_.batch) + 60;
  auto due = store_.claim_due(start, options_.batch, claim);
  if (!due.ok()) return due.status();
  for (const auto& d : *due) {
    const std::string body = payload(d.event, d.hook, options_.origin);
    const std::vector<std::pair<std::string, std::string>> headers = {
        {"Content-Type", "application/json"},
        {"User-Agent", "Berth-Hookshot/1"},
        {"X-GitHub-Event", std::string(kEventName)},
        {"X-GitHub-Delivery", d.delivery.guid},
        {"X-GitHub-Hook-ID", std::to_string(d.hook.id)},
        {"X-Hub-Signature-256", signature(d.hook.secret, body)}};
    // http/client.h: a deadline on every step; the receiver's answer is not kept, its status is the outcome.
    auto answer = http::fetch(http::ClientRequest{"POST", d.hook.url, headers, body, options_.timeout_seconds, {}},
                              [](const char*, size_t) { return Status::Ok(); });
    const int status = answer.ok() ? answer->status : 0;
    const bool delivered = status >= 200 && status < 300;
    std::optional<int64_t> next;
    const int64_t attempts = d.delivery.attempts + 1;
    if (!delivered && attempts < options_.max_attempts) {
      int64_t delay = options_.first_retry_seconds;
      for (int64_t i = 1; i < attempts && delay < options_.max_retry_seconds; ++i) delay *= 2;
      next = now() + std::min(delay, options_.max_retry_seconds);
    }
    const std::string error = !answer.ok() ? answer.status().message()
                              : delivered   ? std::string()
                                            : "answered " + std::to_string(status);
    if (!delivered) {
      // The URL is the receiver's, not a secret; the body and the signature are never logged.
      spdlog::info("webhooks: delivery {} of hook {} to {}: {}{}", d.delivery.id, d.hook.id, d.hook.url, error,
                   next ? "; trying again later" : "; giving up");
    }
    if (Status s = store_.record_attempt(d.delivery.id, delivered, status, error, next, now()); !s.ok()) {
      return s;
    }
  }
  return due->size();
}

}  // namespace berth::hooks
