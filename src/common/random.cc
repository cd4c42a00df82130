#include "common/random.h"

#include "common/hasher.h"

#include <sys/random.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

namespace berth {

void random_bytes(void* out, size_t len) {
  auto* p = static_cast<unsigned char*>(out);
  while (len > 0) {
    ssize_t n = ::getrandom(p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      std::fputs("berth: getrandom failed; refusing to continue without randomness\n", stderr);
      std::abort();
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
}

std::string random_hex(size_t bytes) {
  std::string raw(bytes, '\0');
  random_bytes(raw.data(), raw.size());
  return to_hex(raw);
}

}  // namespace berth
