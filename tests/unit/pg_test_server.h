// A scratch PostgreSQL 15 server for the PostgreSQL driver's tests (meta_pg_store_test.cc,
// meta_pg_identity_test.cc), started with scripts/start-postgres.sh in its own directory under tmpfs.
//
// One server serves a whole test binary (SharedServer::get(), started on first use and stopped after
// the last test); each test gets its own database (CREATE DATABASE is ~20 ms on the tmpfs the script
// uses). Tests that stop the server start one of their own with PgServer::start().
//
// Include it in one test file per binary: it registers SharedServer as a gtest environment.
#pragma once

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "support/run_command.h"

namespace berth::meta::pg_test {

// Runs a command; its stdout, or nullopt if it failed.
inline std::optional<std::string> run(const std::string& command) {
  int code = 0;
  std::string out = test::run_command(command, &code);
  if (code != 0) return std::nullopt;
  return out;
}

// Plain libpq, independent of the store: to set up databases and look at what the store wrote.
class Raw {
 public:
  explicit Raw(const std::string& url) : conn_(PQconnectdb(url.c_str())) {}
  ~Raw() { PQfinish(conn_); }
  Raw(const Raw&) = delete;
  Raw& operator=(const Raw&) = delete;

  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  bool exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    bool good = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!good) ADD_FAILURE() << sql << ": " << PQerrorMessage(conn_);
    PQclear(r);
    return good;
  }
  // The single integer the query yields, or -1.
  int64_t scalar(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    int64_t v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 && !PQgetisnull(r, 0, 0)) {
      v = std::strtoll(PQgetvalue(r, 0, 0), nullptr, 10);
    }
    PQclear(r);
    return v;
  }

 private:
  PGconn* conn_;
};

// A server in its own directory under tmpfs; stopped and removed with it.
class PgServer {
 public:
  static std::unique_ptr<PgServer> start() {
    namespace fs = std::filesystem;
    std::string base = fs::is_directory("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string();
    std::string pattern = base + "/berth-pg-test-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr) return nullptr;
    std::unique_ptr<PgServer> server(new PgServer(pattern));
    if (!server->start_again()) return nullptr;
    return server;
  }
  ~PgServer() { (void)run((test::scripts_dir() / "stop-postgres.sh").string() + " '" + dir_ + "'"); }

  // Stops the server, keeping its data and port, as an administrator restarting it would.
  bool stop() { return run((test::scripts_dir() / "stop-postgres.sh").string() + " '" + dir_ + "' --keep").has_value(); }
  bool start_again() {
    auto url = run((test::scripts_dir() / "start-postgres.sh").string() + " '" + dir_ + "' 2>/dev/null");
    if (!url || url->rfind("postgresql://", 0) != 0) {
      ADD_FAILURE() << "scripts/start-postgres.sh failed (see " << dir_ << "/server.log)";
      return false;
    }
    admin_url_ = *url;
    return true;
  }

  // postgresql://berth@127.0.0.1:PORT/<database>
  std::string url(const std::string& database) const {
    return admin_url_.substr(0, admin_url_.rfind('/') + 1) + database;
  }
  std::string host_port() const {
    auto at = admin_url_.find('@') + 1;
    return admin_url_.substr(at, admin_url_.rfind('/') - at);
  }

  // A new empty database; dropped (connections and all) when the last owner lets go.
  std::shared_ptr<std::string> create_database() {
    static std::atomic<int> counter{0};
    std::string name = "t" + std::to_string(getpid()) + "_" + std::to_string(++counter);
    if (!Raw(admin_url_).exec("CREATE DATABASE " + name)) return nullptr;
    std::string admin = admin_url_;
    return std::shared_ptr<std::string>(new std::string(name), [admin](std::string* n) {
      Raw(admin).exec("DROP DATABASE IF EXISTS " + *n + " WITH (FORCE)");
      delete n;
    });
  }

 private:
  explicit PgServer(std::string dir) : dir_(std::move(dir)) {}
  std::string dir_;
  std::string admin_url_;
};

// The server shared by every test of this binary: started on first use, stopped at the end.
class SharedServer : public ::testing::Environment {
 public:
  static PgServer* get() {
    static std::once_flag once;
    std::call_once(once, [] { server_ = PgServer::start(); });
    return server_.get();
  }
  void TearDown() override { server_.reset(); }

 private:
  static inline std::unique_ptr<PgServer> server_;
};
// inline: one registration per binary, however many of its files include this header.
[[maybe_unused]] inline ::testing::Environment* const kSharedServerEnvironment =
    ::testing::AddGlobalTestEnvironment(new SharedServer);

}  // namespace berth::meta::pg_test
