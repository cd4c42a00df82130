// Runs `berth admin --data DIR …` (the real CLI) so auth tests set up users, orgs, tokens and package
// settings exactly the way an operator would, against the data directory of a test server.
#pragma once

#include <filesystem>
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

// As run_admin, but throws std::runtime_error (with the CLI's output) unless it exits 0. Returns stdout
// without the trailing newline: for `token create`, the secret.
std::string admin_or_throw(const std::filesystem::path& data_dir, const std::vector<std::string>& args);

}  // namespace berth::test
