#include "cli/backends.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "cli/modules/driver_module.h"
#include "meta/sqlite_store.h"
#include "storage/fs_blob_store.h"

namespace berth::cli {
namespace {

// Where the driver modules are: only $BERTH_MODULE_DIR when it is set; otherwise beside the binary (the
// build tree), then <prefix>/lib/berth for a binary installed in <prefix>/bin.
std::vector<std::filesystem::path> module_dirs() {
  if (const char* dir = std::getenv("BERTH_MODULE_DIR"); dir && *dir) return {dir};
  std::vector<std::filesystem::path> dirs;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    dirs.push_back(exe.parent_path());
    dirs.push_back(exe.parent_path().parent_path() / "lib" / "berth");
  }
  return dirs;
}

// Loads `module` (once; never unloaded) and returns its entry point.
template <typename Fn>
Result<Fn*> load_entry(const char* module, const char* entry) {
  std::string tried;
  for (const auto& dir : module_dirs()) {
    auto path = dir / module;
    if (::access(path.c_str(), R_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + path.string();
      continue;
    }
    void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle) return Status(Errc::unavailable, "cannot load driver module " + path.string() + ": " + ::dlerror());
    void* symbol = ::dlsym(handle, entry);
    if (!symbol) return Status(Errc::unavailable, "driver module " + path.string() + " has no " + entry);
    return reinterpret_cast<Fn*>(symbol);
  }
  return Status(Errc::unavailable, std::string("driver module ") + module + " not found (looked for " + tried +
                                       "; BERTH_MODULE_DIR names the directory that holds it)");
}

}  // namespace

Result<Backends> open_metadata(const Config& config) {
  Backends b;
  if (config.metadata == "postgres") {
    auto open = load_entry<modules::OpenPostgresFn>(modules::kPostgresModule, modules::kPostgresEntry);
    if (!open.ok()) return Status(open.status().code(), "metadata (postgres): " + open.status().message());
    auto opened = (**open)(config.postgres_url);
    if (!opened.ok()) return Status(opened.status().code(), "metadata (postgres): " + opened.status().message());
    b.identity = opened->identity;
    b.packages = opened->packages;
    b.collector = opened->collector;
    b.webhooks = opened->webhooks;
    b.metadata = std::move(opened->store);
  } else {
    std::error_code ec;
    std::filesystem::create_directories(config.data, ec);
    if (ec) return Status(Errc::io_error, "cannot create data directory " + config.data + ": " + ec.message());
    // A data directory or database made readable by an older version (or by hand) is closed again.
    const auto db_file = std::filesystem::path(config.data) / "berth.db";
    std::filesystem::permissions(config.data, std::filesystem::perms::owner_all, ec);
    for (const char* suffix : {"", "-wal", "-shm"}) {
      const std::filesystem::path file = db_file.string() + suffix;
      if (std::filesystem::exists(file, ec)) {
        std::filesystem::permissions(file, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write, ec);
      }
    }
    auto store = meta::SqliteStore::open(db_file);
    if (!store.ok()) return Status(store.status().code(), "metadata (sqlite): " + store.status().message());
    b.identity = &(*store)->identity();
    b.packages = &(*store)->packages();
    b.collector = &(*store)->collector();
    b.webhooks = &(*store)->webhooks();
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
    auto open = load_entry<modules::OpenS3Fn>(modules::kS3Module, modules::kS3Entry);
    if (!open.ok()) return Status(open.status().code(), "storage (s3): " + open.status().message());
    auto opened = (**open)(o);
    if (!opened.ok()) return Status(opened.status().code(), "storage (s3): " + opened.status().message());
    if (Status s = opened->check(); !s.ok()) {
      return Status(s.code(), "storage (s3): bucket " + config.s3.bucket + " at " + config.s3.endpoint + ": " + s.message());
    }
    blobs_ready = [check = opened->check] { return check().ok(); };
    b.blobs = std::move(opened->store);
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
