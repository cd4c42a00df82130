#include "support/registry_process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <atomic>
#include <fstream>
#include <memory>
#include <mutex>
#include <random>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include "common/random.h"
#include "storage/s3_client.h"
#include "support/run_command.h"

extern char** environ;

#ifndef BERTH_BINARY
#define BERTH_BINARY ""
#endif

namespace berth::test {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

std::string binary_path() {
  // An override lets the suite run against another build of the binary without reconfiguring.
  if (const char* env = std::getenv("BERTH_TEST_BINARY"); env && *env) return env;
  return BERTH_BINARY;
}

// ---- pg-s3: PostgreSQL + S3 backends shared by every RegistryProcess of this test process ----


std::string quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}



class PgS3Backends {
 public:
  // Started on first use (PostgreSQL: ~1 s; the shared radosgw: ~15 s unless it already runs); throws
  // with the reason if either cannot be had. Stopped (our PostgreSQL server) at exit.
  static PgS3Backends& get() {
    static PgS3Backends instance;  // a throwing constructor is tried again by the next caller
    return instance;
  }

  ~PgS3Backends() {
    if (!pg_dir_.empty()) {
      int code = 0;
      run_command("bash " + quote((scripts_dir() / "stop-postgres.sh").string()) + " " + quote(pg_dir_), &code);
    }
  }

  // A new empty database; its name.
  std::string create_database() {
    static std::atomic<int> counter{0};
    std::string name = "api_" + std::to_string(::getpid()) + "_" + std::to_string(++counter) + "_" + berth::random_hex(2);
    psql(admin_url_, "CREATE DATABASE " + name);
    return name;
  }
  void drop_database(const std::string& name) noexcept {
    try {
      psql(admin_url_, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    } catch (...) {
    }
  }
  std::string url(const std::string& database) const { return admin_url_.substr(0, admin_url_.rfind('/') + 1) + database; }
  const std::map<std::string, std::string>& s3_env() const { return s3_env_; }

  // Deletes every object and multipart upload under prefix (best effort).
  void purge(const std::string& prefix) noexcept {
    if (prefix.empty() || !s3_) return;
    std::lock_guard lock(s3_mutex_);
    for (int round = 0; round < 100; ++round) {
      auto list = s3_->call("GET", "", {{"list-type", "2"}, {"max-keys", "1000"}, {"prefix", prefix}});
      if (!list.ok() || list->status != 200) break;
      auto keys = storage::xml_all(list->body, "Key");
      if (keys.empty()) break;
      for (const auto& k : keys) (void)s3_->call("DELETE", k, {});
    }
    if (auto mps = s3_->call("GET", "", {{"uploads", ""}, {"prefix", prefix}}); mps.ok() && mps->status == 200) {
      auto keys = storage::xml_all(mps->body, "Key");
      auto ids = storage::xml_all(mps->body, "UploadId");
      for (size_t i = 0; i < std::min(keys.size(), ids.size()); ++i) {
        (void)s3_->call("DELETE", keys[i], {{"uploadId", ids[i]}});
      }
    }
  }

 private:
  PgS3Backends() {
    const std::string pid = std::to_string(::getpid());
    int code = 0;
    // PostgreSQL: BERTH_TEST_POSTGRES_URL (an administrator's URL: databases are created through it), or a
    // server of our own. A watcher stops ours should this process die without running its destructors.
    if (const char* url = std::getenv("BERTH_TEST_POSTGRES_URL"); url && *url) {
      admin_url_ = url;
    } else {
      std::string base = fs::is_directory("/dev/shm") ? "/dev/shm" : fs::temp_directory_path().string();
      std::string pattern = base + "/berth-api-pg-XXXXXX";
      if (!::mkdtemp(pattern.data())) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
      pg_dir_ = pattern;
      const std::string log = pg_dir_ + ".log";
      admin_url_ = run_command("bash " + quote((scripts_dir() / "start-postgres.sh").string()) + " " + quote(pg_dir_) +
                                   " 2>" + quote(log),
                               &code);
      if (code != 0 || admin_url_.rfind("postgresql://", 0) != 0) {
        std::ifstream in(log);
        std::ostringstream err;
        err << in.rdbuf();
        pg_dir_.clear();
        throw std::runtime_error("BERTH_TEST_BACKENDS=pg-s3: scripts/start-postgres.sh failed (exit " +
                                 std::to_string(code) + "): " + err.str());
      }
      std::error_code ignored;
      fs::remove(log, ignored);
      run_command("setsid bash -c 'while kill -0 \"$1\" 2>/dev/null; do sleep 2; done; bash \"$2\" \"$3\"' _ " + pid +
                      " " + quote((scripts_dir() / "stop-postgres.sh").string()) + " " + quote(pg_dir_) +
                      " </dev/null >/dev/null 2>&1 &",
                  &code);
    }
    psql(admin_url_, "SELECT 1");

    // S3: the bucket named by BERTH_S3_* in our environment, or the shared radosgw's.
    std::map<std::string, std::string> vars;
    if (const char* ep = std::getenv("BERTH_S3_ENDPOINT"); ep && *ep) {
      for (const char* k : {"BERTH_S3_ENDPOINT", "BERTH_S3_REGION", "BERTH_S3_BUCKET", "BERTH_S3_ACCESS_KEY",
                            "BERTH_S3_SECRET_KEY"}) {
        if (const char* v = std::getenv(k); v && *v) vars[k] = v;
      }
    } else {
      // A first start of Ceph now and then fails on a race inside Ceph (exit 1): up to three tries.
      std::string out;
      for (int attempt = 0; attempt < 3; ++attempt) {
        out = run_command("BERTH_S3_WATCH_PID=" + pid + " bash " + quote((scripts_dir() / "start-s3.sh").string()) +
                              " --shared",
                          &code);
        if (code != 1) break;
      }
      if (code != 0) {
        throw std::runtime_error("BERTH_TEST_BACKENDS=pg-s3: scripts/start-s3.sh --shared failed (exit " +
                                 std::to_string(code) + (code == 2 ? ": radosgw is not installed" : "") +
                                 "; its messages are on stderr)");
      }
      std::istringstream lines(out);
      for (std::string line; std::getline(lines, line);) {
        if (line.rfind("export ", 0) != 0) continue;
        size_t eq = line.find('=');
        if (eq != std::string::npos) vars[line.substr(7, eq - 7)] = line.substr(eq + 1);
      }
    }
    for (const char* k : {"BERTH_S3_ENDPOINT", "BERTH_S3_BUCKET", "BERTH_S3_ACCESS_KEY", "BERTH_S3_SECRET_KEY"}) {
      if (vars[k].empty()) throw std::runtime_error(std::string("BERTH_TEST_BACKENDS=pg-s3: no ") + k);
    }
    if (vars["BERTH_S3_REGION"].empty()) vars["BERTH_S3_REGION"] = "us-east-1";
    vars.erase("BERTH_S3_DIR");
    s3_env_ = vars;
    storage::S3Options o;
    o.endpoint = vars["BERTH_S3_ENDPOINT"];
    o.region = vars["BERTH_S3_REGION"];
    o.bucket = vars["BERTH_S3_BUCKET"];
    o.access_key = vars["BERTH_S3_ACCESS_KEY"];
    o.secret_key = vars["BERTH_S3_SECRET_KEY"];
    auto client = storage::S3Client::create(o);
    if (!client.ok()) throw std::runtime_error("BERTH_TEST_BACKENDS=pg-s3: S3 client: " + client.status().message());
    s3_ = std::move(*client);
  }

  static void psql(const std::string& url, const std::string& sql) {
    int code = 0;
    std::string out = run_command("psql " + quote(url) + " -qAtX -v ON_ERROR_STOP=1 -c " + quote(sql) + " 2>&1", &code);
    if (code != 0) throw std::runtime_error("BERTH_TEST_BACKENDS=pg-s3: psql " + sql + ": " + out);
  }

  std::string pg_dir_;  // empty: not our server
  std::string admin_url_;
  std::map<std::string, std::string> s3_env_;
  std::unique_ptr<storage::S3Client> s3_;
  std::mutex s3_mutex_;
};

// data directory -> backend environment of the live pg-s3 RegistryProcesses (for `berth admin`).
std::mutex live_mutex;
std::map<fs::path, std::map<std::string, std::string>>& live_backends() {
  static std::map<fs::path, std::map<std::string, std::string>> live;
  return live;
}

}  // namespace

std::string RegistryProcess::backends() {
  const char* env = std::getenv("BERTH_TEST_BACKENDS");
  std::string value = env && *env ? env : "default";
  if (value != "default" && value != "pg-s3") {
    throw std::runtime_error("BERTH_TEST_BACKENDS must be default or pg-s3, got '" + value + "'");
  }
  return value;
}

std::map<std::string, std::string> RegistryProcess::backend_env_for(const fs::path& data_dir) {
  std::lock_guard lock(live_mutex);
  auto it = live_backends().find(data_dir);
  return it == live_backends().end() ? std::map<std::string, std::string>{} : it->second;
}

std::uint16_t pick_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error(std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof(addr);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    ::close(fd);
    throw std::runtime_error(std::string("bind: ") + std::strerror(errno));
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

RegistryProcess::RegistryProcess(Options options) : options_(std::move(options)) {
  if (const char* env = std::getenv("BERTH_TEST_REGISTRY"); env && *env) {
    std::string target = env;
    auto colon = target.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("BERTH_TEST_REGISTRY must be host:port");
    external_ = true;
    host_ = target.substr(0, colon);
    port_ = static_cast<std::uint16_t>(std::stoi(target.substr(colon + 1)));
    return;
  }
  std::string pattern = (fs::temp_directory_path() / "berth-api-XXXXXX").string();
  if (!::mkdtemp(pattern.data())) throw std::runtime_error(std::string("mkdtemp: ") + std::strerror(errno));
  temp_dir_ = pattern;
  data_dir_ = temp_dir_ / "data";
  log_path_ = temp_dir_ / "server.log";
  if (const RegistryProcess* other = options_.share_stores_with) {
    // A second node: its stores are the other's, which removes them (pg_database_ stays empty here).
    data_dir_ = other->data_dir_;
    backend_env_ = other->backend_env_;
  } else {
    fs::create_directories(data_dir_);
  }
  if (backends() == "pg-s3" && !options_.share_stores_with) {
    try {
      auto& shared = PgS3Backends::get();
      pg_database_ = shared.create_database();
      s3_prefix_ = "api-" + pg_database_.substr(4) + "/";
      backend_env_ = shared.s3_env();
      backend_env_["BERTH_STORAGE"] = "s3";
      backend_env_["BERTH_S3_PREFIX"] = s3_prefix_;
      backend_env_["BERTH_S3_PATH_STYLE"] = "true";
      backend_env_["BERTH_METADATA"] = "postgres";
      backend_env_["BERTH_POSTGRES_URL"] = shared.url(pg_database_);
    } catch (...) {
      std::error_code ignored;
      fs::remove_all(temp_dir_, ignored);
      throw;
    }
    std::lock_guard lock(live_mutex);
    live_backends()[data_dir_] = backend_env_;
  }
  try {
    start();
  } catch (...) {
    release_backends();
    throw;
  }
}

void RegistryProcess::release_backends() noexcept {
  if (pg_database_.empty()) return;
  {
    std::lock_guard lock(live_mutex);
    live_backends().erase(data_dir_);
  }
  if (const char* keep = std::getenv("BERTH_TEST_KEEP"); keep && *keep) return;
  auto& shared = PgS3Backends::get();
  shared.drop_database(pg_database_);
  shared.purge(s3_prefix_);
  pg_database_.clear();
}

RegistryProcess::~RegistryProcess() {
  if (external_) return;
  stop();
  release_backends();
  // BERTH_TEST_KEEP=1 keeps the data and the log for a post-mortem.
  if (const char* keep = std::getenv("BERTH_TEST_KEEP"); keep && *keep) return;
  std::error_code ignored;
  fs::remove_all(temp_dir_, ignored);
}

void RegistryProcess::start() {
  if (external_ || pid_ > 0) return;
  const std::string binary = binary_path();
  if (binary.empty()) throw std::runtime_error("no server binary: BERTH_BINARY is not defined");
  port_ = pick_free_port();

  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<std::string> args = {binary, "serve", "--listen", host_ + ":" + std::to_string(port_),
                                   "--data", data_dir_.string()};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // The distribution-API suites test the protocol with authentication off; the auth suites turn it on.
  std::map<std::string, std::string> env = options_.env;
  env.emplace("BERTH_AUTH_ENABLED", "false");
  for (const auto& [name, value] : backend_env_) env.emplace(name, value);  // pg-s3 only
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    auto name = entry.substr(0, entry.find('='));
    if (!env.count(name)) env_strings.push_back(entry);
  }
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);

  int log_fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) throw std::runtime_error(std::string("open log: ") + std::strerror(errno));
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(log_fd);
    throw std::runtime_error(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // A crashed or killed test binary must not leave servers behind.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(1);
    ::dup2(log_fd, STDOUT_FILENO);
    ::dup2(log_fd, STDERR_FILENO);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(log_fd);
  pid_ = pid;

  HttpClient probe(host_, port_);
  probe.set_timeout(1s);
  auto deadline = std::chrono::steady_clock::now() + 10s;
  std::string last;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      throw std::runtime_error("server exited during startup (status " + std::to_string(status) + "); log:\n" + log());
    }
    try {
      auto response = probe.get("/healthz");
      if (response.status == 200) return;
      last = "GET /healthz: " + std::to_string(response.status);
    } catch (const std::exception& e) {
      last = e.what();  // not listening yet
    }
    std::this_thread::sleep_for(25ms);
  }
  stop();
  throw std::runtime_error("server not healthy within 10 s (" + last + "); log:\n" + log());
}

int RegistryProcess::stop() {
  if (external_ || pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (true) {
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno != EINTR)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      // Did not honour SIGTERM in time: the caller can see it in the returned status (killed by 9).
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
      break;
    }
    std::this_thread::sleep_for(10ms);
  }
  pid_ = -1;
  return status;
}

bool RegistryProcess::alive(int* exit_status) {
  if (external_) return true;
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    if (exit_status) *exit_status = status;
    return false;
  }
  return true;
}

void RegistryProcess::restart() {
  stop();
  start();
}

std::string RegistryProcess::log() const {
  if (log_path_.empty()) return "";
  std::ifstream in(log_path_, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

RegistryProcess& RegistryProcess::shared() {
  // Destroyed at exit, which stops the server and removes its directory.
  static RegistryProcess instance;
  return instance;
}

}  // namespace berth::test
