#include "common/random.h"

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
  static constexpr char kHex[] = "0123456789abcdef";
  std::string raw(bytes, '\0');
  random_bytes(raw.data(), raw.size());
  std::string out(2 * bytes, '\0');
  for (size_t i = 0; i < bytes; ++i) {
    auto b = static_cast<unsigned char>(raw[i]);
    out[2 * i] = kHex[b >> 4];
    out[2 * i + 1] = kHex[b & 0xf];
  }
  return out;
}

}  // namespace berth
