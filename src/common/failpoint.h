// Failure points (issue 13): named places where a test makes the process die as a crash would, to check
// that what the server acknowledged survives and that what it did not is either invisible or resumable
// (tests/e2e/test_failpoints.sh).
//
//   BERTH_FAILPOINT("blob.before_fsync");
//
// With the environment variable BERTH_FAILPOINT=<name> (or <name>:<N>, the Nth hit) set when the process
// starts, reaching that point writes "berth: failpoint <name> hit <N>: _exit(137)" to stderr and calls
// _exit(137): no destructor, no buffered output, no fsync, as SIGKILL would (137 = 128 + 9). Only one point
// is armed at a time.
//
// Cost: the points are compiled into the normal build (CMake option BERTH_FAILPOINTS, default ON), so that
// the tests need no second build. Without the variable a point is one load of a pointer cached at its
// first use and a predictable branch; nothing else runs. -DBERTH_FAILPOINTS=OFF compiles them out entirely
// (BERTH_FAILPOINTS_DISABLED): the macro is then empty and the names are not in the binary.
//
// The points (grep BERTH_FAILPOINT src/):
//   upload.append.before_record  registry: a chunk is written and synced, its offset not recorded
//   upload.append.after_record   registry: the new offset is recorded, the client not yet answered
//   blob.before_fsync            storage (fs): the upload is complete and verified, before its fsync
//   blob.after_rename            storage (fs): the blob is renamed into place, its directory not synced
//   upload.after_blob_commit     registry: the blob is durable, the metadata not yet committed
//   upload.after_publish         registry: the blob is live and linked, the upload row not yet deleted
//   manifest.before_commit       meta (SQLite): a manifest put ran its statements, before COMMIT
#pragma once

#ifndef BERTH_FAILPOINTS_DISABLED

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace berth::failpoint {

struct Armed {
  std::string name;
  long nth = 1;
  std::atomic<long> hits{0};
};

// The armed point, or nullptr (the usual case): BERTH_FAILPOINT read once, at the first point reached.
inline Armed* armed() {
  static Armed* const point = []() -> Armed* {
    const char* env = std::getenv("BERTH_FAILPOINT");
    if (env == nullptr || *env == '\0') return nullptr;
    auto* a = new Armed;  // lives as long as the process
    std::string_view spec(env);
    if (auto colon = spec.rfind(':'); colon != std::string_view::npos) {
      a->nth = std::strtol(std::string(spec.substr(colon + 1)).c_str(), nullptr, 10);
      if (a->nth < 1) a->nth = 1;
      spec = spec.substr(0, colon);
    }
    a->name = std::string(spec);
    return a;
  }();
  return point;
}

inline bool enabled() { return armed() != nullptr; }

[[gnu::noinline, gnu::cold]] inline void hit_slow(Armed* a, std::string_view name) {
  if (name != a->name) return;
  long n = a->hits.fetch_add(1) + 1;
  if (n < a->nth) return;
  std::string msg = "berth: failpoint " + a->name + " hit " + std::to_string(n) + ": _exit(137)\n";
  (void)!::write(2, msg.data(), msg.size());
  ::_exit(137);
}

inline void hit(std::string_view name) {
  Armed* a = armed();
  if (a == nullptr) [[likely]]
    return;
  hit_slow(a, name);
}

}  // namespace berth::failpoint

#define BERTH_FAILPOINT(name) ::berth::failpoint::hit(name)

#else

namespace berth::failpoint {
constexpr bool enabled() { return false; }
}  // namespace berth::failpoint

#define BERTH_FAILPOINT(name) ((void)0)

#endif
