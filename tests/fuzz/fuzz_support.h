// What the fuzzers share: checks of invariants, and a temporary directory for the process.
//
// A fuzzer stops (abort) only for a failed invariant or a failed set-up, never for an input the code
// refuses: refusing bad input is what it should do.
#pragma once

#include <stdlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <string_view>

namespace berth::fuzz {

[[noreturn]] inline void die(const std::string& what) {
  std::fprintf(stderr, "fuzz: %s\n", what.c_str());
  std::abort();
}

// An invariant of the code under test: its failure is a finding.
#define BERTH_FUZZ_CHECK(cond)                                                       \
  do {                                                                               \
    if (!(cond)) ::berth::fuzz::die(std::string("invariant failed: ") + #cond);      \
  } while (0)

inline std::string_view as_text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// A directory of this process's own, removed when the process exits normally (libFuzzer leaves it
// behind when it stops on a finding, which is when a look at it can help).
inline const std::filesystem::path& temp_dir() {
  static const std::filesystem::path* dir = [] {
    std::string pattern = (std::filesystem::temp_directory_path() / "berth-fuzz-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) die("mkdtemp failed");
    auto* path = new std::filesystem::path(pattern);  // outlives the atexit handler below
    std::atexit([] {
      std::error_code ec;
      std::filesystem::remove_all(temp_dir(), ec);
    });
    return path;
  }();
  return *dir;
}

}  // namespace berth::fuzz
