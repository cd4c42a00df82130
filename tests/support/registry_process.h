// Starts `berth serve` as a child process on a free port with a temporary data directory, so the API
// tests speak real HTTP to the real binary. If BERTH_TEST_REGISTRY=host:port is set, that already
// running registry is used instead (to develop the suite against another implementation); tests that
// need to control the process (restart, environment) skip themselves then.
//
// Backends: by default the server keeps blobs and metadata in its data directory (filesystem + SQLite;
// two servers may share one: SQLite's WAL mode coordinates processes on one host).
// With BERTH_TEST_BACKENDS=pg-s3 it runs in fleet configuration instead: metadata in PostgreSQL (a
// server started once per test process with scripts/start-postgres.sh, or the one at
// BERTH_TEST_POSTGRES_URL; each RegistryProcess gets its own database) and blobs in S3 (the shared
// radosgw of scripts/start-s3.sh --shared, or the one named by BERTH_S3_ENDPOINT/_BUCKET/_ACCESS_KEY/
// _SECRET_KEY; each RegistryProcess gets its own key prefix). Both are removed with the RegistryProcess.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>

#include "support/http_client.h"

namespace berth::test {

class RegistryProcess {
 public:
  struct Options {
    std::map<std::string, std::string> env;  // added to the child's environment
    // Another node of the same registry: this server uses that one's data directory and backends (the
    // same SQLite file and blob directory, or the same PostgreSQL database and S3 prefix) and leaves
    // their removal to it. It must outlive this one.
    const RegistryProcess* share_stores_with = nullptr;
  };

  // Creates the data directory and starts the server (or attaches to BERTH_TEST_REGISTRY).
  explicit RegistryProcess(Options options);
  RegistryProcess() : RegistryProcess(Options{}) {}
  // Stops the server and removes the temporary directory.
  ~RegistryProcess();
  RegistryProcess(const RegistryProcess&) = delete;
  RegistryProcess& operator=(const RegistryProcess&) = delete;

  // Starts the binary and waits (10 s at most) until GET /healthz answers 200; throws otherwise,
  // with the server's log in the message.
  void start();
  // SIGTERM, wait up to 10 s, then SIGKILL. Returns the wait status (as from waitpid), or -1 when not running.
  int stop();
  // stop() then start() on the same data directory (the port may change: ask client() again).
  void restart();

  // False when the child has exited (crashed) since start(); `exit_status` then gets its wait status.
  // An external registry is assumed alive.
  bool alive(int* exit_status = nullptr);

  bool external() const { return external_; }
  bool running() const { return pid_ > 0 || external_; }
  pid_t pid() const { return pid_; }  // -1 when not running or external
  const std::string& host() const { return host_; }
  std::uint16_t port() const { return port_; }
  HttpClient client() const { return HttpClient(host_, port_); }

  const std::filesystem::path& data_dir() const { return data_dir_; }
  // The BERTH_* variables that point the server at its backends (empty with the default backends), for
  // another process that must open the same stores, such as `berth admin`.
  const std::map<std::string, std::string>& backend_env() const { return backend_env_; }
  // backend_env() of the live RegistryProcess whose data directory is data_dir (empty if none).
  static std::map<std::string, std::string> backend_env_for(const std::filesystem::path& data_dir);
  // "default" or "pg-s3" (from BERTH_TEST_BACKENDS).
  static std::string backends();
  const std::filesystem::path& log_path() const { return log_path_; }
  // Everything the server wrote to stderr (and stdout) so far, across restarts.
  std::string log() const;

  // One server shared by every test of the binary, started on first use, stopped at exit.
  static RegistryProcess& shared();

 private:
  Options options_;
  bool external_ = false;
  std::string host_ = "127.0.0.1";
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
  std::filesystem::path temp_dir_;
  std::filesystem::path data_dir_;
  std::filesystem::path log_path_;
  // pg-s3: forgets the backend environment, drops the database and empties the S3 prefix.
  void release_backends() noexcept;
  std::map<std::string, std::string> backend_env_;  // pg-s3: BERTH_METADATA, BERTH_POSTGRES_URL, BERTH_S3_*
  std::string pg_database_;                         // pg-s3: dropped by the destructor
  std::string s3_prefix_;                           // pg-s3: emptied by the destructor
};

// A port that was free a moment ago (bind port 0, read it, close).
std::uint16_t pick_free_port();

}  // namespace berth::test
