// The fleet drivers as loadable modules. The PostgreSQL metadata driver (libpq) and the S3 blob driver
// (libcurl) are built as berth-postgres.so and berth-s3.so beside the `berth` binary, and loaded only
// when the configuration names them: a single node then maps neither libpq nor libcurl nor the ~40
// libraries they bring (LDAP, Kerberos, GnuTLS, p11-kit, libssh2, …), which is most of its memory.
//
// Each module exports one extern "C" entry point with the signature below. Module and binary are built
// from the same tree by the same compiler, so C++ types cross the boundary; the module keeps its own
// copies of the static libraries it links (their symbols are hidden with --exclude-libs), and it is never
// unloaded, so objects it made may live until exit.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "common/status.h"
#include "meta/collector_store.h"
#include "meta/identity_store.h"
#include "meta/metadata_store.h"
#include "meta/package_store.h"
#include "meta/webhook_store.h"
#include "storage/blob_store.h"
#include "storage/s3_client.h"

namespace berth::cli::modules {

struct OpenedMetadata {
  std::unique_ptr<meta::MetadataStore> store;
  meta::IdentityStore* identity = nullptr;  // owned by `store`
  meta::PackageStore* packages = nullptr;   // owned by `store`
  meta::CollectorStore* collector = nullptr;  // owned by `store`
  meta::WebhookStore* webhooks = nullptr;     // owned by `store`
};

struct OpenedBlobs {
  std::unique_ptr<storage::BlobStore> store;
  std::function<Status()> check;  // the backend answers (for startup and /readyz)
};

using OpenPostgresFn = Result<OpenedMetadata>(const std::string& url);
using OpenS3Fn = Result<OpenedBlobs>(const storage::S3Options& options);

inline constexpr const char* kPostgresModule = "berth-postgres.so";
inline constexpr const char* kPostgresEntry = "berth_open_postgres";
inline constexpr const char* kS3Module = "berth-s3.so";
inline constexpr const char* kS3Entry = "berth_open_s3";

}  // namespace berth::cli::modules
