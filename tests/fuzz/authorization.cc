// The Authorization header of every request, through its public entry point auth::AccessControl::
// authenticate (the Basic and Bearer parsing are inside it): Basic user + access token looked up in a
// real SQLite identity store, Bearer JWTs verified with the process's key (auth_world.h). Also the
// standard base64 decoder Basic credentials go through.
//
// Input: the header's value, as the client sent it.
#include <cstddef>
#include <cstdint>
#include <string>

#include "common/base64.h"
#include "fuzz/auth_world.h"

using namespace berth;

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  (void)fuzz::AuthWorld::get();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view header = fuzz::as_text(data, size);

  // base64 (standard alphabet, padded): any bytes survive a round trip, and any text may be decoded.
  auto again = base64_decode(base64_encode(header));
  BERTH_FUZZ_CHECK(again && *again == header);
  if (header.size() > 6) (void)base64_decode(header.substr(6));

  auto access = fuzz::AuthWorld::get().access_control();
  int64_t retry_after = 0;
  auto identity = access.authenticate(header, "192.0.2.1", &retry_after);
  (void)auth::is_bearer(header);
  if (!identity.ok()) {
    BERTH_FUZZ_CHECK(identity.status().code() == Errc::unauthorized ||
                     identity.status().code() == Errc::too_many_requests);
    return 0;
  }
  if (header.empty()) BERTH_FUZZ_CHECK(identity->anonymous());
  if (!identity->anonymous()) {
    // Only the store's tokens log in (a Bearer token would need the process's key, which no input has).
    BERTH_FUZZ_CHECK(identity->user == "alice");
    BERTH_FUZZ_CHECK(!identity->via_bearer);
  }
  (void)identity->actor();
  return 0;
}
