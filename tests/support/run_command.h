// Running the repository's scripts (start-postgres.sh, start-s3.sh …) and other shell commands from
// tests. Header-only: unit tests include it without linking the API tests' support library.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace berth::test {

// $BERTH_SOURCE_DIR/scripts, else the scripts folder of the tree this header is in.
inline std::filesystem::path scripts_dir() {
  if (const char* src = std::getenv("BERTH_SOURCE_DIR"); src && *src) return std::filesystem::path(src) / "scripts";
  return std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "scripts";
}

// Runs a shell command; its stdout without trailing newlines. exit_code gets its exit status (-1: it
// could not run, or ended by a signal).
inline std::string run_command(const std::string& command, int* exit_code) {
  std::string out;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) {
    *exit_code = -1;
    return out;
  }
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p)) out.append(buf, n);
  int status = ::pclose(p);
  *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

}  // namespace berth::test
