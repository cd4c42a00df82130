// Opens the storage and metadata backends a configuration names, with clear errors when one is
// unreachable or misconfigured, and a readiness check for /readyz.
#pragma once

#include <functional>
#include <memory>

#include "cli/config.h"
#include "meta/collector_store.h"
#include "meta/webhook_store.h"
#include "meta/identity_store.h"
#include "meta/metadata_store.h"
#include "meta/package_store.h"
#include "storage/blob_store.h"

namespace berth::cli {

struct Backends {
  std::unique_ptr<storage::BlobStore> blobs;     // null when only metadata was asked for
  std::unique_ptr<meta::MetadataStore> metadata;
  meta::IdentityStore* identity = nullptr;       // owned by `metadata`
  meta::PackageStore* packages = nullptr;        // owned by `metadata`
  meta::CollectorStore* collector = nullptr;     // owned by `metadata`
  meta::WebhookStore* webhooks = nullptr;        // owned by `metadata`
  std::function<bool()> ready;                   // every backend answers
};

// Metadata only (for `berth admin`).
Result<Backends> open_metadata(const Config& config);
// Blobs and metadata (for `berth serve`).
Result<Backends> open_backends(const Config& config);

}  // namespace berth::cli
