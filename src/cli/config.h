// Configuration of `berth serve`: defaults, then the YAML file, then BERTH_* environment variables,
// then command-line flags (each overriding the one before). See docs/configuration.md.
#pragma once

#include <cstdint>
#include <string>

#include "common/status.h"

namespace berth::cli {

struct Config {
  std::string listen = "127.0.0.1:5000";
  std::string data = "./data";
  std::string tls_cert;
  std::string tls_key;
  unsigned io_threads = 0;  // 0: one per core
  unsigned blocking_threads = 8;
  size_t header_limit_bytes = 64 * 1024;
  size_t max_manifest_bytes = 4 * 1024 * 1024;
  int idle_timeout_seconds = 120;
  int header_timeout_seconds = 30;
  int shutdown_grace_seconds = 30;
  int64_t upload_expire_after_seconds = 24 * 3600;
  int upload_sweep_interval_seconds = 600;
  std::string log_level = "info";
  bool access_log = true;
};

// Reads the YAML file (an empty path means none) over the defaults. Errors name the file and the key.
Result<Config> load_config_file(const std::string& path);
// Applies BERTH_LISTEN, BERTH_DATA, BERTH_TLS_CERT, BERTH_TLS_KEY, BERTH_IO_THREADS, BERTH_LOG_LEVEL,
// BERTH_ACCESS_LOG, BERTH_UPLOAD_EXPIRE_AFTER_SECONDS, BERTH_UPLOAD_SWEEP_SECONDS.
Status apply_environment(Config& config);

// "host:port" or "[v6]:port".
Status split_listen(const std::string& listen, std::string& host, uint16_t& port);

}  // namespace berth::cli
