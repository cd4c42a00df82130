#include "cli/backends.h"

#include <unistd.h>

#include <filesystem>

#include "meta/pg_store.h"
#include "meta/sqlite_store.h"
#include "storage/fs_blob_store.h"
#include "storage/s3_blob_store.h"

namespace berth::cli {

Result<Backends> open_metadata(const Config& config) {
  Backends b;
  if (config.metadata == "postgres") {
    auto store = meta::PgStore::open(config.postgres_url);
    if (!store.ok()) return Status(store.status().code(), "metadata (postgres): " + store.status().message());
    b.identity = &(*store)->identity();
    b.metadata = std::move(*store);
  } else {
    std::error_code ec;
    std::filesystem::create_directories(config.data, ec);
    if (ec) return Status(Errc::io_error, "cannot create data directory " + config.data + ": " + ec.message());
    auto store = meta::SqliteStore::open(std::filesystem::path(config.data) / "berth.db");
    if (!store.ok()) return Status(store.status().code(), "metadata (sqlite): " + store.status().message());
    b.identity = &(*store)->identity();
    b.metadata = std::move(*store);
  }
  return b;
}

Result<Backends> open_backends(const Config& config) {
  auto opened = open_metadata(config);
  if (!opened.ok()) return opened.status();
  Backends b = std::move(*opened);
  std::function<bool()> blobs_ready;
  if (config.storage == "s3") {
    storage::S3Options o;
    o.endpoint = config.s3.endpoint;
    o.region = config.s3.region;
    o.bucket = config.s3.bucket;
    o.access_key = config.s3.access_key;
    o.secret_key = config.s3.secret_key;
    o.prefix = config.s3.prefix;
    o.ca_file = config.s3.ca_file;
    o.path_style = config.s3.path_style;
    o.verify_tls = config.s3.verify_tls;
    o.part_size = config.s3.part_size_bytes;
    auto store = storage::S3BlobStore::open(o);
    if (!store.ok()) return Status(store.status().code(), "storage (s3): " + store.status().message());
    if (Status s = (*store)->check(); !s.ok()) {
      return Status(s.code(), "storage (s3): bucket " + config.s3.bucket + " at " + config.s3.endpoint + ": " + s.message());
    }
    auto* s3 = store->get();
    blobs_ready = [s3] { return s3->check().ok(); };
    b.blobs = std::move(*store);
  } else {
    auto root = std::filesystem::path(config.data) / "blobs";
    auto store = storage::FsBlobStore::open(root);
    if (!store.ok()) return Status(store.status().code(), "storage (filesystem): " + store.status().message());
    blobs_ready = [root] { return ::access(root.c_str(), W_OK) == 0; };
    b.blobs = std::move(*store);
  }
  auto* metadata = b.metadata.get();
  b.ready = [metadata, blobs_ready] {
    return metadata->repository_exists("readiness-probe").ok() && blobs_ready();
  };
  return b;
}

}  // namespace berth::cli
