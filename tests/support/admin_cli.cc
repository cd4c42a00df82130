#include "support/admin_cli.h"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <stdexcept>

#include "support/registry_process.h"

extern char** environ;

#ifndef BERTH_BINARY
#define BERTH_BINARY ""
#endif

namespace berth::test {

namespace {

std::string binary_path() {
  // The same override RegistryProcess honours, so the CLI and the server are always the same build.
  if (const char* env = std::getenv("BERTH_TEST_BINARY"); env && *env) return env;
  return BERTH_BINARY;
}

}  // namespace

std::string CliResult::describe() const {
  return "exit " + std::to_string(exit_code) + "\nstdout: " + out + "\nstderr: " + err;
}

CliResult run_admin(const std::filesystem::path& data_dir, const std::vector<std::string>& args) {
  BerthCall call;
  call.args = {"admin", "--data", data_dir.string()};
  call.data_dir = data_dir;
  call.args.insert(call.args.end(), args.begin(), args.end());
  return run_berth(call);
}

CliResult run_berth(const BerthCall& call) {
  std::vector<std::string> argv_strings = {binary_path()};
  argv_strings.insert(argv_strings.end(), call.args.begin(), call.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_strings) argv.push_back(a.data());
  argv.push_back(nullptr);

  int out_pipe[2], err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  // Stdin comes from a file, written before the child starts: no third pipe to keep from blocking.
  std::string stdin_path = "/dev/null";
  if (!call.stdin_text.empty()) {
    std::string pattern = (std::filesystem::temp_directory_path() / "berth-stdin-XXXXXX").string();
    int fd = ::mkstemp(pattern.data());
    bool written = fd >= 0 && ::write(fd, call.stdin_text.data(), call.stdin_text.size()) ==
                                  static_cast<ssize_t>(call.stdin_text.size());
    if (fd >= 0) ::close(fd);
    if (!written) {
      for (int f : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) ::close(f);
      if (fd >= 0) ::unlink(pattern.c_str());
      throw std::runtime_error(std::string("stdin file: ") + std::strerror(errno));
    }
    stdin_path = pattern;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, stdin_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
  // A test server on PostgreSQL + S3 (BERTH_TEST_BACKENDS=pg-s3) keeps its identities in its database,
  // which only its environment names: give the CLI the same.
  auto backend_env = call.data_dir.empty() ? std::map<std::string, std::string>{}
                                           : RegistryProcess::backend_env_for(call.data_dir);
  for (const auto& [name, value] : call.env) backend_env[name] = value;
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) {
    std::string entry = *e;
    if (!backend_env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(std::move(entry));
  }
  for (const auto& [name, value] : backend_env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  // The child has its stdin open (or never started): the file's name is no longer needed.
  if (!call.stdin_text.empty()) ::unlink(stdin_path.c_str());
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  CliResult result;
  if (rc != 0) {
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    result.err = std::string("posix_spawn ") + argv[0] + ": " + std::strerror(rc);
    return result;
  }
  // Both pipes are drained together so a chatty stderr cannot block the child while we wait on stdout.
  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        sinks[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_fds;
      }
    }
  }
  for (auto& f : fds) {
    if (f.fd >= 0) ::close(f.fd);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

std::string admin_or_throw(const std::filesystem::path& data_dir, const std::vector<std::string>& args) {
  CliResult r = run_admin(data_dir, args);
  if (r.exit_code != 0) {
    std::string command;
    for (const auto& a : args) command += " " + a;
    throw std::runtime_error("berth admin" + command + " failed: " + r.describe());
  }
  std::string out = r.out;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace berth::test
