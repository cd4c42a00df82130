// Configuration of `berth serve`: defaults, then the YAML file, then BERTH_* environment variables,
// then command-line flags (each overriding the one before). See docs/configuration.md.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace berth::cli {

struct S3Config {
  std::string endpoint;  // e.g. http://127.0.0.1:7480 or https://s3.eu-west-1.amazonaws.com
  std::string region = "us-east-1";
  std::string bucket;
  std::string access_key;
  std::string secret_key;
  std::string prefix;
  std::string ca_file;
  bool path_style = true;
  bool verify_tls = true;
  uint64_t part_size_bytes = 8ull << 20;
  int64_t redirect_seconds = 0;  // > 0: blob GETs answer 307 to a presigned URL valid this long
};

struct Config {
  std::string listen = "127.0.0.1:5000";
  // How clients reach the registry (server.external_url), e.g. https://registry.example.com behind a
  // load balancer: scheme, host and optional port, no trailing slash (apply_environment validates and
  // normalises it). Empty: Berth names itself from the request's Host header and relative paths.
  std::string external_url;
  std::string data = "./data";
  std::string storage = "filesystem";  // "filesystem" (DATA/blobs) | "s3"
  S3Config s3;
  std::string metadata = "sqlite";     // "sqlite" (DATA/berth.db) | "postgres"
  std::string postgres_url;            // postgresql://user:password@host:port/db
  std::string tls_cert;
  std::string tls_key;
  std::vector<std::string> trusted_proxies;  // load balancers whose X-Forwarded-For is believed
  unsigned io_threads = 0;  // 0: one per core
  unsigned blocking_threads = 8;
  // Where requests are routed and their metadata read: "pool" (the blocking pool: a thread hop per
  // request, worth it when each read is a round trip to PostgreSQL), "io" (the I/O thread), or "auto"
  // (pool with postgres, io with sqlite).
  std::string route_requests_on = "auto";
  size_t header_limit_bytes = 64 * 1024;
  size_t max_manifest_bytes = 4 * 1024 * 1024;
  int idle_timeout_seconds = 120;
  int header_timeout_seconds = 30;
  // Connections at once; 0: the open-file limit (raised to its hard limit at start) less a reserve.
  size_t max_connections = 0;
  int shutdown_grace_seconds = 30;
  int64_t upload_expire_after_seconds = 24 * 3600;
  int upload_sweep_interval_seconds = 600;
  int64_t upload_empty_expire_after_seconds = 600;  // sessions that never received a byte
  size_t uploads_max_open_per_account = 100;        // 0: no cap
  size_t uploads_max_open_per_address = 200;
  // Deleted package versions stay restorable this long, then are purged (checked every sweep interval).
  int64_t packages_restore_window_seconds = 30 * 24 * 3600;
  // Online garbage collection (docs/lifecycle.md): a step of at most gc_step_budget rows and objects
  // every gc_interval_seconds, by whichever node holds the lease.
  bool gc_enabled = true;
  int64_t gc_grace_seconds = 3600;
  int gc_interval_seconds = 30;
  int64_t gc_pass_interval_seconds = 3600;  // a new pass starts this long after the last one ended
  // Retention policies run this often (with the background collector's thread, so only when gc.enabled).
  int64_t retention_interval_seconds = 3600;
  // Webhook deliveries (docs/webhooks.md): looked for every second; a failed one is tried again after
  // webhooks.first_retry_seconds, doubling, up to webhooks.max_attempts attempts.
  int64_t webhook_first_retry_seconds = 10;
  int webhook_max_attempts = 8;
  size_t gc_step_budget = 5000;
  std::string log_level = "info";
  bool access_log = true;
  // Authentication: on by default. Off serves everyone everything (only for trusted networks and tests).
  bool auth_enabled = true;
  std::string auth_service = "berth";
  std::string auth_realm;             // token endpoint URL in challenges; empty: from the Host header
  std::string auth_signing_key_file;  // ES256 PEM key; empty: DATA/keys/token-signing-key.pem (created)
  int64_t auth_token_ttl_seconds = 300;
  int64_t auth_revocation_check_seconds = 5;
};

// Reads the YAML file (an empty path means none) over the defaults. Errors name the file and the key.
Result<Config> load_config_file(const std::string& path);
// Applies BERTH_LISTEN, BERTH_DATA, BERTH_TLS_CERT, BERTH_TLS_KEY, BERTH_IO_THREADS, BERTH_LOG_LEVEL,
// BERTH_ACCESS_LOG, BERTH_UPLOAD_EXPIRE_AFTER_SECONDS, BERTH_UPLOAD_SWEEP_SECONDS,
// BERTH_PACKAGES_RESTORE_WINDOW_SECONDS, BERTH_GC_ENABLED, BERTH_GC_GRACE_SECONDS, BERTH_GC_INTERVAL_SECONDS,
// BERTH_GC_PASS_INTERVAL_SECONDS, BERTH_RETENTION_INTERVAL_SECONDS,
// BERTH_AUTH_ENABLED,
// BERTH_AUTH_REALM, BERTH_AUTH_SIGNING_KEY_FILE, BERTH_AUTH_TOKEN_TTL_SECONDS, BERTH_STORAGE, BERTH_S3_ENDPOINT,
// BERTH_S3_REGION, BERTH_S3_BUCKET, BERTH_S3_ACCESS_KEY, BERTH_S3_SECRET_KEY, BERTH_S3_PREFIX,
// BERTH_S3_PATH_STYLE, BERTH_S3_VERIFY_TLS, BERTH_S3_CA_FILE, BERTH_S3_REDIRECT_SECONDS, BERTH_METADATA, BERTH_POSTGRES_URL,
// BERTH_TRUSTED_PROXIES (comma-separated addresses), BERTH_EXTERNAL_URL.
// Also checks the driver names and server.external_url (dropping a trailing slash).
Status apply_environment(Config& config);

// host[:port] of a validated external URL: the registry's name as clients write it before an image.
std::string external_host(const std::string& external_url);

// "host:port" or "[v6]:port".
Status split_listen(const std::string& listen, std::string& host, uint16_t& port);

}  // namespace berth::cli
