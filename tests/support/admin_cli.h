// Runs `berth admin --data DIR …` (the real CLI) so auth tests set up users, orgs, tokens and package
// settings exactly the way an operator would, against the data directory of a test server.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace berth::test {

struct CliResult {
  int exit_code = -1;  // -1: not run, or killed by a signal
  std::string out;     // stdout (where secrets are printed)
  std::string err;     // stderr (messages)
  std::string describe() const;
};

// `berth admin --data data_dir args…`; waits for it to exit (stdin is empty).
CliResult run_admin(const std::filesystem::path& data_dir, const std::vector<std::string>& args);

// `berth args…` exactly as given (the caller places --data where a person would), for argument order and
// environment tests.
struct BerthCall {
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to (or replacing in) the child's environment
  std::string stdin_text;                  // the child's stdin (empty: /dev/null)
  // The test server whose backends the command must reach (RegistryProcess::backend_env_for), if any.
  std::filesystem::path data_dir;
};
CliResult run_berth(const BerthCall& call);

// As run_admin, but throws std::runtime_error (with the CLI's output) unless it exits 0. Returns stdout
// without the trailing newline: for `token create`, the secret.
std::string admin_or_throw(const std::filesystem::path& data_dir, const std::vector<std::string>& args);

}  // namespace berth::test
