// berth-s3.so: the S3 blob driver behind driver_module.h's entry point.
#include "cli/modules/driver_module.h"
#include "storage/s3_blob_store.h"

using namespace berth;

extern "C" __attribute__((visibility("default"))) Result<cli::modules::OpenedBlobs> berth_open_s3(
    const storage::S3Options& options) {
  auto store = storage::S3BlobStore::open(options);
  if (!store.ok()) return store.status();
  storage::S3BlobStore* s3 = store->get();
  cli::modules::OpenedBlobs opened;
  opened.check = [s3] { return s3->check(); };
  opened.store = std::move(*store);
  return opened;
}

static_assert(std::is_same_v<decltype(berth_open_s3), cli::modules::OpenS3Fn>);
