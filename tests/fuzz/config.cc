// The configuration loader of `berth serve` (cli/config.h): YAML text -> load_config_file, then the
// checks apply_environment makes (driver names, server.external_url, ...) and split_listen of the
// listen address. load_config_file only reads a file, so each input is written to one in the process's
// temporary directory first (no production change for testability). BERTH_* variables are cleared once
// at start, so only the file decides.
//
// Input: the YAML text of a config file.
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "cli/config.h"
#include "fuzz/fuzz_support.h"

extern char** environ;

using namespace berth;

namespace {

const std::string& config_path() {
  static const std::string path = (fuzz::temp_dir() / "config.yaml").string();
  return path;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::vector<std::string> names;
  for (char** e = environ; *e; ++e) {
    if (std::strncmp(*e, "BERTH_", 6) == 0) names.emplace_back(*e, std::strcspn(*e, "="));
  }
  for (const auto& name : names) ::unsetenv(name.c_str());
  (void)config_path();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  {
    FILE* f = std::fopen(config_path().c_str(), "wb");
    if (!f) fuzz::die("cannot write " + config_path());
    if (size && std::fwrite(data, 1, size, f) != size) fuzz::die("cannot write " + config_path());
    std::fclose(f);
  }
  auto config = cli::load_config_file(config_path());
  if (!config.ok()) {
    BERTH_FUZZ_CHECK(config.status().code() == Errc::invalid_argument);
    return 0;
  }
  Status checked = cli::apply_environment(*config);
  if (!checked.ok()) {
    BERTH_FUZZ_CHECK(checked.code() == Errc::invalid_argument);
    return 0;
  }
  if (!config->external_url.empty()) {
    BERTH_FUZZ_CHECK(config->external_url.back() != '/');
    std::string host = cli::external_host(config->external_url);
    BERTH_FUZZ_CHECK(!host.empty() && host.find('/') == std::string::npos);
  }
  std::string host;
  uint16_t port = 0;
  (void)cli::split_listen(config->listen, host, port);
  return 0;
}
