// berth: the registry's single binary. `berth serve` runs the registry.
#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <ctime>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <malloc.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "api/distribution.h"
#include "auth/access.h"
#include "auth/jwt.h"
#include "cli/admin.h"
#include "cli/config.h"
#include "cli/fsck_command.h"
#include "cli/gc_command.h"
#include "hooks/deliverer.h"
#include "http/server.h"
#include "lifecycle/collector.h"
#include "lifecycle/retention.h"
#include "cli/backends.h"
#include "packages/downloads.h"
#include "packages/housekeeping.h"
#include "registry/registry.h"

namespace {

using namespace berth;

// Runs `tick` on its own thread every `interval` until destroyed (then waits for the tick in progress).
class Periodic {
 public:
  Periodic(std::chrono::steady_clock::duration interval, std::function<void()> tick, int nice = 0)
      : thread_([this, interval, tick = std::move(tick), nice] {
          if (nice != 0) ::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice);  // this thread
          std::unique_lock lock(mu_);
          while (!cv_.wait_for(lock, interval, [this] { return stop_; })) {
            lock.unlock();
            tick();
            lock.lock();
          }
        }) {}
  ~Periodic() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// Background housekeeping: expired uploads are removed and deleted package versions past their restore
// window purged every sweep interval; every couple of seconds download counts are written and freed heap
// memory is handed back to the kernel. glibc keeps what a thread frees in that thread's arena; without
// the trim, memory a burst of requests used once (upload buffers, SQLite pages) stays resident for the
// life of the process.
std::function<void()> housekeeping_tick(registry::Registry& registry, packages::Housekeeping& packages,
                                        int sweep_interval_seconds) {
  const auto sweep_interval = std::chrono::seconds(sweep_interval_seconds);
  auto next_sweep = std::make_shared<std::chrono::steady_clock::time_point>(std::chrono::steady_clock::now() +
                                                                            sweep_interval);
  return [&registry, &packages, sweep_interval, next_sweep] {
    packages.flush_downloads();
    ::malloc_trim(0);
    if (std::chrono::steady_clock::now() < *next_sweep) return;
    size_t n = registry.expire_uploads();
    if (n > 0) spdlog::info("expired {} idle uploads", n);
    packages.purge_expired(static_cast<int64_t>(std::time(nullptr)));
    *next_sweep = std::chrono::steady_clock::now() + sweep_interval;
  };
}

// The background lifecycle work (docs/lifecycle.md), run on a thread of lower CPU priority: a bounded
// garbage collection step by whichever node holds the lease, and the retention policies once per
// retention interval across the fleet.
std::function<void()> lifecycle_tick(lifecycle::Collector& collector, lifecycle::RetentionSchedule& retention,
                                     lifecycle::RetentionSchedule::Listener on_retention, size_t budget) {
  return [&collector, &retention, on_retention = std::move(on_retention), budget] {
    auto step = collector.step(budget);
    if (!step.ok()) {
      spdlog::warn("garbage collection: {}", step.status().message());
    } else if (step->blobs_deleted + step->links_removed + step->uploads_removed > 0) {
      spdlog::info("garbage collection reclaimed {} objects, {} bytes; removed {} links, {} upload leftovers",
                   step->blobs_deleted, step->bytes_deleted, step->links_removed, step->uploads_removed);
    }
    // Retention deletes softly; the purge and the collector reclaim later.
    if (auto ran = retention.run_if_due(on_retention); !ran.ok()) {
      spdlog::warn("retention: {}", ran.status().message());
    } else if (*ran > 0) {
      spdlog::info("retention policies deleted {} versions (restorable)", *ran);
    }
  };
}

// Services often start with a soft open-file limit of 1,024: raised to the hard limit, so that connections,
// not file descriptors, are what runs out; the cap (configured, or derived) keeps a reserve for the
// database, blobs being written and served, and the blocking pool.
size_t connection_cap(size_t configured) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) == 0 && limit.rlim_cur < limit.rlim_max) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (configured > 0) return configured;
  constexpr rlim_t kReserve = 128;
  const rlim_t files = limit.rlim_cur == RLIM_INFINITY ? 1 << 20 : limit.rlim_cur;
  // Each connection may hold a blob file open while it is served: half the rest for connections.
  return files > 2 * kReserve ? static_cast<size_t>((files - kReserve) / 2) : 64;
}

int serve(const cli::Config& config) {
  auto level = spdlog::level::from_str(config.log_level);
  spdlog::set_level(level);

  std::string host;
  uint16_t port = 0;
  if (Status s = cli::split_listen(config.listen, host, port); !s.ok()) {
    spdlog::error("{}", s.message());
    return 2;
  }
  std::filesystem::path data(config.data);
  auto backends = cli::open_backends(config);
  if (!backends.ok()) {
    spdlog::error("{}", backends.status().message());
    return 1;
  }
  registry::Registry registry(
      *backends->blobs, *backends->metadata,
      registry::RegistryOptions{
          .upload_expire_after_seconds = config.upload_expire_after_seconds,
          .redirect_blobs_seconds = config.storage == "s3" ? config.s3.redirect_seconds : 0,
          .gc_grace_seconds = config.gc_grace_seconds,
          .empty_upload_expire_after_seconds = config.upload_empty_expire_after_seconds,
          .upload_limits = {config.uploads_max_open_per_account, config.uploads_max_open_per_address}});
  lifecycle::CollectorOptions gc_options;
  gc_options.grace_seconds = config.gc_grace_seconds;
  gc_options.stale_upload_seconds = config.upload_expire_after_seconds;
  gc_options.pass_interval_seconds = config.gc_pass_interval_seconds;
  gc_options.holder = cli::collector_node_name();
  gc_options.holder_gone = cli::collector_node_gone;
  lifecycle::Collector collector(*backends->blobs, *backends->metadata, *backends->collector, gc_options);
  collector.set_pass_listener([&identity = *backends->identity, holder = gc_options.holder](const auto& pass) {
    cli::record_gc_pass(identity, "gc", holder, pass);
  });

  api::ApiOptions api_options;
  api_options.access_log = config.access_log;
  api_options.max_manifest_bytes = config.max_manifest_bytes;
  api_options.ready = backends->ready;
  api_options.trusted_proxies = config.trusted_proxies;
  api_options.external_url = config.external_url;
  std::unique_ptr<auth::TokenSigner> signer;
  std::unique_ptr<auth::AccessControl> access;
  if (config.auth_enabled) {
    std::filesystem::path key_file = config.auth_signing_key_file.empty()
                                         ? data / "keys" / "token-signing-key.pem"
                                         : std::filesystem::path(config.auth_signing_key_file);
    auto loaded = auth::TokenSigner::load_or_create(key_file, config.auth_service);
    if (!loaded.ok()) {
      spdlog::error("token signing key: {}", loaded.status().message());
      return 1;
    }
    signer = std::move(*loaded);
    auth::AuthOptions auth_options;
    auth_options.service = config.auth_service;
    auth_options.issuer = config.auth_service;
    auth_options.token_ttl_seconds = config.auth_token_ttl_seconds;
    auth_options.revocation_check_seconds = config.auth_revocation_check_seconds;
    access = std::make_unique<auth::AccessControl>(*backends->identity, *signer, auth_options);
    api_options.access = access.get();
    api_options.token_realm = config.auth_realm;
    api_options.tls = !config.tls_cert.empty();
  } else {
    spdlog::warn("authentication is OFF: anyone who can reach this registry may push, pull and delete");
  }
  packages::DownloadCounter downloads;
  packages::Housekeeping package_housekeeping(*backends->packages, downloads,
                                              packages::HousekeepingOptions{config.packages_restore_window_seconds});
  api::PackagesApi packages_api(api::PackagesApiOptions{backends->packages, backends->identity, access.get(),
                                                        config.external_url, !config.tls_cert.empty()});
  api_options.packages_api = &packages_api;
  api_options.downloads = &downloads;
  api_options.extra_metrics = [&collector] { return collector.metrics().render(); };
  lifecycle::RetentionSchedule retention(*backends->packages, *backends->collector, gc_options.holder,
                                         config.retention_interval_seconds);
  const lifecycle::RetentionSchedule::Listener on_retention = [&identity = *backends->identity](const auto& done) {
    for (const auto& d : done.deletions) {
      meta::AuditEvent event{0, static_cast<int64_t>(std::time(nullptr)), "retention", "retention.delete",
                             done.package + "@" + std::to_string(d.version_id), "allowed", "local", d.reason};
      (void)identity.record_audit(event);
    }
  };
  api::DistributionApi api(registry, api_options);

  http::ServerOptions options;
  options.host = host;
  options.port = port;
  options.io_threads = config.io_threads;
  options.blocking_threads = config.blocking_threads;
  options.handle_on_pool = config.route_requests_on == "pool" ||
                           (config.route_requests_on == "auto" && config.metadata == "postgres");
  options.header_limit = config.header_limit_bytes;
  options.idle_timeout = std::chrono::seconds(config.idle_timeout_seconds);
  options.header_timeout = std::chrono::seconds(config.header_timeout_seconds);
  options.max_connections = connection_cap(config.max_connections);
  options.shutdown_grace = std::chrono::seconds(config.shutdown_grace_seconds);
  options.tls_cert_file = config.tls_cert;
  options.tls_key_file = config.tls_key;
  http::Server server(options, api);
  if (Status s = server.start(); !s.ok()) {
    spdlog::error("{}", s.message());
    return 1;
  }
  spdlog::info("berth listening on {}://{}:{} storage={} metadata={} data={}", config.tls_cert.empty() ? "http" : "https",
               host, server.port(), config.storage, config.metadata, data.string());
  hooks::DelivererOptions hook_options;
  hook_options.origin = !config.external_url.empty()
                            ? config.external_url
                            : std::string(config.tls_cert.empty() ? "http://" : "https://") +
                                  (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" +
                                  std::to_string(server.port());
  hook_options.first_retry_seconds = config.webhook_first_retry_seconds;
  hook_options.max_attempts = config.webhook_max_attempts;
  hooks::Deliverer deliverer(*backends->webhooks, hook_options);
  {
    const int sweep_seconds = std::max(1, config.upload_sweep_interval_seconds);
    Periodic housekeeping(std::min<std::chrono::seconds>(std::chrono::seconds(2), std::chrono::seconds(sweep_seconds)),
                          housekeeping_tick(registry, package_housekeeping, sweep_seconds));
    // Webhook deliveries: their own thread, so that a slow receiver delays neither housekeeping nor GC.
    Periodic webhook_deliveries(std::chrono::seconds(1), [&deliverer] {
      if (auto sent = deliverer.run_once(); !sent.ok()) spdlog::warn("webhooks: {}", sent.status().message());
    });
    std::optional<Periodic> background_lifecycle;
    if (config.gc_enabled) {
      background_lifecycle.emplace(std::chrono::seconds(config.gc_interval_seconds),
                                   lifecycle_tick(collector, retention, on_retention, config.gc_step_budget), 10);
    }
    server.run();
  }
  package_housekeeping.flush_downloads();  // the counts of the last seconds
  spdlog::info("berth stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // glibc gives up to 8 malloc arenas per core, one per thread that allocates, each keeping its own free
  // memory: with two I/O threads and eight blocking-pool threads that is ~6 MiB resident for nothing
  // (measured: 15.1 MiB peak after 10,000 manifest PUTs and tag lists, 12.3 MiB with two arenas, at no
  // measurable cost in requests per second). MALLOC_ARENA_MAX in the environment still wins.
  if (!std::getenv("MALLOC_ARENA_MAX")) ::mallopt(M_ARENA_MAX, 2);
  // Everything Berth creates (data directory, database, blobs, keys) is its own: tokens' hashes, the
  // audit log and private images are nobody else's to read.
  ::umask(077);
  spdlog::set_default_logger(spdlog::stderr_color_mt("berth"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %l %v");

  CLI::App app{"Berth: a self-hosted OCI container registry"};
  app.require_subcommand(1);

  std::string config_file, listen, data, tls_cert, tls_key;
  auto* serve_cmd = app.add_subcommand("serve", "Run the registry");
  serve_cmd->add_option("-c,--config", config_file, "YAML configuration file");
  serve_cmd->add_option("--listen", listen, "HOST:PORT to listen on (overrides the config)");
  serve_cmd->add_option("--data", data, "data directory (overrides the config)");
  serve_cmd->add_option("--tls-cert", tls_cert, "PEM certificate chain: serve HTTPS");
  serve_cmd->add_option("--tls-key", tls_key, "PEM private key for --tls-cert");

  app.add_subcommand("version", "Print the version")->callback([] { std::puts("berth 0.1.0"); });

  std::function<int()> admin_action;
  cli::add_admin_commands(app, admin_action);
  cli::add_gc_command(app, admin_action);
  cli::add_fsck_command(app, admin_action);

  CLI11_PARSE(app, argc, argv);
  if (admin_action) return admin_action();

  if (serve_cmd->parsed()) {
    auto config = cli::load_config_file(config_file);
    if (!config.ok()) {
      spdlog::error("{}", config.status().message());
      return 2;
    }
    if (Status s = cli::apply_environment(*config); !s.ok()) {
      spdlog::error("{}", s.message());
      return 2;
    }
    if (!listen.empty()) config->listen = listen;
    if (!data.empty()) config->data = data;
    if (!tls_cert.empty()) config->tls_cert = tls_cert;
    if (!tls_key.empty()) config->tls_key = tls_key;
    if (config->tls_cert.empty() != config->tls_key.empty()) {
      spdlog::error("TLS needs both a certificate and a key");
      return 2;
    }
    return serve(*config);
  }
  return 0;
}
