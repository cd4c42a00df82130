// Unguessable bytes from the kernel's CSPRNG (getrandom(2)), for tokens, upload ids and JWT ids.
// Deliberately not OpenSSL's RAND_bytes: its first call loads OpenSSL's provider machinery, which costs
// about 2 MiB of memory in a process that otherwise needs nothing of it.
#pragma once

#include <cstddef>
#include <string>

namespace berth {

// Fills `out` with `len` random bytes. There is no safe fallback for missing randomness: if the kernel
// cannot supply it (not on any Linux with getrandom), the process stops rather than degrade silently.
void random_bytes(void* out, size_t len);

// `bytes` random bytes as 2 * bytes lowercase hex digits.
std::string random_hex(size_t bytes);

}  // namespace berth
